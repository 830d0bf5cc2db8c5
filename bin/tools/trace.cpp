// zkd trace render: the command line around trace_render.hpp.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "bin/tools/tools.hpp"
#include "bin/tools/trace_render.hpp"

namespace zkd::tools {

namespace {

constexpr const char* trace_usage = R"(usage:
  zkd trace render FILE... [--format mermaid|perfetto] [--from T] [--to T]
                   [--filter KEY=VALUE[,KEY=VALUE...]]... [-o OUT]

Merges the trace files of one or more nodes (FILE "-" is standard input)
on one time line and draws them:
  --format mermaid   a Mermaid sequenceDiagram (the default)
  --format perfetto  Chrome trace-event JSON, for ui.perfetto.dev or
                     chrome://tracing
  --from T, --to T   only messages in this window. T is "+1.5s", "+20ms",
                     "+80us" or "+100ns" after the first message, seconds
                     since the epoch, or an ISO time "2024-05-01T12:00:00.5Z"
  --filter TERMS     only matching messages. Keys: actor (kind "leader", one
                     actor "leader#7", optionally "2:leader" for node 2),
                     node, type, or any field (zxid, session, xid, path, op,
                     epoch...). Terms with different keys must all match;
                     repeating a key means any of its values
  -o OUT             write to OUT instead of standard output
Lines that are not trace records are skipped and counted on standard error.
)";

constexpr int exit_usage = 2;
constexpr int exit_io = 1;

bool read_all(const std::string& path, std::string& out) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin),
               std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

int render_main(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string format = "mermaid";
  std::optional<std::string> from, to, output;
  trace::filter f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a.resize(eq);
      }
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value)
        return inline_value;
      if (i + 1 >= args.size()) {
        std::cerr << "zkd trace: " << a << " needs a value\n";
        return std::nullopt;
      }
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << trace_usage;
      return 0;
    } else if (a == "--format") {
      auto v = value();
      if (!v)
        return exit_usage;
      if (*v != "mermaid" && *v != "perfetto") {
        std::cerr << "zkd trace: unknown format '" << *v
                  << "' (mermaid or perfetto)\n";
        return exit_usage;
      }
      format = *v;
    } else if (a == "--from" || a == "--to") {
      auto v = value();
      if (!v)
        return exit_usage;
      (a == "--from" ? from : to) = *v;
    } else if (a == "--filter") {
      auto v = value();
      if (!v)
        return exit_usage;
      if (auto err = f.add(*v); !err.empty()) {
        std::cerr << "zkd trace: " << err << "\n";
        return exit_usage;
      }
    } else if (a == "-o" || a == "--output") {
      output = value();
      if (!output)
        return exit_usage;
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "zkd trace: unknown option '" << a << "'\n" << trace_usage;
      return exit_usage;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::cerr << "zkd trace render: no trace file given\n" << trace_usage;
    return exit_usage;
  }
  std::vector<trace::source> sources;
  for (auto& path : files) {
    std::string text;
    if (!read_all(path, text)) {
      std::cerr << "zkd trace: cannot read " << path << "\n";
      return exit_io;
    }
    sources.push_back(trace::parse_source(path, text));
    auto& s = sources.back();
    if (s.bad_lines > 0)
      std::cerr << "zkd trace: " << path << ": skipped " << s.bad_lines
                << " line(s) that are not trace records (first: "
                << s.first_error << ")\n";
  }
  auto merged = trace::merge(sources);
  int64_t origin = merged.empty() ? 0 : merged.front().t_ns;
  std::optional<int64_t> from_ns, to_ns;
  for (auto [arg, out] : {std::pair{&from, &from_ns}, std::pair{&to, &to_ns}}) {
    if (!*arg)
      continue;
    *out = trace::parse_time(**arg, origin);
    if (!*out) {
      std::cerr << "zkd trace: cannot read the time '" << **arg
                << "' (+1.5s, +20ms, seconds since the epoch, or "
                   "2024-05-01T12:00:00Z)\n";
      return exit_usage;
    }
  }
  auto selected = trace::select(merged, f, from_ns, to_ns);
  if (selected.empty())
    std::cerr << "zkd trace: no message selected (of " << merged.size()
              << ")\n";
  auto text = format == "mermaid" ? trace::render_mermaid(selected)
                                  : trace::render_perfetto(selected);
  if (!output || *output == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? 0 : exit_io;
  }
  std::ofstream out{*output, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  if (!out) {
    std::cerr << "zkd trace: cannot write " << *output << "\n";
    return exit_io;
  }
  return 0;
}

} // namespace

int trace_main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << trace_usage;
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << trace_usage;
    return 0;
  }
  if (args[0] != "render") {
    std::cerr << "zkd trace: unknown command '" << args[0] << "'\n"
              << trace_usage;
    return exit_usage;
  }
  return render_main({args.begin() + 1, args.end()});
}

} // namespace zkd::tools

#include "bin/tools/bench_report.hpp"

#include <cstdio>
#include <sstream>

namespace zkd::tools::bench {

std::string code_name(int32_t err) {
  switch (err) {
  case 0:
    return "OK";
  case -1:
    return "SYSTEMERROR";
  case -2:
    return "RUNTIMEINCONSISTENCY";
  case -3:
    return "DATAINCONSISTENCY";
  case -4:
    return "CONNECTIONLOSS";
  case -5:
    return "MARSHALLINGERROR";
  case -6:
    return "UNIMPLEMENTED";
  case -7:
    return "OPERATIONTIMEOUT";
  case -8:
    return "BADARGUMENTS";
  case -12:
    return "UNKNOWNSESSION";
  case -13:
    return "NEWCONFIGNOQUORUM";
  case -14:
    return "RECONFIGINPROGRESS";
  case -100:
    return "APIERROR";
  case -101:
    return "NONODE";
  case -102:
    return "NOAUTH";
  case -103:
    return "BADVERSION";
  case -108:
    return "NOCHILDRENFOREPHEMERALS";
  case -110:
    return "NODEEXISTS";
  case -111:
    return "NOTEMPTY";
  case -112:
    return "SESSIONEXPIRED";
  case -113:
    return "INVALIDCALLBACK";
  case -114:
    return "INVALIDACL";
  case -115:
    return "AUTHFAILED";
  case -118:
    return "SESSIONMOVED";
  case -119:
    return "NOTREADONLY";
  case -120:
    return "EPHEMERALONLOCALSESSION";
  case -121:
    return "NOWATCHER";
  case -122:
    return "REQUESTTIMEOUT";
  case -123:
    return "RECONFIGDISABLED";
  case -124:
    return "SESSIONCLOSEDREQUIRESASLAUTH";
  case -125:
    return "QUOTAEXCEEDED";
  case -127:
    return "THROTTLEDOP";
  default:
    return "UNKNOWN(" + std::to_string(err) + ")";
  }
}

uint64_t report::error_count() const {
  uint64_t n = 0;
  for (auto& [name, count] : errors)
    n += count;
  return n;
}

double report::ops_per_s() const {
  return elapsed_s > 0 ? static_cast<double>(ops()) / elapsed_s : 0.0;
}

namespace {

// Microseconds with one decimal, from nanoseconds.
std::string us(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ns) / 1000.0);
  return buf;
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

// Every string we emit is ours (paths, code names, workload names); still
// escape what JSON requires.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string hosts_string(const options& o) {
  std::string s;
  for (auto& h : o.hosts) {
    if (!s.empty())
      s += ',';
    s += h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host;
    s += ':' + std::to_string(h.port);
  }
  return s;
}

} // namespace

std::string format_json(const report& r) {
  auto& o = r.opts;
  std::ostringstream js;
  js << "{\"workload\":" << quoted(std::string(to_string(o.load)))
     << ",\"ops\":" << r.ops() << ",\"successes\":" << r.successes
     << ",\"errors_total\":" << r.error_count()
     << ",\"ops_per_s\":" << fixed(r.ops_per_s(), 1)
     << ",\"elapsed_s\":" << fixed(r.elapsed_s, 3)
     << ",\"p50_us\":" << us(r.latency.percentile(0.50))
     << ",\"p90_us\":" << us(r.latency.percentile(0.90))
     << ",\"p99_us\":" << us(r.latency.percentile(0.99))
     << ",\"p999_us\":" << us(r.latency.percentile(0.999))
     << ",\"max_us\":" << us(r.latency.max())
     << ",\"mean_us\":" << fixed(r.latency.mean() / 1000.0, 1)
     << ",\"errors\":{";
  bool first = true;
  for (auto& [name, count] : r.errors) {
    js << (first ? "" : ",") << quoted(name) << ':' << count;
    first = false;
  }
  js << "}";
  if (o.load == workload::watch) {
    js << ",\"rounds\":" << r.rounds
       << ",\"fanout_p50_us\":" << us(r.fanout.percentile(0.50))
       << ",\"fanout_p99_us\":" << us(r.fanout.percentile(0.99))
       << ",\"fanout_max_us\":" << us(r.fanout.max())
       << ",\"write_p50_us\":" << us(r.write.percentile(0.50))
       << ",\"write_p99_us\":" << us(r.write.percentile(0.99));
  }
  js << ",\"client_cpu_s\":" << fixed(r.client_cpu_s, 3)
     << ",\"hosts\":" << quoted(hosts_string(o))
     << ",\"sessions\":" << o.sessions << ",\"outstanding\":" << o.outstanding
     << ",\"threads\":" << o.threads << ",\"size\":" << o.size
     << ",\"nodes\":" << o.nodes;
  if (o.load == workload::mixed)
    js << ",\"read_pct\":" << o.read_pct;
  if (o.load == workload::multi)
    js << ",\"multi_size\":" << o.multi_size << ",\"multi_op\":"
       << (o.multi_op == multi_kind::set ? "\"set\"" : "\"create\"");
  if (!r.dir.empty())
    js << ",\"dir\":" << quoted(r.dir) << ",\"created\":" << r.created;
  js << "}";
  return js.str();
}

std::string format_text(const report& r) {
  auto& o = r.opts;
  std::ostringstream out;
  out << "zkd bench " << to_string(o.load) << ": " << o.sessions
      << " sessions x " << o.outstanding << " outstanding on "
      << hosts_string(o) << ", " << o.threads << " thread"
      << (o.threads == 1 ? "" : "s") << ", " << o.size << " B";
  if (o.load == workload::mixed)
    out << ", " << o.read_pct << "% reads";
  if (o.load == workload::multi)
    out << ", " << o.multi_size << " "
        << (o.multi_op == multi_kind::set ? "setData" : "creates")
        << " per multi";
  out << "\n";
  out << "  ops        " << r.ops() << " in " << fixed(r.elapsed_s, 2)
      << " s = " << fixed(r.ops_per_s(), 0) << " ops/s (" << r.successes
      << " ok, " << r.error_count() << " errors)\n";
  out << "  latency us p50 " << us(r.latency.percentile(0.50)) << "  p90 "
      << us(r.latency.percentile(0.90)) << "  p99 "
      << us(r.latency.percentile(0.99)) << "  p99.9 "
      << us(r.latency.percentile(0.999)) << "  max " << us(r.latency.max())
      << "  mean " << fixed(r.latency.mean() / 1000.0, 1) << "\n";
  if (o.load == workload::watch) {
    out << "  rounds     " << r.rounds << "; to the last notification p50 "
        << us(r.fanout.percentile(0.50)) << " us, p99 "
        << us(r.fanout.percentile(0.99)) << " us; the write's reply p50 "
        << us(r.write.percentile(0.50)) << " us\n";
  }
  for (auto& [name, count] : r.errors)
    out << "  error      " << name << ": " << count << "\n";
  out << "  client cpu " << fixed(r.client_cpu_s, 2) << " s";
  if (r.ops() > 0)
    out << " (" << fixed(r.client_cpu_s * 1e6 / static_cast<double>(r.ops()), 1)
        << " us/op)";
  out << "\n";
  if (!r.dir.empty())
    out << "  created    " << r.created << " nodes under " << r.dir << "\n";
  return out.str();
}

} // namespace zkd::tools::bench

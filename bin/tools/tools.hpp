// Subcommands of the zkd binary that are not a node: each takes the
// arguments after its name and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace zkd::tools {

// zkd bench ...: a load generator speaking the ZooKeeper client protocol.
int bench_main(const std::vector<std::string>& args);

// zkd inspect log|snapshot ...: print and verify data files.
int inspect_main(const std::vector<std::string>& args);

// zkd import --from-zookeeper DIR --to DIR.
int import_main(const std::vector<std::string>& args);

// zkd trace render ...: merge and render actor traces.
int trace_main(const std::vector<std::string>& args);

} // namespace zkd::tools

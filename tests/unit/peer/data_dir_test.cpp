// The small files of a node's data directory: Zab's epoch files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "actors/peer/data_dir.hpp"

namespace zkd::data_dir {
namespace {

namespace fs = std::filesystem;

class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/zkd-datadir-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

void put(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST_CASE("a missing epoch file is epoch 0") {
  temp_dir d;
  std::string err;
  CHECK(read_epoch(d / "accepted_epoch", &err) == 0);
  CHECK(err.empty());
  CHECK(read_epoch(d / "no/such/dir/current_epoch") == 0);
}

TEST_CASE("write_epoch writes a decimal and a newline; read_epoch reads it") {
  temp_dir d;
  auto path = d / "current_epoch";
  REQUIRE(write_epoch(path, 7) == "");
  CHECK(*read(path) == "7\n");
  CHECK(read_epoch(path) == 7);
  REQUIRE(write_epoch(path, 0) == "");
  CHECK(read_epoch(path) == 0);
  REQUIRE(write_epoch(path, 4294967295) == "");
  CHECK(read_epoch(path) == 4294967295);
  // Atomic replacement leaves no temporary file behind.
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(write_epoch(path, -1) != "");
  CHECK(read_epoch(path) == 4294967295);
}

TEST_CASE("read_epoch accepts ZooKeeper's file without a newline") {
  temp_dir d;
  put(d / "accepted_epoch", "12");
  CHECK(read_epoch(d / "accepted_epoch") == 12);
}

TEST_CASE("a malformed epoch file is -1 with a message naming it") {
  temp_dir d;
  auto path = d / "current_epoch";
  for (const auto& bad : std::vector<std::string>{
           "", "\n", "abc\n", "-3\n", "5 \n", " 5\n", "5\n\n", "5x", "1.5\n",
           "99999999999999999999\n", std::string(100, '1')}) {
    INFO("content \"" << bad << "\"");
    put(path, bad);
    std::string err;
    CHECK(read_epoch(path, &err) == -1);
    CHECK(err.find(path) != std::string::npos);
    CHECK(read_epoch(path) == -1); // without a message too
  }
}

TEST_CASE("an unreadable epoch file is -1, not 0") {
  temp_dir d;
  auto path = d / "current_epoch";
  // A directory in its place: open succeeds, read fails (EISDIR).
  fs::create_directory(path);
  std::string err;
  CHECK(read_epoch(path, &err) == -1);
  CHECK(err.find(path) != std::string::npos);
  // And write_epoch cannot replace a directory with a file.
  CHECK(write_epoch(path, 3) != "");
}

} // namespace
} // namespace zkd::data_dir

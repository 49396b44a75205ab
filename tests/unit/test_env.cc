// The Env contract (fl/env.h), run against the real one (PosixEnv, in a temporary
// directory) and the in-memory one the in-process tests use; then the fault-injecting
// Env: failed, torn and no-space writes, and a clock that runs slow or jumps.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <thread>

#include "fault_env.h"
#include "fl/env.h"
#include "mem_env.h"
#include "temp_dir.h"

using fl::Env;
using fl::StatusCode;
using fl::testing::FaultEnv;

namespace {

struct Posix {
  fl::testing::TempDir dir;
  Env& env = Env::Default();
  std::string Path(const std::string& name) const { return dir.File(name); }
};

struct Memory {
  fl::testing::MemEnv env;
  Memory() { REQUIRE(env.MakeDirs("/state").ok()); }
  std::string Path(const std::string& name) const { return "/state/" + name; }
};

}  // namespace

TEMPLATE_TEST_CASE("env: atomic writes, reads, listing and removal", "[env]", Posix, Memory) {
  TestType t;
  Env& env = t.env;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(env.WriteFile(t.Path("latest.json"), "{\"v\": " + std::to_string(i) + "}").ok());
  }
  REQUIRE(env.WriteFile(t.Path("empty"), "").ok());
  // No temporary files are left behind.
  auto names = env.ListDir(t.Path(""));
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"empty", "latest.json"});
  auto text = env.ReadFile(t.Path("latest.json"), 1 << 20);
  REQUIRE(text.ok());
  CHECK(*text == "{\"v\": 19}");
  auto empty = env.ReadFile(t.Path("empty"), 1 << 20);
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  // Into a directory that does not exist: an error and nothing created.
  CHECK_FALSE(env.WriteFile(t.Path("no/such/dir/f"), "x").ok());
  // Over a directory: the write fails and leaves nothing behind.
  REQUIRE(env.MakeDirs(t.Path("sub/deeper")).ok());
  CHECK(env.FileExists(t.Path("sub/deeper")));
  CHECK(env.IsDirectory(t.Path("sub")));
  CHECK_FALSE(env.WriteFile(t.Path("sub"), "x").ok());
  CHECK(*env.ListDir(t.Path("")) == std::vector<std::string>{"empty", "latest.json", "sub"});
  CHECK(*env.ListDir(t.Path("sub")) == std::vector<std::string>{"deeper"});
  CHECK(env.ListDir(t.Path("absent")).status().code() == StatusCode::kNotFound);

  // The size limit of a read.
  REQUIRE(env.WriteFile(t.Path("big"), std::string(100, 'b')).ok());
  CHECK(env.ReadFile(t.Path("big"), 99).status().code() == StatusCode::kOutOfRange);
  CHECK(env.ReadFile(t.Path("big"), 100).ok());
  CHECK(*env.FileSize(t.Path("big")) == 100);
  CHECK_FALSE(env.FileSize(t.Path("sub")).ok());
  CHECK(env.ReadFile(t.Path("nope"), 10).status().code() == StatusCode::kNotFound);
  CHECK_FALSE(env.FileExists(t.Path("nope")));

  // Appends, removal (also of a file that is not there).
  REQUIRE(env.AppendToFile(t.Path("log"), "a\n").ok());
  REQUIRE(env.AppendToFile(t.Path("log"), "b\n").ok());
  CHECK(*env.ReadFile(t.Path("log"), 100) == "a\nb\n");
  REQUIRE(env.RemoveFile(t.Path("log")).ok());
  CHECK_FALSE(env.FileExists(t.Path("log")));
  CHECK(env.RemoveFile(t.Path("log")).ok());

  // Time moves forward.
  const Env::Time t0 = env.Now();
  env.SleepFor(std::chrono::milliseconds(5));
  CHECK(env.Now() - t0 >= std::chrono::milliseconds(5));
}

TEST_CASE("env: a secret is written with its mode from the start", "[env]") {
  fl::testing::TempDir dir;
  REQUIRE(Env::Default().WriteFileAtomic(dir.File("key.json"), "secret", 0600).ok());
  struct stat st {};
  REQUIRE(::stat(dir.File("key.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  fl::testing::MemEnv mem;
  REQUIRE(mem.WriteFileAtomic("/key.json", "secret", 0600).ok());
  CHECK(mem.ModeOf("/key.json") == 0600);
}

TEST_CASE("env: the fault-injecting Env fails the Nth write, tears appends, fills the disk", "[env]") {
  fl::testing::MemEnv mem;
  FaultEnv env(mem);
  REQUIRE(env.WriteFile("/a", "old").ok());

  env.FailWrite(2);
  CHECK(env.WriteFile("/b", "1").ok());
  const fl::Status second = env.WriteFile("/a", "new");
  CHECK(second.code() == StatusCode::kInternal);
  CHECK(*mem.ReadFile("/a", 10) == "old");  // an atomic write never tears
  CHECK(env.WriteFile("/c", "3").ok());     // only the second one failed
  CHECK(env.failed_writes() == 1);

  env.FailWrite(1, FaultEnv::Fault::kTorn);
  REQUIRE(mem.AppendToFile("/log", "line 1\n").ok());
  CHECK_FALSE(env.AppendToFile("/log", "line 2\n").ok());
  CHECK(*mem.ReadFile("/log", 100) == "line 1\nlin");  // half of the append landed

  env.FailAllWrites(FaultEnv::Fault::kNoSpace);
  CHECK(env.WriteFile("/d", "x").code() == StatusCode::kResourceExhausted);
  CHECK(env.AppendToFile("/log", "x").code() == StatusCode::kResourceExhausted);
  CHECK_FALSE(mem.FileExists("/d"));
  env.Heal();
  CHECK(env.WriteFile("/d", "x").ok());
}

TEST_CASE("env: the fault-injecting Env's clock runs slow and jumps", "[env]") {
  fl::testing::MemEnv mem;
  FaultEnv env(mem);
  env.JumpClock(std::chrono::seconds(30));
  CHECK(env.Now() - mem.Now() >= std::chrono::seconds(29));
  env.SetClockRate(0.0);  // stopped
  const Env::Time frozen = env.Now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(env.Now() - frozen < std::chrono::milliseconds(2));
  env.SetClockRate(1.0);
  CHECK(env.Now() >= frozen);  // never backwards
}

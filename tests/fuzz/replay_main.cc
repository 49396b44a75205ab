// Runs a fuzz target (LLVMFuzzerTestOneInput) on every file of the directories (or on the
// files) given on the command line, so that the normal build replays the seed corpus and
// the saved findings with g++ and no libFuzzer. Names starting with '.' and README files
// are skipped. A crash or a failed check in the target aborts the process; otherwise it
// prints how many inputs ran. A missing path is an error.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool Skipped(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name.rfind("README", 0) == 0;
}

bool RunFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", p.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A copy of exactly the input's size, so that a read past its end is caught by a sanitizer.
  std::vector<uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  size_t total = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file() && !Skipped(e.path())) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      size_t n = 0;
      for (const fs::path& f : files) {
        std::printf("  %s\n", f.filename().c_str());
        std::fflush(stdout);
        if (!RunFile(f)) return 1;
        ++n;
      }
      std::printf("%s: %zu inputs\n", arg.c_str(), n);
      total += n;
    } else if (fs::is_regular_file(arg, ec)) {
      if (!RunFile(arg)) return 1;
      ++total;
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", arg.c_str());
      return 1;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("replayed %zu inputs in %.2f s\n", total, s);
  return 0;
}

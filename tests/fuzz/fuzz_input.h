// Reading a fuzz input as a sequence of fields. Every read succeeds: past the end it
// yields zeros and empty strings, so a target never needs to check lengths, and any byte
// string is a valid input. Shared by the fuzz targets (tests/fuzz/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// A property of the target that must hold for every input: a failure aborts (a finding)
// and names the check.
#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace fl::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), left_(size) {}

  size_t remaining() const { return left_; }
  bool empty() const { return left_ == 0; }

  uint8_t U8() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return static_cast<uint64_t>(U32()) | (static_cast<uint64_t>(U32()) << 32); }

  // Up to n bytes (fewer at the end of the input).
  std::string Bytes(size_t n) {
    if (n > left_) n = left_;
    std::string out(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return out;
  }
  // A length-prefixed field: a 32-bit little-endian length, then that many bytes (cut at
  // the end of the input).
  std::string Chunk() { return Bytes(U32()); }
  std::string Rest() { return Bytes(left_); }

 private:
  const uint8_t* p_;
  size_t left_;
};

// The inverse, for tools that write seeds: appends fields in Input's encoding.
class Output {
 public:
  void U8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { U8(static_cast<uint8_t>(v)); U8(static_cast<uint8_t>(v >> 8)); }
  void U32(uint32_t v) { U16(static_cast<uint16_t>(v)); U16(static_cast<uint16_t>(v >> 16)); }
  void U64(uint64_t v) { U32(static_cast<uint32_t>(v)); U32(static_cast<uint32_t>(v >> 32)); }
  void Bytes(const std::string& b) { s_ += b; }
  void Chunk(const std::string& b) { U32(static_cast<uint32_t>(b.size())); s_ += b; }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

}  // namespace fl::fuzz

// A small deterministic random generator for data partitioning and splitting.
//
// Every simulated site must cut the same file into the same pieces, whatever compiler or
// standard library built it. std::mt19937 is portable but std::shuffle and the standard
// distributions are not (their algorithms are implementation-defined), so the data loaders
// use this generator, whose output is fully specified by 64-bit integer arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace fl::data {

// SplitMix64 (Steele, Lea and Flood, 2014). Passes BigCrush; more than good enough for
// shuffling row indices.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Uniform integer in [0, bound), bound > 0. Rejection sampling removes the modulo bias:
  // values below 2^64 mod bound are drawn again, leaving a multiple of `bound` outcomes.
  uint64_t Below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;  // == 2^64 mod bound
    uint64_t x = Next();
    while (x < threshold) x = Next();
    return x % bound;
  }

  // Fisher-Yates shuffle with a fixed, documented draw order (i from the back).
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(Below(static_cast<uint64_t>(i)));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace fl::data

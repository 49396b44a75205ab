// Vectors in the ring Z_2^32: the only vector type the coordinator handles. Masked
// updates and their running sum are RingVectors; unsigned 32-bit arithmetic wraps,
// which is exactly addition mod 2^32.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/status.h"

namespace fl {

constexpr uint32_t kRingBits = 32;

class RingVector {
 public:
  RingVector() = default;
  explicit RingVector(size_t n) : v_(n, 0u) {}
  explicit RingVector(std::vector<uint32_t> v) : v_(std::move(v)) {}

  size_t size() const { return v_.size(); }
  uint32_t* data() { return v_.data(); }
  const uint32_t* data() const { return v_.data(); }
  uint32_t operator[](size_t i) const { return v_[i]; }
  uint32_t& operator[](size_t i) { return v_[i]; }
  const std::vector<uint32_t>& words() const { return v_; }

  // this += other (mod 2^32). Sizes must match.
  Status Add(const uint32_t* other, size_t n);
  Status Add(const RingVector& other) { return Add(other.data(), other.size()); }
  void Zero();

 private:
  std::vector<uint32_t> v_;
};

}  // namespace fl

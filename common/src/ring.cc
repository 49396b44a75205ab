#include "fl/ring.h"

#include <algorithm>
#include <string>

namespace fl {

Status RingVector::Add(const uint32_t* other, size_t n) {
  if (n != v_.size()) {
    return InvalidArgument("ring vector length " + std::to_string(n) + " != " +
                           std::to_string(v_.size()));
  }
  uint32_t* a = v_.data();
  for (size_t i = 0; i < n; ++i) a[i] += other[i];
  return Status::Ok();
}

void RingVector::Zero() { std::fill(v_.begin(), v_.end(), 0u); }

}  // namespace fl

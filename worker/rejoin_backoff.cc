#include "rejoin_backoff.h"

#include <algorithm>
#include <cmath>

#include "fl/crypto.h"

namespace fl::worker {

Env::Duration RejoinBackoff::Next() {
  const double ceiling = std::min(cap_s_, first_s_ * std::ldexp(1.0, std::min(attempt_, 30)));
  ++attempt_;
  uint32_t r = 0;
  crypto::RandomBytes(&r, sizeof r);
  const double u = static_cast<double>(r) / 4294967296.0;  // [0, 1)
  return Seconds(ceiling * (0.5 + 0.5 * u));
}

}  // namespace fl::worker

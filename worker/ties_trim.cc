#include "ties_trim.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace fl::worker {

std::vector<float> TrimToLargest(const std::vector<float>& tau, double density) {
  const size_t n = tau.size();
  const size_t keep = std::min(n, std::max<size_t>(1, static_cast<size_t>(std::ceil(density * static_cast<double>(n)))));
  std::vector<float> out(n, 0.0f);
  if (n == 0) return out;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  auto larger = [&](uint32_t a, uint32_t b) {
    const float fa = std::fabs(tau[a]), fb = std::fabs(tau[b]);
    return fa > fb || (fa == fb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep - 1), order.end(), larger);
  for (size_t i = 0; i < keep; ++i) out[order[i]] = tau[order[i]];
  return out;
}

Status CheckSigns(const std::vector<float>& signs) {
  for (size_t i = 0; i < signs.size(); ++i) {
    const float s = signs[i];
    if (s != -1.0f && s != 0.0f && s != 1.0f) {
      return InvalidArgument("elected sign " + std::to_string(i) + " is not -1, 0 or 1");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<float>> AgreeingEntries(const std::vector<float>& trimmed, const std::vector<float>& signs,
                                             float indicator) {
  const size_t n = trimmed.size();
  if (signs.size() != n) {
    return InvalidArgument("the elected signs have " + std::to_string(signs.size()) + " entries, the model " +
                           std::to_string(n));
  }
  FL_RETURN_IF_ERROR(CheckSigns(signs));
  std::vector<float> out(2 * n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    const float s = signs[i];
    if (s != 0.0f && trimmed[i] * s > 0.0f) {
      out[i] = trimmed[i];
      out[n + i] = indicator;
    }
  }
  return out;
}

}  // namespace fl::worker

#include "fl/secagg/graph.h"

#include <algorithm>
#include <set>

namespace fl::secagg {

NeighbourGraph NeighbourGraph::Complete(std::vector<uint32_t> ids) {
  NeighbourGraph g;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  g.complete_ = true;
  g.degree_ = ids.empty() ? 0 : static_cast<uint32_t>(ids.size() - 1);
  g.order_ = std::move(ids);
  for (size_t i = 0; i < g.order_.size(); ++i) g.position_[g.order_[i]] = i;
  return g;
}

StatusOr<NeighbourGraph> NeighbourGraph::Harary(std::vector<uint32_t> ids, uint32_t k, const crypto::SecretKey& seed) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const size_t n = ids.size();
  if (k >= n - 1 || n < 3) return Complete(std::move(ids));
  if (k < 2) return InvalidArgument("graph degree must be at least 2, got " + std::to_string(k));
  if (k % 2 != 0 && n % 2 != 0) {
    return InvalidArgument("an odd graph degree (" + std::to_string(k) + ") needs an even number of workers");
  }
  // Fisher-Yates shuffle driven by a ChaCha20 keystream of the public seed; rejection
  // sampling keeps each draw uniform.
  std::vector<uint32_t> words(2 * n + 64);
  crypto::ChaCha20Words(seed, 0, words.data(), words.size());
  size_t next = 0;
  uint64_t block = words.size() * 4 / 64;
  auto draw = [&](uint32_t bound) {  // uniform in [0, bound)
    const uint32_t limit = UINT32_MAX - UINT32_MAX % bound;
    while (true) {
      if (next == words.size()) {
        crypto::ChaCha20Words(seed, block, words.data(), words.size());
        block += words.size() * 4 / 64;
        next = 0;
      }
      const uint32_t w = words[next++];
      if (w < limit) return w % bound;
    }
  };
  for (size_t i = n - 1; i > 0; --i) std::swap(ids[i], ids[draw(static_cast<uint32_t>(i + 1))]);
  NeighbourGraph g;
  g.complete_ = false;
  g.degree_ = k;
  g.order_ = std::move(ids);
  for (size_t i = 0; i < n; ++i) g.position_[g.order_[i]] = i;
  return g;
}

bool NeighbourGraph::AreNeighbours(uint32_t a, uint32_t b) const {
  if (a == b) return false;
  auto ia = position_.find(a), ib = position_.find(b);
  if (ia == position_.end() || ib == position_.end()) return false;
  if (complete_) return true;
  const size_t n = order_.size();
  const size_t diff = ia->second > ib->second ? ia->second - ib->second : ib->second - ia->second;
  const size_t ring = std::min(diff, n - diff);
  // Odd degree (n even): each worker is also joined to the one opposite it on the ring.
  return ring <= degree_ / 2 || (degree_ % 2 == 1 && ring == n / 2);
}

std::vector<uint32_t> NeighbourGraph::Neighbours(uint32_t id) const {
  std::vector<uint32_t> out;
  auto it = position_.find(id);
  if (it == position_.end()) return out;
  if (complete_) {
    out.reserve(order_.size() - 1);
    for (uint32_t o : order_) {
      if (o != id) out.push_back(o);
    }
    return out;  // order_ is sorted for complete graphs
  }
  const size_t n = order_.size(), p = it->second;
  for (size_t s = 1; s <= degree_ / 2; ++s) {
    out.push_back(order_[(p + s) % n]);
    out.push_back(order_[(p + n - s) % n]);
  }
  if (degree_ % 2 == 1) out.push_back(order_[(p + n / 2) % n]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fl::secagg

// SecAgg+ neighbour graphs (Bell et al., CCS 2020): each worker masks with, and shares
// its secrets among, only its neighbours, so costs grow with the degree k rather than
// with the cohort size n.
//
// Harary-style graph: the cohort's ids are put in a random order drawn from a public
// seed (a ChaCha20 keystream, so every party computes the same order), and each worker
// is joined to the floor(k/2) workers on either side of it on that ring, and for odd k
// (n even) to the worker opposite it. k is below n - 1; with k >= n - 1 the graph is
// complete.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "fl/crypto.h"
#include "fl/status.h"

namespace fl::secagg {

class NeighbourGraph {
 public:
  NeighbourGraph() = default;
  static NeighbourGraph Complete(std::vector<uint32_t> ids);
  static StatusOr<NeighbourGraph> Harary(std::vector<uint32_t> ids, uint32_t k, const crypto::SecretKey& seed);

  bool complete() const { return complete_; }
  uint32_t degree() const { return degree_; }
  size_t size() const { return order_.size(); }
  bool Contains(uint32_t id) const { return position_.count(id) > 0; }
  bool AreNeighbours(uint32_t a, uint32_t b) const;
  // Neighbours of `id` (not including itself), ascending.
  std::vector<uint32_t> Neighbours(uint32_t id) const;

 private:
  bool complete_ = true;
  uint32_t degree_ = 0;
  std::vector<uint32_t> order_;                   // position -> id
  std::unordered_map<uint32_t, size_t> position_; // id -> position
};

}  // namespace fl::secagg

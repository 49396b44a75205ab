// A hospital's data vector (docs/merging.md): tau = theta_finetuned - theta_base, kept in its
// state_dir by fl-worker finetune and offered to a merge federation by fl-worker contribute.
#pragma once

#include <cstdint>
#include <string>

#include "fl/env.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::worker {

// The file in a worker's state_dir holding its data vector.
std::string DataVectorPath(const std::string& state_dir);

struct DataVector {
  Checkpoint tau;                  // in the base model's layout; metadata as written
  std::string base_blake2b;        // 64 hex digits: BLAKE2b-256 of the base model file
  std::string vector_id;           // 32 hex digits, random: the federation merges it at most once
  int64_t samples = 0;             // training samples it was fine-tuned on (its weight)
  double validation_fraction = 0;  // share of the training split held out (never trained on)
};

// Reads and checks a data vector file: its kind, hash, id, sample count and finite values.
StatusOr<DataVector> ReadDataVector(Env& env, const std::string& path);

// The file fl-worker contribute writes, holding the vector's id, just before the vector
// leaves in a merge round: a vector is offered to one secure sum only.
std::string SentMarkerPath(const std::string& state_dir);

// A fresh random vector id (libsodium), 32 hex digits.
std::string NewVectorId();

}  // namespace fl::worker

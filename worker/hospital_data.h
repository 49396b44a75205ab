// A hospital's data as the worker uses it: loaded, split and prepared, with the table
// preprocessing kept in the hospital's state_dir (preprocessing.json), and that
// preprocessing read back to score new patients without the training file.
#pragma once

#include "data/csv_scoring.h"
#include "data/dataset.h"
#include "options.h"

namespace fl::worker {

// LoadData, then, for a table with `state_dir` set, writes state_dir/preprocessing.json
// (atomically, through the Env).
StatusOr<data::Split> LoadHospitalData(const WorkerOptions& o);

// The table preprocessing of this hospital: state_dir/preprocessing.json when there is one,
// else computed again from the training data (logged: it needs the training file).
StatusOr<data::TablePreprocessing> HospitalPreprocessing(const WorkerOptions& o);

}  // namespace fl::worker

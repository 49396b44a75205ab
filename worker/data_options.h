// A hospital's data section (the worker config's "data"): which file or folder, its format
// and how it is split and prepared; and loading it. Needs no LibTorch.
#pragma once

#include <string>
#include <vector>

#include "data/csv_loader.h"
#include "data/image_folder.h"
#include "data/npz_loader.h"
#include "data/segmentation_data.h"
#include "fl/config_reader.h"

namespace fl::worker {

constexpr size_t kMaxDataParts = 64;

struct DataOptions {
  // "csv" | "npz" | "images" | "nifti", or "union": the parts below, each prepared as its
  // own hospital would prepare it (its own split and statistics), their training sets and
  // test sets concatenated (a pooled baseline on exactly the hospitals' splits).
  std::string format = "csv";
  data::CsvOptions csv;         // format csv: path, label_column, header, ...
  data::NpzOptions npz;         // format npz: MedMNIST-style archive
  data::ImageSplitOptions images;  // format images: path = train folder (images/, masks/)
  data::NiftiOptions nifti;     // format nifti: path = folder of volumes, id lists
  data::Partition partition;    // csv, npz: simulate a site by keeping part `index` of the file
  std::vector<DataOptions> parts;  // format union: 1 to kMaxDataParts sections, none a union
};

// Reads a data section from `d` into `data`; errors go to `d` (its Finish() reports them).
// `parts_allowed`: whether "union" is accepted (not inside a union's parts).
void ReadDataSection(ConfigReader& d, DataOptions* data, bool parts_allowed = true);

// Loads and splits the data; for a table, `csv_report` (when given) receives what the
// loader saw and did (classes, imputation, statistics).
StatusOr<data::Split> LoadData(const DataOptions& o, data::CsvReport* csv_report = nullptr);

}  // namespace fl::worker

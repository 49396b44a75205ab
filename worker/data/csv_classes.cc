// The CSV loader's mapping of labels to classes and its stratified train/test split.
#include "data/csv_loader.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "data/csv_fields.h"
#include "data/rng.h"

namespace fl::data {

using internal::ParseIntegerLabel;

bool SameCsvLabel(const std::string& a, const std::string& b) {
  if (a == b) return true;
  int64_t x = 0, y = 0;
  return ParseIntegerLabel(a, &x) && ParseIntegerLabel(b, &y) && x == y;
}

int64_t FindCsvClass(const std::vector<std::string>& classes, const std::string& label) {
  const auto exact = std::find(classes.begin(), classes.end(), label);
  if (exact != classes.end()) return exact - classes.begin();
  const auto same = std::find_if(classes.begin(), classes.end(), [&](const std::string& c) { return SameCsvLabel(c, label); });
  return same == classes.end() ? -1 : same - classes.begin();
}

void MapCsvLabels(const std::vector<std::string>& raw, std::vector<int64_t>* y,
               std::vector<std::string>* class_names) {
  y->assign(raw.size(), 0);
  class_names->clear();
  std::vector<int64_t> ints(raw.size());
  bool all_int = true;
  for (size_t i = 0; i < raw.size() && all_int; ++i) all_int = ParseIntegerLabel(raw[i], &ints[i]);
  if (all_int) {
    std::vector<int64_t> distinct = ints;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (size_t i = 0; i < raw.size(); ++i) {
      (*y)[i] = std::lower_bound(distinct.begin(), distinct.end(), ints[i]) - distinct.begin();
    }
    for (int64_t v : distinct) class_names->push_back(std::to_string(v));
    return;
  }
  std::vector<std::string> distinct = raw;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (size_t i = 0; i < raw.size(); ++i) {
    (*y)[i] = std::lower_bound(distinct.begin(), distinct.end(), raw[i]) - distinct.begin();
  }
  *class_names = std::move(distinct);
}

Status CheckCsvLabels(const std::vector<std::string>& raw, const std::string& what) {
  std::vector<std::string> distinct;
  for (size_t i = 0; i < raw.size(); ++i) {
    double v = 0;
    if (internal::ParseDouble(raw[i], &v) &&
        !(std::isfinite(v) && v >= 0 && v < static_cast<double>(kMaxClasses) && v == std::floor(v))) {
      return InvalidArgument(what + ": label '" + internal::Clip(raw[i]) + "' (labelled row " + std::to_string(i + 1) +
                             ") is not a class: numeric labels must be integers 0.." +
                             std::to_string(kMaxClasses - 1) + " (is the label column continuous?)");
    }
    distinct.push_back(raw[i]);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() > static_cast<size_t>(kMaxClasses)) {
    return InvalidArgument(what + ": " + std::to_string(distinct.size()) + " distinct labels; a classifier takes at most " +
                           std::to_string(kMaxClasses) + " (is the label column continuous?)");
  }
  return Status::Ok();
}

void StratifiedSplit(const std::vector<size_t>& rows, const std::vector<int64_t>& y,
                     size_t num_classes, double test_fraction, uint64_t seed,
                     std::vector<size_t>* train, std::vector<size_t>* test) {
  std::vector<std::vector<size_t>> by_class(num_classes);
  for (size_t r : rows) by_class[static_cast<size_t>(y[r])].push_back(r);
  SplitMix64 rng(seed);
  for (auto& members : by_class) {
    rng.Shuffle(members);
    const double want = std::round(test_fraction * static_cast<double>(members.size()));
    const size_t n_test = std::min(members.size(), static_cast<size_t>(want));
    test->insert(test->end(), members.begin(), members.begin() + n_test);
    train->insert(train->end(), members.begin() + n_test, members.end());
  }
  std::sort(train->begin(), train->end());
  std::sort(test->begin(), test->end());
}

}  // namespace fl::data

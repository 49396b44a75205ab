// Parsing of CSV fields (numbers, integer labels, column indices) and column resolution.
#include "data/csv_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "data/csv_loader.h"

namespace fl::data {
namespace internal {
namespace {

// Drops one leading '+' (which std::from_chars does not accept). False for "+-1" or "++1".
bool StripPlus(std::string_view* v) {
  if (v->empty() || v->front() != '+') return true;
  v->remove_prefix(1);
  return v->empty() || (v->front() != '+' && v->front() != '-');
}

}  // namespace

// Echoes a field in an error message without flooding the log.
std::string Clip(const std::string& s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? s : s.substr(0, kMax) + "...";
}

// Parses a whole field as a double (locale independent, a leading '+' allowed). False for
// anything that is not entirely a number. "inf"/"nan" and overflowing values parse to
// non-finite numbers, which the caller rejects.
bool ParseDouble(const std::string& s, double* out) {
  std::string_view v(s);
  if (!StripPlus(&v) || v.empty()) return false;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (end != v.data() + v.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow or underflow: strtod tells which (+-HUGE_VAL, or a tiny value / 0).
    *out = std::strtod(std::string(v).c_str(), nullptr);
    return true;
  }
  return ec == std::errc();
}

// An integer label: a decimal integer, or a number with an integral value such as "2.0".
bool ParseIntegerLabel(const std::string& s, int64_t* out) {
  std::string_view v(s);
  if (!StripPlus(&v) || v.empty()) return false;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec == std::errc() && end == v.data() + v.size()) return true;
  double d = 0.0;
  if (!ParseDouble(s, &d) || !std::isfinite(d) || std::floor(d) != d) return false;
  if (std::fabs(d) >= 9.0e18) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// "30", "-1", "+2": a decimal column index. Absurdly long ones become LLONG_MAX (out of range).
bool ParseColumnIndex(const std::string& s, long long* out) {
  std::string_view v(s);
  if (!StripPlus(&v) || v.empty()) return false;
  const bool negative = v.front() == '-';
  const std::string_view digits = negative ? v.substr(1) : v;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  if (digits.size() > 12) {
    *out = std::numeric_limits<long long>::max();
    return true;
  }
  return std::from_chars(v.data(), v.data() + v.size(), *out).ec == std::errc();
}

}  // namespace internal

using internal::Clip;
using internal::ParseColumnIndex;

StatusOr<size_t> ResolveCsvColumn(const std::string& column, const std::vector<std::string>& header, bool has_header,
                                  size_t ncols, const std::string& ctx) {
  if (has_header) {
    const auto it = std::find(header.begin(), header.end(), column);
    if (it != header.end()) return static_cast<size_t>(it - header.begin());
  }
  long long idx = 0;
  if (ParseColumnIndex(column, &idx)) {
    const long long n = static_cast<long long>(ncols);
    const long long resolved = idx < 0 ? idx + n : idx;
    if (resolved < 0 || resolved >= n) {
      return InvalidArgument(ctx + ": column " + column + " is out of range (" + std::to_string(ncols) +
                             " columns; use 0.." + std::to_string(ncols - 1) + " or -1..-" + std::to_string(ncols) +
                             ")");
    }
    return static_cast<size_t>(resolved);
  }
  if (!has_header) {
    return InvalidArgument(ctx + ": column '" + column + "' is a name, which needs header=true (or give a column index)");
  }
  std::string names;
  for (size_t i = 0; i < header.size() && i < 20; ++i) names += (i ? ", '" : "'") + Clip(header[i]) + "'";
  if (header.size() > 20) names += ", ...";
  return NotFound(ctx + ": no column named '" + column + "' in the header (columns: " + names + ")");
}

}  // namespace fl::data

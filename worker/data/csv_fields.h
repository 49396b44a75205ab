// Parsing of single CSV fields: numbers, integer labels, column indices (internal to worker/data).
#pragma once

#include <cstdint>
#include <string>

namespace fl::data::internal {

// Echoes a field in an error message without flooding the log.
std::string Clip(const std::string& s);

// Parses a whole field as a double (locale independent, a leading '+' allowed). False for
// anything that is not entirely a number. "inf"/"nan" and overflowing values parse to
// non-finite numbers, which the caller rejects.
bool ParseDouble(const std::string& s, double* out);

// An integer label: a decimal integer, or a number with an integral value such as "2.0".
bool ParseIntegerLabel(const std::string& s, int64_t* out);

// "30", "-1", "+2": a decimal column index. Absurdly long ones become LLONG_MAX (out of range).
bool ParseColumnIndex(const std::string& s, long long* out);

}  // namespace fl::data::internal

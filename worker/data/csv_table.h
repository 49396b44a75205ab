// Low-level CSV tokenising for the CSV loader (internal to worker/data; tested through
// LoadCsv). Produces strings only; numeric conversion happens in csv_loader.cc.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl::data::internal {

struct CsvRecord {
  size_t line = 0;  // 1-based physical line on which the record starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::vector<std::string> header;  // empty unless header=true
  size_t header_line = 0;           // 1-based line of the header (0 without a header)
  std::vector<CsvRecord> records;   // data rows
};

struct CsvFormat {
  char delimiter = ',';
  int skip_rows = 0;    // physical lines dropped before anything is parsed
  bool header = false;  // first remaining record holds column names
};

// Splits `text` into records. Rules:
//  * line endings "\n", "\r\n" or a lone "\r"; a trailing newline is optional;
//  * a UTF-8 byte-order mark at the start is ignored;
//  * blank lines (empty or only spaces/tabs) are skipped;
//  * unquoted fields are trimmed of surrounding spaces and tabs (unless those are the
//    delimiter);
//  * a field starting with '"' is quoted: it may contain delimiters and newlines, and "" stands
//    for one quote; only spaces/tabs may follow the closing quote;
//  * every record must have as many fields as the first one (the header when there is one).
// Errors are InvalidArgument naming `path` and the line.
StatusOr<CsvTable> ParseCsvText(const std::string& text, const std::string& path,
                                const CsvFormat& format);

// Reads the whole file (NotFound if it does not exist or is not a regular file, DataLoss if
// reading fails) and parses it with ParseCsvText.
StatusOr<CsvTable> ReadCsvFile(const std::string& path, const CsvFormat& format);

}  // namespace fl::data::internal

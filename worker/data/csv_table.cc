#include "data/csv_table.h"

#include <limits>
#include <utility>

#include "fl/env.h"

namespace fl::data::internal {
namespace {

std::string Where(const std::string& path, size_t line) {
  return "csv file '" + path + "' line " + std::to_string(line);
}

// Walks through the text one record at a time, tracking physical line numbers.
class Tokenizer {
 public:
  Tokenizer(const std::string& text, const std::string& path, char delimiter)
      : text_(text), path_(path), delim_(delimiter) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 byte-order mark
  }

  bool AtEnd() const { return pos_ >= text_.size(); }

  // Drops everything up to and including the next line ending.
  void SkipLine() {
    while (!AtEnd() && !IsNewline(text_[pos_])) ++pos_;
    ConsumeNewline();
  }

  // Reads one record. `*blank` is set for a line holding nothing but spaces/tabs.
  Status NextRecord(CsvRecord* rec, bool* blank) {
    rec->line = line_;
    rec->fields.clear();
    bool only_blank = true;
    while (true) {
      while (!AtEnd() && IsBlank(text_[pos_])) ++pos_;
      std::string field;
      if (!AtEnd() && text_[pos_] == '"') {
        FL_RETURN_IF_ERROR(ReadQuoted(rec->line, &field));
        only_blank = false;
      } else {
        const size_t start = pos_;
        while (!AtEnd() && text_[pos_] != delim_ && !IsNewline(text_[pos_])) ++pos_;
        size_t end = pos_;
        while (end > start && IsBlank(text_[end - 1])) --end;
        field.assign(text_, start, end - start);
        if (!field.empty()) only_blank = false;
      }
      rec->fields.push_back(std::move(field));
      if (AtEnd()) break;
      if (text_[pos_] == delim_) {
        ++pos_;
        only_blank = false;
        continue;
      }
      ConsumeNewline();
      break;
    }
    *blank = only_blank;
    return Status::Ok();
  }

 private:
  static bool IsNewline(char c) { return c == '\n' || c == '\r'; }
  bool IsBlank(char c) const { return (c == ' ' || c == '\t') && c != delim_; }

  // Consumes "\n", "\r\n" or "\r" at the current position, if there is one.
  void ConsumeNewline() {
    if (AtEnd()) return;
    if (text_[pos_] == '\r') {
      ++pos_;
      if (!AtEnd() && text_[pos_] == '\n') ++pos_;
      ++line_;
    } else if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
  }

  // Reads a double-quoted field starting at the opening quote.
  Status ReadQuoted(size_t record_line, std::string* field) {
    ++pos_;  // opening quote
    while (true) {
      if (AtEnd()) {
        return InvalidArgument(Where(path_, record_line) + ": unterminated quoted field");
      }
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {  // "" -> "
          field->push_back('"');
          pos_ += 2;
          continue;
        }
        ++pos_;  // closing quote
        break;
      }
      if (IsNewline(c)) {
        ConsumeNewline();
        field->push_back('\n');
        continue;
      }
      field->push_back(c);
      ++pos_;
    }
    while (!AtEnd() && IsBlank(text_[pos_])) ++pos_;
    if (!AtEnd() && text_[pos_] != delim_ && !IsNewline(text_[pos_])) {
      return InvalidArgument(Where(path_, line_) + ": unexpected character '" +
                             std::string(1, text_[pos_]) + "' after a closing quote");
    }
    return Status::Ok();
  }

  const std::string& text_;
  const std::string& path_;
  const char delim_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

}  // namespace

StatusOr<CsvTable> ParseCsvText(const std::string& text, const std::string& path,
                                const CsvFormat& format) {
  if (format.skip_rows < 0) {
    return InvalidArgument("csv file '" + path + "': skip_rows must be >= 0, got " +
                           std::to_string(format.skip_rows));
  }
  if (format.delimiter == '"' || format.delimiter == '\n' || format.delimiter == '\r' ||
      format.delimiter == '\0') {
    return InvalidArgument("csv file '" + path + "': invalid delimiter");
  }
  Tokenizer tok(text, path, format.delimiter);
  for (int i = 0; i < format.skip_rows && !tok.AtEnd(); ++i) tok.SkipLine();

  CsvTable table;
  bool have_first = false;
  size_t expected = 0;
  size_t first_line = 0;
  while (!tok.AtEnd()) {
    CsvRecord rec;
    bool blank = false;
    FL_RETURN_IF_ERROR(tok.NextRecord(&rec, &blank));
    if (blank) continue;
    if (!have_first) {
      have_first = true;
      expected = rec.fields.size();
      first_line = rec.line;
      if (format.header) {
        table.header = std::move(rec.fields);
        table.header_line = rec.line;
        continue;
      }
    } else if (rec.fields.size() != expected) {
      return InvalidArgument(Where(path, rec.line) + ": expected " + std::to_string(expected) +
                             " fields (as on line " + std::to_string(first_line) + "), found " +
                             std::to_string(rec.fields.size()));
    }
    table.records.push_back(std::move(rec));
  }
  return table;
}

StatusOr<CsvTable> ReadCsvFile(const std::string& path, const CsvFormat& format) {
  Env& env = Env::Default();
  if (!env.FileExists(path)) {
    return NotFound("csv file '" + path + "': no such file");
  }
  if (env.IsDirectory(path)) {
    return InvalidArgument("csv file '" + path + "': not a regular file");
  }
  StatusOr<std::string> text = env.ReadFile(path, std::numeric_limits<size_t>::max());
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound("csv file '" + path + "': cannot open: " + text.status().message());
    }
    return DataLoss("csv file '" + path + "': read error: " + text.status().message());
  }
  return ParseCsvText(*text, path, format);
}

}  // namespace fl::data::internal

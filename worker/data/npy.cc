// The .npy format: a 6-byte magic "\x93NUMPY", a version (1.0: 2-byte header length; 2.0 and
// 3.0: 4-byte length), then an ASCII/UTF-8 Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and a newline, then the raw array bytes.
// Reference: numpy/lib/format.py.
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>

#include "data/npy_util.h"
#include "data/npz_loader.h"

namespace fl::data {
namespace internal {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// Parses the header dict. Only the three keys numpy writes are accepted.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  Status Parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape) {
    SkipWs();
    if (!Consume('{')) return Error("expected '{'");
    bool has_descr = false, has_fortran = false, has_shape = false;
    while (true) {
      SkipWs();
      if (Consume('}')) break;
      std::string key;
      FL_RETURN_IF_ERROR(ParseString(&key));
      SkipWs();
      if (!Consume(':')) return Error("expected ':' after '" + key + "'");
      SkipWs();
      bool* seen = nullptr;
      if (key == "descr") {
        if (Peek() == '[') {
          return InvalidArgument(what_ + ": structured dtypes are not supported");
        }
        FL_RETURN_IF_ERROR(ParseString(descr));
        seen = &has_descr;
      } else if (key == "fortran_order") {
        FL_RETURN_IF_ERROR(ParseBool(fortran_order));
        seen = &has_fortran;
      } else if (key == "shape") {
        FL_RETURN_IF_ERROR(ParseShape(shape));
        seen = &has_shape;
      } else {
        return Error("unexpected key '" + key + "'");
      }
      if (*seen) return Error("duplicate key '" + key + "'");
      *seen = true;
      SkipWs();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipWs();
    if (pos_ != s_.size()) return Error("unexpected text after '}'");
    if (!has_descr) return Error("no 'descr'");
    if (!has_fortran) return Error("no 'fortran_order'");
    if (!has_shape) return Error("no 'shape'");
    return Status::Ok();
  }

 private:
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void SkipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' ||
                                s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  Status Error(const std::string& problem) const {
    constexpr size_t kMaxShown = 120;
    std::string shown(s_.substr(0, kMaxShown));
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
    if (s_.size() > kMaxShown) shown += "...";
    return InvalidArgument(what_ + ": malformed .npy header (" + problem + "): " + shown);
  }

  Status ParseString(std::string* out) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return Error("expected a quoted string");
    ++pos_;
    out->clear();
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out->push_back(s_[pos_++]);
    }
    if (!Consume(quote)) return Error("unterminated string");
    return Status::Ok();
  }

  Status ParseBool(bool* out) {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      *out = true;
    } else if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      *out = false;
    } else {
      return Error("expected True or False");
    }
    return Status::Ok();
  }

  // "()", "(5,)", "(3, 4)"; Python 2 long suffixes ("3L") are accepted.
  Status ParseShape(std::vector<int64_t>* shape) {
    shape->clear();
    if (!Consume('(')) return Error("expected '(' for the shape");
    while (true) {
      SkipWs();
      if (Consume(')')) break;
      if (Peek() < '0' || Peek() > '9') return Error("expected a non-negative dimension");
      int64_t dim = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        if (dim > (std::numeric_limits<int64_t>::max() - 9) / 10) return Error("dimension too large");
        dim = dim * 10 + (s_[pos_++] - '0');
      }
      Consume('L');
      shape->push_back(dim);
      SkipWs();
      if (Consume(',')) continue;
      if (Consume(')')) break;
      return Error("expected ',' or ')' in the shape");
    }
    return Status::Ok();
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

bool HostIsLittleEndian() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

uint64_t ReadLE(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t k = n; k-- > 0;) v = (v << 8) | p[k];
  return v;
}

}  // namespace

StatusOr<NpyDtype> ParseNpyDtype(const std::string& descr, const std::string& what) {
  std::string_view d(descr);
  char order = '|';
  if (!d.empty() && std::strchr("<>|=", d.front()) != nullptr) {
    order = d.front();
    d.remove_prefix(1);
  }
  const auto unsupported = [&] {
    return InvalidArgument(what + ": unsupported dtype '" + descr +
                           "' (expected bool, integer or float)");
  };
  if (d.empty()) return unsupported();
  NpyDtype t;
  t.kind = d.front();
  d.remove_prefix(1);
  if (t.kind == 'O') return InvalidArgument(what + ": object dtype '" + descr + "' is not supported");
  if (d.empty() || d.size() > 2) return unsupported();
  for (char c : d) {
    if (c < '0' || c > '9') return unsupported();
    t.itemsize = t.itemsize * 10 + static_cast<size_t>(c - '0');
  }
  const size_t s = t.itemsize;
  const bool ok = (t.kind == 'b' && s == 1) ||
                  ((t.kind == 'i' || t.kind == 'u') && (s == 1 || s == 2 || s == 4 || s == 8)) ||
                  (t.kind == 'f' && (s == 2 || s == 4 || s == 8));
  if (!ok) return unsupported();
  if (s > 1 && (order == '>' || (order == '=' && !HostIsLittleEndian()))) {
    return InvalidArgument(what + ": big-endian dtype '" + descr + "' is not supported");
  }
  return t;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

bool ReadIntegerElement(const NpyArray& a, const NpyDtype& t, size_t i, int64_t* out) {
  const uint64_t u = ReadLE(a.data.data() + i * t.itemsize, t.itemsize);
  if (t.kind == 'i') {
    uint64_t v = u;
    const unsigned bits = static_cast<unsigned>(8 * t.itemsize);
    if (bits < 64 && ((u >> (bits - 1)) & 1)) v |= ~((uint64_t{1} << bits) - 1);  // sign-extend
    std::memcpy(out, &v, sizeof(v));  // two's complement reinterpretation
    return true;
  }
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  *out = static_cast<int64_t>(u);
  return true;
}

}  // namespace internal

int64_t NpyArray::numel() const {
  // A zero dimension anywhere means no elements, whatever the others: (2^40, 2^40, 0) is a
  // valid empty array whose other dimensions must not be multiplied (signed overflow).
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return std::numeric_limits<int64_t>::max();
  }
  return n;
}

namespace {

StatusOr<NpyArray> ParseNpyImpl(const uint8_t* bytes, size_t size, const std::string& what) {
  if (bytes == nullptr && size > 0) return InvalidArgument(what + ": null buffer");
  if (size < 10) {
    return DataLoss(what + ": truncated .npy (" + std::to_string(size) +
                    " bytes, too short for the header)");
  }
  if (std::memcmp(bytes, internal::kMagic, internal::kMagicLen) != 0) {
    return DataLoss(what + ": not a .npy array (bad magic bytes)");
  }
  const int major = bytes[6];
  size_t header_start = 0, header_len = 0;
  if (major == 1) {
    header_start = 10;
    header_len = static_cast<size_t>(internal::ReadLE(bytes + 8, 2));
  } else if (major == 2 || major == 3) {
    if (size < 12) return DataLoss(what + ": truncated .npy header");
    header_start = 12;
    header_len = static_cast<size_t>(internal::ReadLE(bytes + 8, 4));
  } else {
    return InvalidArgument(what + ": unsupported .npy format version " + std::to_string(major) +
                           "." + std::to_string(bytes[7]));
  }
  if (header_len > size - header_start) {
    return DataLoss(what + ": truncated .npy header (needs " + std::to_string(header_len) +
                    " bytes, " + std::to_string(size - header_start) + " present)");
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  NpyArray out;
  bool fortran_order = false;
  FL_RETURN_IF_ERROR(internal::HeaderParser(header, what).Parse(&out.dtype, &fortran_order,
                                                                &out.shape));
  FL_ASSIGN_OR_RETURN(const internal::NpyDtype t, internal::ParseNpyDtype(out.dtype, what));
  if (fortran_order) {
    return InvalidArgument(what + ": fortran_order=True arrays are not supported (save a "
                                  "C-contiguous array)");
  }

  // numel * itemsize, refusing shapes whose byte count overflows.
  uint64_t needed = t.itemsize;
  bool any_zero = false;
  for (int64_t d : out.shape) any_zero = any_zero || d == 0;
  if (any_zero) {
    needed = 0;
  } else {
    for (int64_t d : out.shape) {
      const auto ud = static_cast<uint64_t>(d);
      if (needed > std::numeric_limits<uint64_t>::max() / ud || needed * ud > (uint64_t{1} << 62)) {
        return InvalidArgument(what + ": shape " + internal::ShapeString(out.shape) +
                               " is too large");
      }
      needed *= ud;
    }
  }
  const size_t data_start = header_start + header_len;
  const uint64_t present = size - data_start;
  if (present != needed) {
    return DataLoss(what + ": data is " + std::to_string(present) + " bytes but shape " +
                    internal::ShapeString(out.shape) + " of dtype '" + out.dtype + "' needs " +
                    std::to_string(needed) + (present < needed ? " (truncated)" : " (extra bytes)"));
  }
  out.data.assign(bytes + data_start, bytes + size);
  return out;
}

}  // namespace

StatusOr<NpyArray> ParseNpy(const uint8_t* bytes, size_t size, const std::string& what) {
  try {
    return ParseNpyImpl(bytes, size, what);
  } catch (const std::exception& e) {  // std::bad_alloc for a huge array
    return Internal(what + ": " + e.what());
  }
}

}  // namespace fl::data

// One part of a multipart message: an owned, contiguous run of bytes. Messages travel as
// a list of frames whatever the transport (fl/transport.h); no transport type appears
// outside its backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fl {

class Frame {
 public:
  Frame() = default;
  explicit Frame(size_t size) : bytes_(size, '\0') {}
  Frame(const void* data, size_t size) : bytes_(static_cast<const char*>(data), size) {}
  explicit Frame(std::string bytes) : bytes_(std::move(bytes)) {}

  const void* data() const { return bytes_.data(); }
  void* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  std::string_view view() const { return bytes_; }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace fl

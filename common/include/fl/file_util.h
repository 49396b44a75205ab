// Small file helpers. Writes are atomic: a temporary file in the same directory is
// written, flushed to disk and renamed over the target, so readers and crashes never
// see a torn file.
#pragma once

#include <string>
#include <string_view>

#include "fl/status.h"

namespace fl {

// `mode` is applied to the temporary file before the rename, so the contents never
// exist under a wider mode (0600 for secrets).
Status AtomicWriteFile(const std::string& path, std::string_view contents, unsigned mode = 0644);
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = size_t{1} << 32);
Status MakeDirs(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace fl

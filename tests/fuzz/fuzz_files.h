// Scratch files for the targets whose parsers read by path (libzip, nifticlib, stb): a
// directory per process under /dev/shm (memory; /tmp where there is none), removed when the
// process exits normally.
#pragma once

#include <string>
#include <string_view>

namespace fl::fuzz {

// The process's scratch directory, created on first use.
const std::string& ScratchDir();
// Writes `bytes` to ScratchDir()/name (replacing it) and returns the path; aborts on an
// I/O failure (that is the harness's fault, not a finding).
std::string WriteScratch(const std::string& name, std::string_view bytes, unsigned mode = 0644);
// Empties ScratchDir()/sub (creating it), for targets that build a folder per input.
std::string FreshScratchSubdir(const std::string& sub);

}  // namespace fl::fuzz

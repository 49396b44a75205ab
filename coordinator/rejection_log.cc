#include "rejection_log.h"

#include "fl/log.h"

namespace fl::coordinator {

void RejectionLog::Add(const std::string& reason) {
  ++total_;
  Flush();
  if (repeats_.empty() && other_ == 0) period_start_ = env_.Now();
  auto it = repeats_.find(reason);
  if (it != repeats_.end()) {
    ++it->second;
  } else if (repeats_.size() < kMaxReasons) {
    repeats_[reason] = 0;
    FL_LOG(kWarning) << what_ << ": " << reason;
  } else {
    ++other_;
  }
}

void RejectionLog::Flush() {
  if ((repeats_.empty() && other_ == 0) || env_.Now() - period_start_ < period_) return;
  for (const auto& [reason, n] : repeats_) {
    if (n > 0) FL_LOG(kWarning) << what_ << ": " << reason << " (" << n << " more in " << ToSeconds(period_) << " s)";
  }
  if (other_ > 0) FL_LOG(kWarning) << what_ << ": " << other_ << " more for other reasons in " << ToSeconds(period_) << " s";
  repeats_.clear();
  other_ = 0;
}

}  // namespace fl::coordinator

// Status and StatusOr: error values passed across module boundaries.
// Exceptions from third-party libraries are caught at the adapter that calls the
// library and turned into a Status there.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace fl {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input: config, file contents, a peer's message
  kNotFound,          // a file or entity that should exist does not
  kFailedPrecondition,// an operation arrived in a state that does not allow it
  kOutOfRange,        // a value outside its allowed range
  kPermissionDenied,  // a request the protocol forbids (e.g. an unsafe unmasking)
  kUnavailable,       // a peer or the network is not reachable
  kDeadlineExceeded,  // a timeout
  kAborted,           // a protocol session was abandoned
  kDataLoss,          // corrupted or truncated data
  kResourceExhausted, // out of disk space, memory or a quota
  kInternal,          // a bug or an unexpected library failure
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Returns a copy with "context: " prepended to the message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

namespace internal {
[[noreturn]] void DieOnBadAccess(const Status& status);
}  // namespace internal

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  StatusOr(T value) : value_(std::move(value)) {}                                  // NOLINT
  StatusOr& operator=(StatusOr&&) = default;
  StatusOr(StatusOr&&) = default;
  StatusOr(const StatusOr&) = default;
  StatusOr& operator=(const StatusOr&) = default;

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // Reading the value of an error is a bug: it stops the process with the error, in
  // every build (never undefined behaviour).
  T& value() & { CheckOk(); return *value_; }
  const T& value() const& { CheckOk(); return *value_; }
  T&& value() && { CheckOk(); return std::move(*value_); }
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void CheckOk() const {
    if (!ok()) internal::DieOnBadAccess(status_);
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace fl

#define FL_CONCAT_INNER(a, b) a##b
#define FL_CONCAT(a, b) FL_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define FL_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::fl::Status fl_status_ = (expr);            \
    if (!fl_status_.ok()) return fl_status_;     \
  } while (0)

// `FL_ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define FL_ASSIGN_OR_RETURN(lhs, expr) FL_ASSIGN_OR_RETURN_IMPL(FL_CONCAT(fl_sor_, __LINE__), lhs, expr)
#define FL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

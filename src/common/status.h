// Status and StatusOr<T>: the error type returned across every module
// boundary. Exceptions from third-party libraries are caught inside their
// adapters and turned into a Status; they never cross a module boundary.
//
// Thread-safety: value types, safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace yoloscope {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from a caller or user (HTTP 400/422).
  kNotFound,            // a file, model or route that does not exist (404).
  kAlreadyExists,
  kFailedPrecondition,  // the object is not in a state to do this.
  kOutOfRange,
  kResourceExhausted,   // a queue, memory or size limit was hit (503/507/413).
  kDeadlineExceeded,    // a timeout (504).
  kUnavailable,         // shutting down / not ready (503).
  kUnimplemented,
  kDataLoss,            // corrupt or truncated data.
  kCancelled,
  kInternal,            // a bug or an unexpected library failure (500).
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "prefix: message" (keeps the code).
  Status WithContext(std::string_view prefix) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnavailableError(std::string message);
Status UnimplementedError(std::string message);
Status DataLossError(std::string message);
Status CancelledError(std::string message);
Status InternalError(std::string message);

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : rep_(status) {  // NOLINT: implicit by design.
    assert(!status.ok() && "StatusOr built from an OK status");
    if (status.ok()) rep_ = Status(StatusCode::kInternal, "StatusOr built from OK status");
  }
  StatusOr(Status&& status) : rep_(std::move(status)) {  // NOLINT
    if (std::get<Status>(rep_).ok()) rep_ = Status(StatusCode::kInternal, "StatusOr built from OK status");
  }
  StatusOr(const T& value) : rep_(value) {}       // NOLINT
  StatusOr(T&& value) : rep_(std::move(value)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& value) : rep_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(rep_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(rep_); }

  const T& value() const& { return std::get<T>(rep_); }
  T& value() & { return std::get<T>(rep_); }
  T&& value() && { return std::get<T>(std::move(rep_)); }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> rep_;
};

}  // namespace yoloscope

#define YS_STATUS_CONCAT_INNER_(a, b) a##b
#define YS_STATUS_CONCAT_(a, b) YS_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define YS_RETURN_IF_ERROR(expr)                                   \
  do {                                                             \
    ::yoloscope::Status ys_status_tmp_ = (expr);                   \
    if (!ys_status_tmp_.ok()) return ys_status_tmp_;               \
  } while (0)

// `YS_ASSIGN_OR_RETURN(auto x, F());` declares x from a StatusOr or returns its error.
#define YS_ASSIGN_OR_RETURN(lhs, expr) \
  YS_ASSIGN_OR_RETURN_IMPL_(YS_STATUS_CONCAT_(ys_statusor_, __LINE__), lhs, expr)
#define YS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

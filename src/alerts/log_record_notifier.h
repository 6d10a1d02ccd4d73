// LogRecordNotifier: writes an `alert` record (alert_log_line.h) into the
// request log for every firing and resolved transition, through a sink the
// owner provides (in `serve`: AsyncLogWriter::TryWrite, which never blocks).
//
// Thread-safety: Notify from one thread at a time; counters are atomic.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "alerts/alert_notifier.h"

namespace yoloscope {

// Takes one complete line (ending in '\n'); returns false when it was
// dropped (e.g. a full log queue).
using AlertLineSink = std::function<bool(std::string&& line)>;

class LogRecordNotifier final : public AlertNotifier {
 public:
  explicit LogRecordNotifier(AlertLineSink sink) : sink_(std::move(sink)) {}

  std::string_view name() const override { return "log"; }
  void Notify(const std::vector<AlertTransition>& transitions) override;

  int64_t written() const { return written_.load(std::memory_order_relaxed); }
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AlertLineSink sink_;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> dropped_{0};
};

}  // namespace yoloscope

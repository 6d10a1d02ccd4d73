#include "alerts/log_record_notifier.h"

#include "alerts/alert_log_line.h"

namespace yoloscope {

void LogRecordNotifier::Notify(const std::vector<AlertTransition>& transitions) {
  for (const AlertTransition& t : transitions) {
    std::string line;
    line.reserve(512);
    AppendAlertJsonLine(t, &line);
    if (sink_ && sink_(std::move(line))) {
      written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace yoloscope

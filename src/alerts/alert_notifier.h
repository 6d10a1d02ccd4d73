// AlertNotifier: a destination for alert transitions (request-log record,
// stderr, Alertmanager-style webhook, command). The LiveAlerter hands each
// evaluation's firing and resolved transitions to every notifier.
//
// Contract for implementations: Notify never waits for slow I/O (network,
// child processes): such work goes to the notifier's own bounded queue and
// thread, and what does not fit is dropped and counted. Notify is called
// from one thread at a time. Close delivers what is queued within the
// notifier's own time limit, then stops; it is idempotent and called by the
// destructor of implementations that own threads.
#pragma once

#include <string_view>
#include <vector>

#include "alerts/alert_engine.h"

namespace yoloscope {

class AlertNotifier {
 public:
  virtual ~AlertNotifier() = default;
  virtual std::string_view name() const = 0;
  // Firing and resolved transitions of one evaluation (never empty).
  virtual void Notify(const std::vector<AlertTransition>& transitions) = 0;
  virtual void Close() {}
};

}  // namespace yoloscope

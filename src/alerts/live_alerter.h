// LiveAlerter: alerting inside `serve`. Owns an AlertEngine fed with the
// server's own records (Observe, from any worker thread), a thread that
// evaluates it once per second of the Clock's wall time, and the notifiers
// that receive every firing and resolved transition.
//
// Timing: second boundary B (Unix seconds) is evaluated at wall time
// B + evaluation_delay_ms, so a request that completed just before B (and
// was observed a moment later) is in the window. After a stall (suspended
// process, clock jump) at most max_catch_up boundaries are evaluated at
// once; older ones are skipped. A wall clock stepped back by more than a
// minute restarts evaluation at the current second. Waits are real time, bounded to 1 s, so with
// a FakeClock use Tick() instead of Start() (or as well).
//
// Never blocks serving: Observe takes the engine mutex for O(rules) work;
// notifiers queue slow work to their own threads (AlertNotifier).
//
// Thread-safety: Observe, Submit, Tick, ActiveAlerts and stats from any thread;
// Start/Stop from one controlling thread. Lifetime: the Clock is not owned
// and must outlive the alerter; the destructor calls Stop().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "alerts/alert_engine.h"
#include "alerts/alert_notifier.h"
#include "common/clock.h"
#include "common/status.h"

namespace yoloscope {

struct LiveAlerterConfig {
  AlertEngineConfig engine;
  int64_t evaluation_delay_ms = 200;  // 0 .. 5000
  int max_catch_up = 10;              // >= 1
};

struct LiveAlerterStats {
  int64_t evaluations = 0;
  int64_t skipped_boundaries = 0;  // not evaluated after a stall
  int64_t notified = 0;            // firing + resolved transitions handed to notifiers
  int64_t submitted = 0;           // transitions given to Submit (detection rules)
  int64_t submitted_dropped = 0;   // of those, dropped: kMaxPendingSubmitted were waiting
  AlertEngineStats engine;
};

class LiveAlerter {
 public:
  // InvalidArgument for a bad config or a null clock.
  static StatusOr<std::unique_ptr<LiveAlerter>> Create(
      RuleSet rules, const LiveAlerterConfig& config, Clock* clock,
      std::vector<std::unique_ptr<AlertNotifier>> notifiers);
  ~LiveAlerter();

  LiveAlerter(const LiveAlerter&) = delete;
  LiveAlerter& operator=(const LiveAlerter&) = delete;

  // Feeds one record (request, batch or gpu) to the engine.
  void Observe(const LogRecord& record);

  // Transitions evaluated elsewhere (the detection rules' DetectionAlerter),
  // for the same notifiers. Never waits for them: the transitions are queued
  // (beyond kMaxPendingSubmitted waiting, dropped and counted) and handed to
  // the notifiers by the evaluation thread at once, or by the next Tick or
  // Stop. Only firing and resolved transitions are delivered.
  static constexpr size_t kMaxPendingSubmitted = 1024;
  void Submit(std::vector<AlertTransition> transitions);

  // Starts the evaluation thread. FailedPrecondition when already started or stopped.
  Status Start();
  // Stops the thread, evaluates nothing more, then closes the notifiers
  // (each drains within its own limit). Idempotent.
  void Stop();

  // Evaluates every boundary due at clock->WallNowUs() and notifies; returns
  // the transitions of those evaluations (all states, pending included).
  std::vector<AlertTransition> Tick();

  std::vector<AlertTransition> ActiveAlerts() const { return engine_->ActiveAlerts(); }
  LiveAlerterStats stats() const;
  const AlertEngine& engine() const { return *engine_; }

 private:
  LiveAlerter(std::unique_ptr<AlertEngine> engine, const LiveAlerterConfig& config, Clock* clock,
              std::vector<std::unique_ptr<AlertNotifier>> notifiers);
  void Run();
  // Hands the submitted transitions to the notifiers. Requires tick_mu_.
  void DeliverSubmitted();

  const LiveAlerterConfig config_;
  Clock* const clock_;
  const std::unique_ptr<AlertEngine> engine_;

  std::mutex tick_mu_;  // Serializes Tick (and so the notifiers' Notify).
  std::vector<std::unique_ptr<AlertNotifier>> notifiers_;  // Guarded by tick_mu_.
  std::optional<int64_t> next_boundary_s_;                 // Guarded by tick_mu_.
  bool notifiers_closed_ = false;                          // Guarded by tick_mu_.

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;    // Guarded by mu_.
  bool stopping_ = false;   // Guarded by mu_.
  LiveAlerterStats stats_;  // Guarded by mu_ (engine part filled on read).
  std::vector<AlertTransition> submitted_;  // Guarded by mu_. Not yet delivered.
  std::thread thread_;
};

}  // namespace yoloscope

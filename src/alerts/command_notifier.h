// CommandNotifier: runs a command (a scale-out script, a pager hook) for
// every firing (and, by default, resolved) transition, with the alert in its
// environment:
//
//   YOLOSCOPE_ALERT_NAME        rule name            YOLOSCOPE_ALERT_STATE     firing | resolved
//   YOLOSCOPE_ALERT_SEVERITY    severity             YOLOSCOPE_ALERT_VALUE     value at this
//   evaluation YOLOSCOPE_ALERT_THRESHOLD   threshold            YOLOSCOPE_ALERT_COMPARATOR  > >= <
//   <= YOLOSCOPE_ALERT_METRIC      e.g. inference_ms    YOLOSCOPE_ALERT_AGGREGATION e.g. mean, p99
//   YOLOSCOPE_ALERT_WINDOW_S    window seconds       YOLOSCOPE_ALERT_PEAK      most extreme value
//   YOLOSCOPE_ALERT_STARTED_AT, _FIRED_AT, _RESOLVED_AT   RFC 3339 (empty when unknown)
//   YOLOSCOPE_ALERT_SUMMARY, _DESCRIPTION                 rendered annotations
//   YOLOSCOPE_ALERT_LABELS, _ANNOTATIONS                  JSON objects
//   YOLOSCOPE_ALERT_LABEL_<NAME>                          each label, NAME upper-cased
//   YOLOSCOPE_ALERT_JSON                                  the `alert` log record
// on top of the server's own environment.
//
// Process handling: fork + execve (no shell: argv is run as given; use
// ["/bin/sh", "-c", "..."] for shell syntax). The child gets its own process
// group, stdin from /dev/null, the server's stdout/stderr, and no other open
// descriptor. Commands run one at a time on the notifier's thread, from a
// bounded queue (full: the transition is dropped and counted). A command
// still running after timeout_ms gets SIGTERM (its whole process group),
// then SIGKILL kill_grace_ms later. Close() runs what is queued until
// close_timeout_ms has passed, then kills the running command and drops the
// rest.
//
// Thread-safety: Notify and stats() from any thread; Close from one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerts/alert_notifier.h"
#include "common/status.h"

namespace yoloscope {

struct CommandNotifierConfig {
  // Required. argv[0] is a path, or a name looked up in $PATH at Create.
  std::vector<std::string> argv;
  bool on_resolved = true;  // also run for resolved transitions
  int64_t timeout_ms = 10'000;
  int64_t kill_grace_ms = 1000;
  int queue_capacity = 64;
  int64_t close_timeout_ms = 10'000;
};

struct CommandNotifierStats {
  int64_t runs = 0;       // commands started
  int64_t succeeded = 0;  // exited with status 0
  int64_t failed = 0;     // non-zero exit, killed by a signal, or could not start
  int64_t timed_out = 0;  // killed after timeout_ms (also counted in failed)
  int64_t dropped = 0;    // queue full, or not run before Close's deadline
  int last_exit_code = -1;
  std::string last_error;
};

class CommandNotifier final : public AlertNotifier {
 public:
  // InvalidArgument for an empty argv, a command that is not an executable
  // file, or out-of-range numbers. Starts the runner thread.
  static StatusOr<std::unique_ptr<CommandNotifier>> Create(const CommandNotifierConfig& config);
  ~CommandNotifier() override;

  std::string_view name() const override { return "command"; }
  void Notify(const std::vector<AlertTransition>& transitions) override;
  void Close() override;

  CommandNotifierStats stats() const;

  // The YOLOSCOPE_ALERT_* variables for `t` ("NAME=value" strings).
  static std::vector<std::string> AlertEnvironment(const AlertTransition& t);

 private:
  CommandNotifier(const CommandNotifierConfig& config, std::string path);
  void Run();
  void RunOne(const AlertTransition& t);

  const CommandNotifierConfig config_;
  const std::string path_;  // resolved argv[0]

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AlertTransition> queue_;                     // Guarded by mu_.
  bool closing_ = false;                                  // Guarded by mu_.
  std::chrono::steady_clock::time_point close_deadline_;  // Guarded by mu_.
  CommandNotifierStats stats_;                            // Guarded by mu_.

  std::mutex close_mu_;  // Serializes Close.
  std::thread thread_;
};

}  // namespace yoloscope

// WebhookNotifier: POSTs every firing / resolved transition as an
// Alertmanager webhook payload (version 4, alertmanager_payload.h) to an
// HTTP endpoint: a webhook receiver, a chat relay, an autoscaler.
//
// Delivery runs on the notifier's own thread (a WebhookSender,
// webhook_sender.h, one payload per POST) and never blocks Notify:
//   - a bounded queue (queue_capacity payloads); when full, the oldest queued
//     payload is dropped and counted, so the latest state gets through;
//   - payloads are sent one at a time, in order;
//   - an attempt fails on a connection error, a timeout (timeout_ms for
//     resolve + connect + write + read) or a 5xx / 429 answer; it is retried
//     after initial_backoff_ms, doubling up to max_backoff_ms, for at most
//     max_attempts attempts in all, then given up (counted, last_error kept).
//     Other 4xx answers are not retried. 2xx is delivered.
//   - Close() stops accepting, keeps delivering (retries included) until the
//     queue is empty or close_timeout_ms has passed (attempts are cut to the
//     time left, one under way included), then drops the rest.
// Plain http:// only (put a local relay in front of an https endpoint).
// Backoff waits are real time (interruptible by Close), not the Clock.
//
// Thread-safety: Notify and stats() from any thread; Close from one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "alerts/alert_notifier.h"
#include "alerts/alertmanager_payload.h"
#include "alerts/webhook_sender.h"
#include "common/status.h"

namespace yoloscope {

struct WebhookNotifierConfig {
  std::string url;                     // required: http://host[:port][/path]
  std::string receiver = "yoloscope";  // the payload's "receiver"
  std::string external_url;            // the payload's "externalURL" (and generatorURL)
  std::string bearer_token;            // sent as "Authorization: Bearer ..." when set
  int64_t timeout_ms = 5000;           // per attempt
  int max_attempts = 5;                // including the first, >= 1
  int64_t initial_backoff_ms = 500;    // wait before the second attempt
  int64_t max_backoff_ms = 30'000;     // cap of the doubling waits
  int queue_capacity = 256;            // payloads waiting to be sent
  int64_t close_timeout_ms = 5000;     // Close(): time left to drain the queue
};

struct WebhookNotifierStats {
  int64_t delivered = 0;   // payloads answered with 2xx
  int64_t failed = 0;      // given up (attempts exhausted, 4xx, or Close)
  int64_t retries = 0;     // attempts after the first
  int64_t dropped = 0;     // pushed out of a full queue
  int64_t queued = 0;      // waiting now (including one being sent)
  std::string last_error;  // of the latest failed attempt
};

class WebhookNotifier final : public AlertNotifier {
 public:
  // InvalidArgument for a URL that is not http://host[:port][/path] or
  // out-of-range numbers. Starts the delivery thread.
  static StatusOr<std::unique_ptr<WebhookNotifier>> Create(const WebhookNotifierConfig& config);
  ~WebhookNotifier() override;

  std::string_view name() const override { return "webhook"; }
  void Notify(const std::vector<AlertTransition>& transitions) override;
  void Close() override;

  WebhookNotifierStats stats() const;

 private:
  WebhookNotifier(const WebhookNotifierConfig& config, std::unique_ptr<WebhookSender> sender);

  const AlertmanagerPayloadOptions payload_options_;
  const std::unique_ptr<WebhookSender> sender_;  // one payload per POST
};

}  // namespace yoloscope

// WebhookSender: delivers JSON bodies by HTTP POST to one http:// URL from
// its own thread, never blocking the caller. Shared by the alert webhook
// (WebhookNotifier: one Alertmanager payload per POST) and the video
// streams' result webhooks (server/stream_result_sink.h: several frames per
// POST).
//
//   - Send() queues an item (a JSON text) in a bounded queue of
//     queue_capacity items; when full, the oldest queued item is dropped and
//     counted, so the latest items get through.
//   - The thread takes the oldest item -- or, with max_items_per_post > 1,
//     every queued item up to that many, joined into one body by the
//     combiner -- and POSTs it; posts go one at a time, in order. Items
//     therefore batch by themselves when the receiver is slower than they
//     come, and go one by one (no added delay) when it keeps up.
//   - An attempt fails on a connection error, a timeout (timeout_ms for
//     resolve + connect + write + read) or a 5xx / 429 answer; it is retried
//     after initial_backoff_ms, doubling up to max_backoff_ms, for at most
//     max_attempts attempts in all, then given up (its items counted as
//     failed, last_error kept). Other 4xx answers are not retried. 2xx is
//     delivered.
//   - Close() stops accepting, keeps delivering (retries included) until the
//     queue is empty or close_timeout_ms has passed (attempts are cut to the
//     time left, including one already under way), then counts the rest as
//     failed. So Close returns within about close_timeout_ms.
// Plain http:// only (common/http_url.h). Backoff waits are real time
// (interruptible by Close), not the Clock.
//
// Counts are of items: every item sent is delivered, failed, dropped or
// still queued. Thread-safety: Send and stats() from any thread; Close from
// any thread (serialized), idempotent, called by the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http_url.h"
#include "common/status.h"

namespace yoloscope {

struct WebhookSenderConfig {
  std::string url;                       // required: http://host[:port][/path]
  std::string bearer_token;              // sent as "Authorization: Bearer ..." when set
  std::string user_agent = "yoloscope";  // the User-Agent header
  int64_t timeout_ms = 5000;             // per attempt, >= 1
  int max_attempts = 5;                  // including the first, >= 1
  int64_t initial_backoff_ms = 500;      // wait before the second attempt
  int64_t max_backoff_ms = 30'000;       // cap of the doubling waits
  int queue_capacity = 256;              // items waiting to be sent, >= 1
  int64_t close_timeout_ms = 5000;       // Close(): time left to drain the queue
  int max_items_per_post = 1;            // > 1 needs a combiner
};

// Joins the items of one POST into its body (called on the sender thread).
using WebhookBodyCombiner = std::function<std::string(const std::vector<std::string>& items)>;

struct WebhookSenderStats {
  int64_t delivered = 0;   // items in posts answered with 2xx
  int64_t failed = 0;      // items given up (attempts exhausted, 4xx, or Close)
  int64_t dropped = 0;     // items pushed out of a full queue (or sent after Close)
  int64_t queued = 0;      // items waiting now (including those being sent)
  int64_t posts = 0;       // POSTs delivered
  int64_t retries = 0;     // attempts after the first
  std::string last_error;  // of the latest failed attempt
};

class WebhookSender {
 public:
  // InvalidArgument "webhook: ..." for a bad URL (common/http_url.h) or
  // out-of-range numbers. Starts the delivery thread.
  static StatusOr<std::unique_ptr<WebhookSender>> Create(const WebhookSenderConfig& config,
                                                         WebhookBodyCombiner combiner = nullptr);
  // The numbers' checks alone (what Create refuses), for config validation.
  static Status Validate(const WebhookSenderConfig& config);
  ~WebhookSender();

  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues one item; never waits. False when it or an older item had to be
  // dropped (counted).
  bool Send(std::string item);
  void Close();
  WebhookSenderStats stats() const;

 private:
  struct Attempt {
    int http_status = 0;  // 0 when no answer came
    std::string error;    // empty on an answer
  };

  WebhookSender(const WebhookSenderConfig& config, HttpUrl url, WebhookBodyCombiner combiner);
  Attempt PostOnce(const std::string& body, int64_t timeout_ms) const;
  void Run();
  // Waits `ms` of real time unless Close's deadline comes first; false when
  // the wait was cut short by the deadline.
  bool WaitBackoff(int64_t ms);

  const WebhookSenderConfig config_;
  const HttpUrl url_;
  const WebhookBodyCombiner combiner_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;                         // Guarded by mu_. Items not yet taken.
  bool closing_ = false;                                  // Guarded by mu_.
  std::chrono::steady_clock::time_point close_deadline_;  // Guarded by mu_.
  WebhookSenderStats stats_;  // Guarded by mu_ (queued computed on read).
  int64_t sending_ = 0;       // Guarded by mu_. Items in the post being sent.

  std::mutex close_mu_;  // Serializes Close.
  std::thread thread_;
};

}  // namespace yoloscope

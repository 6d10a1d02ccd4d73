#include "alerts/webhook_notifier.h"

namespace yoloscope {
namespace {

WebhookSenderConfig SenderConfig(const WebhookNotifierConfig& c) {
  WebhookSenderConfig s;
  s.url = c.url;
  s.bearer_token = c.bearer_token;
  s.user_agent = "yoloscope-alerts";
  s.timeout_ms = c.timeout_ms;
  s.max_attempts = c.max_attempts;
  s.initial_backoff_ms = c.initial_backoff_ms;
  s.max_backoff_ms = c.max_backoff_ms;
  s.queue_capacity = c.queue_capacity;
  s.close_timeout_ms = c.close_timeout_ms;
  s.max_items_per_post = 1;
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Create(
    const WebhookNotifierConfig& config) {
  YS_ASSIGN_OR_RETURN(auto sender, WebhookSender::Create(SenderConfig(config)));
  return std::unique_ptr<WebhookNotifier>(new WebhookNotifier(config, std::move(sender)));
}

WebhookNotifier::WebhookNotifier(const WebhookNotifierConfig& config,
                                 std::unique_ptr<WebhookSender> sender)
    : payload_options_{config.receiver, config.external_url, ""}, sender_(std::move(sender)) {}

WebhookNotifier::~WebhookNotifier() { Close(); }

void WebhookNotifier::Notify(const std::vector<AlertTransition>& transitions) {
  for (const AlertTransition& t : transitions) {
    if (t.state != AlertState::kFiring && t.state != AlertState::kResolved) continue;
    sender_->Send(BuildAlertmanagerPayload(t, payload_options_));
  }
}

void WebhookNotifier::Close() { sender_->Close(); }

WebhookNotifierStats WebhookNotifier::stats() const {
  const WebhookSenderStats s = sender_->stats();
  WebhookNotifierStats out;
  out.delivered = s.delivered;
  out.failed = s.failed;
  out.retries = s.retries;
  out.dropped = s.dropped;
  out.queued = s.queued;
  out.last_error = s.last_error;
  return out;
}

}  // namespace yoloscope

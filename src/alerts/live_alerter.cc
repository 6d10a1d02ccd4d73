#include "alerts/live_alerter.h"

#include <algorithm>
#include <chrono>

namespace yoloscope {

StatusOr<std::unique_ptr<LiveAlerter>> LiveAlerter::Create(
    RuleSet rules, const LiveAlerterConfig& config, Clock* clock,
    std::vector<std::unique_ptr<AlertNotifier>> notifiers) {
  if (clock == nullptr) return InvalidArgumentError("live alerter: clock is null");
  if (config.evaluation_delay_ms < 0 || config.evaluation_delay_ms > 5000) {
    return InvalidArgumentError("live alerter: evaluation_delay_ms must be in 0..5000");
  }
  if (config.max_catch_up < 1)
    return InvalidArgumentError("live alerter: max_catch_up must be >= 1");
  for (const auto& n : notifiers) {
    if (n == nullptr) return InvalidArgumentError("live alerter: null notifier");
  }
  AlertEngineConfig engine_config = config.engine;
  // Requests completing during the evaluation delay are observed before the
  // boundary they follow is evaluated: keep room for them.
  engine_config.ring_slack_s = std::max<int>(
      engine_config.ring_slack_s, static_cast<int>(config.evaluation_delay_ms / 1000) + 2);
  YS_ASSIGN_OR_RETURN(auto engine, AlertEngine::Create(std::move(rules), engine_config));
  return std::unique_ptr<LiveAlerter>(
      new LiveAlerter(std::move(engine), config, clock, std::move(notifiers)));
}

LiveAlerter::LiveAlerter(std::unique_ptr<AlertEngine> engine, const LiveAlerterConfig& config,
                         Clock* clock, std::vector<std::unique_ptr<AlertNotifier>> notifiers)
    : config_(config),
      clock_(clock),
      engine_(std::move(engine)),
      notifiers_(std::move(notifiers)) {}

LiveAlerter::~LiveAlerter() { Stop(); }

void LiveAlerter::Observe(const LogRecord& record) { engine_->Observe(record); }

void LiveAlerter::Submit(std::vector<AlertTransition> transitions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (AlertTransition& t : transitions) {
      if (t.state != AlertState::kFiring && t.state != AlertState::kResolved) continue;
      ++stats_.submitted;
      if (submitted_.size() >= kMaxPendingSubmitted) {
        ++stats_.submitted_dropped;
        continue;
      }
      submitted_.push_back(std::move(t));
    }
  }
  cv_.notify_all();
}

void LiveAlerter::DeliverSubmitted() {
  std::vector<AlertTransition> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(submitted_);
  }
  if (batch.empty() || notifiers_closed_) return;
  for (auto& n : notifiers_) n->Notify(batch);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.notified += static_cast<int64_t>(batch.size());
}

Status LiveAlerter::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_)
    return FailedPreconditionError("live alerter: already started or stopped");
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

std::vector<AlertTransition> LiveAlerter::Tick() {
  std::lock_guard<std::mutex> tick_lock(tick_mu_);
  std::vector<AlertTransition> all;
  if (notifiers_closed_) return all;
  DeliverSubmitted();
  const int64_t now_us = clock_->WallNowUs();
  const int64_t due_s = WindowAggregator::SecondOf(now_us - config_.evaluation_delay_ms * 1000);
  // First tick, or the wall clock was stepped back by more than a minute:
  // start from the current boundary.
  if (!next_boundary_s_ || *next_boundary_s_ > due_s + 60) next_boundary_s_ = due_s;
  int64_t skipped = 0;
  if (due_s - *next_boundary_s_ >= config_.max_catch_up) {
    skipped = due_s - config_.max_catch_up + 1 - *next_boundary_s_;
    next_boundary_s_ = due_s - config_.max_catch_up + 1;
  }
  int64_t evaluations = 0, notified = 0;
  for (; *next_boundary_s_ <= due_s; ++*next_boundary_s_) {
    std::vector<AlertTransition> transitions = engine_->Evaluate(*next_boundary_s_ * 1'000'000);
    ++evaluations;
    std::vector<AlertTransition> to_notify;
    for (const AlertTransition& t : transitions) {
      if (t.state == AlertState::kFiring || t.state == AlertState::kResolved)
        to_notify.push_back(t);
    }
    if (!to_notify.empty()) {
      notified += static_cast<int64_t>(to_notify.size());
      for (auto& n : notifiers_) n->Notify(to_notify);
    }
    all.insert(all.end(), std::make_move_iterator(transitions.begin()),
               std::make_move_iterator(transitions.end()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.evaluations += evaluations;
  stats_.skipped_boundaries += skipped;
  stats_.notified += notified;
  return all;
}

void LiveAlerter::Run() {
  while (true) {
    Tick();
    int64_t wait_us = 1'000'000;
    {
      std::lock_guard<std::mutex> tick_lock(tick_mu_);
      if (next_boundary_s_) {
        wait_us = *next_boundary_s_ * 1'000'000 + config_.evaluation_delay_ms * 1000 -
                  clock_->WallNowUs();
      }
    }
    wait_us = std::clamp<int64_t>(wait_us, 1000, 1'000'000);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                 [this] { return stopping_ || !submitted_.empty(); });
    if (stopping_) return;
    if (!submitted_.empty()) {
      // Detection-rule transitions go out at once, not at the next boundary.
      lock.unlock();
      std::lock_guard<std::mutex> tick_lock(tick_mu_);
      DeliverSubmitted();
    }
  }
}

void LiveAlerter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> tick_lock(tick_mu_);
  if (notifiers_closed_) return;
  DeliverSubmitted();
  notifiers_closed_ = true;
  for (auto& n : notifiers_) n->Close();
}

LiveAlerterStats LiveAlerter::stats() const {
  LiveAlerterStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stats_;
  }
  s.engine = engine_->stats();
  return s;
}

}  // namespace yoloscope

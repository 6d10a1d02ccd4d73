#include "alerts/live_alerter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "alerts/alerting_config.h"
#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::Request;

// Records what it is told (thread-safe: the alerter's thread may call it).
class CapturingNotifier final : public AlertNotifier {
 public:
  struct Log {
    std::mutex mu;
    std::vector<AlertTransition> seen;
    bool closed = false;
  };
  explicit CapturingNotifier(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  std::string_view name() const override { return "capture"; }
  void Notify(const std::vector<AlertTransition>& transitions) override {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->seen.insert(log_->seen.end(), transitions.begin(), transitions.end());
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->closed = true;
  }

 private:
  std::shared_ptr<CapturingNotifier::Log> log_;
};

RuleSet SlowRule(const std::string& for_duration) {
  auto set = RuleSet::LoadYaml(R"(rules:
  - name: Slow
    metric: inference_ms
    aggregation: max
    window: 2s
    threshold: 100
    for: )" + for_duration + "\n",
                               "live.yaml");
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return std::move(set).value();
}

std::unique_ptr<LiveAlerter> MakeAlerter(const RuleSet& rules, Clock* clock,
                                         std::shared_ptr<CapturingNotifier::Log> log,
                                         LiveAlerterConfig config = {}) {
  std::vector<std::unique_ptr<AlertNotifier>> notifiers;
  notifiers.push_back(std::make_unique<CapturingNotifier>(log));
  auto a = LiveAlerter::Create(rules, config, clock, std::move(notifiers));
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return std::move(a).value();
}

TEST(LiveAlerterTest, EvaluatesEverySecondOfTheClockAndNotifies) {
  // Wall time kT0 at NowNs 0 ... the FakeClock maps NowNs to wall time.
  FakeClock clock(0, kT0);
  auto log = std::make_shared<CapturingNotifier::Log>();
  auto alerter = MakeAlerter(SlowRule("3s"), &clock, log);  // evaluation delay 200 ms

  alerter->Tick();  // first tick: starts at the current boundary
  for (int s = 0; s < 10; ++s) {
    alerter->Observe(Request(clock.WallNowUs(), 250.0));  // a slow request every 500 ms
    clock.AdvanceMs(500);
    alerter->Tick();
    alerter->Observe(Request(clock.WallNowUs(), 250.0));
    clock.AdvanceMs(500);
    auto t = alerter->Tick();
    if (s == 0) {
      // Boundary 1 was not due before 1.2 s.
      EXPECT_TRUE(t.empty());
    }
  }
  // Pending at boundary 1 (due at 1.2 s, evaluated at 1.5 s), firing 3 s later.
  std::lock_guard<std::mutex> lock(log->mu);
  ASSERT_EQ(log->seen.size(), 1u);  // pending transitions are not notified
  EXPECT_EQ(log->seen[0].state, AlertState::kFiring);
  EXPECT_EQ(log->seen[0].started_at_us, kT0 + 1 * kSecond);
  EXPECT_EQ(log->seen[0].fired_at_us, kT0 + 4 * kSecond);
  EXPECT_EQ(alerter->ActiveAlerts().size(), 1u);
  EXPECT_GE(alerter->stats().evaluations, 9);
  EXPECT_EQ(alerter->stats().notified, 1);
}

TEST(LiveAlerterTest, ResolvesWhenTrafficRecoversAndClosesNotifiersOnStop) {
  FakeClock clock(0, kT0);
  auto log = std::make_shared<CapturingNotifier::Log>();
  auto alerter = MakeAlerter(SlowRule("0s"), &clock, log);
  alerter->Tick();
  alerter->Observe(Request(clock.WallNowUs() + 100'000, 300.0));
  clock.AdvanceMs(1300);
  alerter->Tick();  // boundary 1: fires
  for (int i = 0; i < 4; ++i) {
    alerter->Observe(Request(clock.WallNowUs(), 20.0));
    clock.AdvanceMs(1000);
    alerter->Tick();
  }
  alerter->Stop();
  std::lock_guard<std::mutex> lock(log->mu);
  ASSERT_EQ(log->seen.size(), 2u);
  EXPECT_EQ(log->seen[0].state, AlertState::kFiring);
  EXPECT_EQ(log->seen[1].state, AlertState::kResolved);
  EXPECT_EQ(log->seen[1].resolved_at_us, kT0 + 3 * kSecond);
  EXPECT_TRUE(log->closed);
}

TEST(LiveAlerterTest, CatchUpAfterAStallIsBounded) {
  FakeClock clock(0, kT0);
  auto log = std::make_shared<CapturingNotifier::Log>();
  LiveAlerterConfig config;
  config.max_catch_up = 5;
  auto alerter = MakeAlerter(SlowRule("0s"), &clock, log, config);
  alerter->Tick();
  clock.AdvanceMs(60'000);  // the process was suspended for a minute
  alerter->Tick();
  EXPECT_EQ(alerter->stats().evaluations, 6);  // the first boundary + 5
  EXPECT_EQ(alerter->stats().skipped_boundaries, 55);
}

TEST(LiveAlerterTest, AWallClockSteppedBackRestartsAtTheCurrentSecond) {
  constexpr int64_t kHourNs = 3'600'000'000'000;
  FakeClock clock(kHourNs, kT0 + 3600 * kSecond);  // wall time = kT0 + NowNs
  auto log = std::make_shared<CapturingNotifier::Log>();
  auto alerter = MakeAlerter(SlowRule("0s"), &clock, log);
  alerter->Tick();
  clock.SetNowNs(0);  // the wall clock is stepped back an hour
  clock.AdvanceMs(1500);
  alerter->Observe(Request(clock.WallNowUs(), 500.0));
  clock.AdvanceMs(1000);
  const auto t = alerter->Tick();  // evaluates second 2 of the new time line
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kFiring);
  EXPECT_EQ(t[0].fired_at_us, kT0 + 2 * kSecond);
}

TEST(LiveAlerterTest, OwnThreadEvaluatesWithARealClock) {
  RealClock clock;
  auto log = std::make_shared<CapturingNotifier::Log>();
  LiveAlerterConfig config;
  config.evaluation_delay_ms = 10;
  auto alerter = MakeAlerter(SlowRule("0s"), &clock, log, config);
  ASSERT_TRUE(alerter->Start().ok());
  EXPECT_FALSE(alerter->Start().ok());
  alerter->Observe(Request(clock.WallNowUs(), 500.0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool fired = false;
  while (!fired && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(log->mu);
    fired = !log->seen.empty();
  }
  EXPECT_TRUE(fired);
  const auto t0 = std::chrono::steady_clock::now();
  alerter->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  alerter->Stop();  // idempotent
}

TEST(LiveAlerterTest, RejectsBadConfig) {
  FakeClock clock;
  EXPECT_FALSE(LiveAlerter::Create(SlowRule("0s"), {}, nullptr, {}).ok());
  LiveAlerterConfig config;
  config.max_catch_up = 0;
  EXPECT_FALSE(LiveAlerter::Create(SlowRule("0s"), config, &clock, {}).ok());
}

TEST(AlertingConfigTest, AppliesTheYamlSection) {
  const YAML::Node node = YAML::Load(R"(alerts:
  enabled: true
  rules: my-rules.yaml
  params: {slo_p99_ms: 250}
  labels: {instance: box1}
  stderr: false
  evaluation_delay_ms: 300
  webhook:
    url: http://127.0.0.1:9/hook
    max_attempts: 3
  command:
    argv: [/bin/true, --flag]
    timeout_ms: 2000
)");
  AlertingConfig c;
  ASSERT_TRUE(ApplyAlertingConfigYaml(node["alerts"], "serve.yaml", &c).ok());
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.rules_path, "my-rules.yaml");
  EXPECT_EQ(c.params.at("slo_p99_ms"), 250);
  EXPECT_EQ(c.live.engine.external_labels.at("instance"), "box1");
  EXPECT_FALSE(c.stderr_lines);
  EXPECT_TRUE(c.log_records);
  EXPECT_EQ(c.live.evaluation_delay_ms, 300);
  EXPECT_EQ(c.webhook.url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(c.webhook.max_attempts, 3);
  EXPECT_EQ(c.webhook.timeout_ms, 5000);  // default kept
  EXPECT_EQ(c.command.argv, (std::vector<std::string>{"/bin/true", "--flag"}));
  EXPECT_EQ(c.command.timeout_ms, 2000);

  // Round trip through the emitter.
  YAML::Emitter e;
  EmitAlertingConfigYaml(c, &e);
  AlertingConfig again;
  ASSERT_TRUE(ApplyAlertingConfigYaml(YAML::Load(e.c_str()), "emitted", &again).ok()) << e.c_str();
  EXPECT_EQ(again.webhook.url, c.webhook.url);
  EXPECT_EQ(again.command.argv, c.command.argv);
  EXPECT_EQ(again.params, c.params);

  auto bad = ApplyAlertingConfigYaml(YAML::Load("enabled: true\nwebhok: {}\n"), "serve.yaml", &c);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("serve.yaml:2: alerts.webhok: unknown key"));
  auto type =
      ApplyAlertingConfigYaml(YAML::Load("webhook: {timeout_ms: soon}\n"), "serve.yaml", &c);
  ASSERT_FALSE(type.ok());
  EXPECT_THAT(type.message(), HasSubstr("serve.yaml:1: alerts.webhook.timeout_ms: wrong type"));
}

TEST(AlertingConfigTest, CreatesTheAlerterWithItsNotifiers) {
  FakeClock clock(0, kT0);
  AlertingConfig c;
  c.enabled = true;
  c.stderr_lines = false;
  c.params["slo_p99_ms"] = 10;
  std::vector<std::string> lines;
  auto alerter = CreateLiveAlerter(c, &clock, [&](std::string&& line) {
    lines.push_back(std::move(line));
    return true;
  });
  ASSERT_TRUE(alerter.ok()) << alerter.status().ToString();
  (*alerter)->Tick();
  // 100 requests at 50 ms: p99 50 ms > the 10 ms objective (for: 1m).
  for (int s = 0; s < 70; ++s) {
    for (int i = 0; i < 2; ++i) (*alerter)->Observe(Request(clock.WallNowUs(), 5.0, 50.0));
    clock.AdvanceMs(1000);
    (*alerter)->Tick();
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"rule\":\"YoloscopeLatencySloBreach\""));
  EXPECT_THAT(lines[0], HasSubstr("\"state\":\"firing\""));

  c.rules_path = "/nonexistent.yaml";
  auto missing = CreateLiveAlerter(c, &clock);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("alert rules"));
  c.rules_path.clear();
  c.webhook.url = "https://example.com/hook";
  auto https = CreateLiveAlerter(c, &clock);
  ASSERT_FALSE(https.ok());
  EXPECT_THAT(https.status().message(), HasSubstr("https is not supported"));
  c.webhook.url.clear();
  c.command.argv = {"no-such-command-xyz"};
  EXPECT_FALSE(CreateLiveAlerter(c, &clock).ok());
}

}  // namespace
}  // namespace yoloscope

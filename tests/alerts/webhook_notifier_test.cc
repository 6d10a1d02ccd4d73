// WebhookNotifier against a real HTTP receiver on 127.0.0.1.
#include "alerts/webhook_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "alerts/live_alerter.h"
#include "alerts/test_http_receiver.h"
#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::TestHttpReceiver;
using Ms = std::chrono::milliseconds;

AlertTransition Firing(const std::string& rule = "YoloscopeQueueLong") {
  AlertTransition t;
  t.state = AlertState::kFiring;
  t.rule = rule;
  t.severity = "warning";
  t.metric = "queue_len";
  t.aggregation = "mean";
  t.window_s = 30;
  t.comparator = ">";
  t.threshold = 10;
  t.value = 14.5;
  t.at_us = kT0 + 30 * kSecond;
  t.started_at_us = kT0;
  t.fired_at_us = t.at_us;
  t.labels = {{"alertname", rule}, {"severity", "warning"}};
  t.annotations = {{"summary", "14.5 requests waiting"}};
  return t;
}

WebhookNotifierConfig FastConfig(const std::string& url) {
  WebhookNotifierConfig c;
  c.url = url;
  c.timeout_ms = 2000;
  c.initial_backoff_ms = 20;
  c.max_backoff_ms = 80;
  c.close_timeout_ms = 3000;
  return c;
}

bool WaitFor(const std::function<bool()>& done, Ms timeout = Ms(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(Ms(5));
  }
  return true;
}

TEST(WebhookNotifierTest, DeliversAlertmanagerPayloads) {
  TestHttpReceiver receiver([](int) { return 200; });
  WebhookNotifierConfig c = FastConfig(receiver.url("/alerts/hook?x=1"));
  c.bearer_token = "s3cret";
  c.external_url = "http://box1:8080";
  auto n = WebhookNotifier::Create(c);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  AlertTransition resolved = Firing();
  resolved.state = AlertState::kResolved;
  resolved.resolved_at_us = kT0 + 90 * kSecond;
  AlertTransition pending = Firing();
  pending.state = AlertState::kPending;
  (*n)->Notify({Firing(), pending, resolved});  // pending is not sent
  ASSERT_TRUE(receiver.WaitForCount(2, Ms(5000)));
  (*n)->Close();
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/alerts/hook?x=1");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].authorization, "Bearer s3cret");
  const auto first = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(first["version"], "4");
  EXPECT_EQ(first["status"], "firing");
  EXPECT_EQ(first["externalURL"], "http://box1:8080");
  EXPECT_EQ(first["alerts"][0]["labels"]["alertname"], "YoloscopeQueueLong");
  const auto second = nlohmann::json::parse(got[1].body);  // in order
  EXPECT_EQ(second["status"], "resolved");
  EXPECT_EQ(second["alerts"][0]["endsAt"], "2026-01-01T00:01:30Z");
  const auto s = (*n)->stats();
  EXPECT_EQ(s.delivered, 2);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.retries, 0);
  EXPECT_EQ(s.queued, 0);
}

TEST(WebhookNotifierTest, RetriesAReceiverThatFailsFirst) {
  TestHttpReceiver receiver([](int i) { return i < 2 ? 503 : 200; });
  auto n = WebhookNotifier::Create(FastConfig(receiver.url()));
  ASSERT_TRUE(n.ok());
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().delivered == 1; }));
  const auto s = (*n)->stats();
  EXPECT_EQ(s.retries, 2);
  EXPECT_EQ(s.failed, 0);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body, got[2].body);  // the same payload again
}

TEST(WebhookNotifierTest, BoundedRetriesGiveUp) {
  TestHttpReceiver receiver([](int) { return 500; });
  WebhookNotifierConfig c = FastConfig(receiver.url());
  c.max_attempts = 3;
  auto n = WebhookNotifier::Create(c);
  ASSERT_TRUE(n.ok());
  const auto start = std::chrono::steady_clock::now();
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().failed == 1; }));
  // Backoff 20 ms then 40 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, Ms(60));
  EXPECT_EQ(receiver.count(), 3u);
  EXPECT_EQ((*n)->stats().retries, 2);
  EXPECT_EQ((*n)->stats().delivered, 0);
  EXPECT_EQ((*n)->stats().last_error, "HTTP 500");
  // The next payload is tried afresh.
  (*n)->Notify({Firing("Other")});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().failed == 2; }));
  EXPECT_EQ(receiver.count(), 6u);
}

TEST(WebhookNotifierTest, ClientErrorsAreNotRetried) {
  TestHttpReceiver receiver([](int) { return 400; });
  auto n = WebhookNotifier::Create(FastConfig(receiver.url()));
  ASSERT_TRUE(n.ok());
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().failed == 1; }));
  EXPECT_EQ(receiver.count(), 1u);
  EXPECT_EQ((*n)->stats().retries, 0);
}

TEST(WebhookNotifierTest, ConnectionRefusedIsRetriedThenGivenUp) {
  // A port nobody listens on: bind, read the port, close.
  int port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  WebhookNotifierConfig c = FastConfig("http://127.0.0.1:" + std::to_string(port) + "/hook");
  c.max_attempts = 2;
  auto n = WebhookNotifier::Create(c);
  ASSERT_TRUE(n.ok());
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().failed == 1; }));
  EXPECT_THAT((*n)->stats().last_error, HasSubstr("connect"));
  EXPECT_EQ((*n)->stats().retries, 1);
}

// A receiver that never answers: notifying and evaluating stay instant,
// attempts time out, a full queue drops the oldest, Close is bounded.
TEST(WebhookNotifierTest, AHungReceiverNeverBlocksTheCaller) {
  TestHttpReceiver receiver([](int) { return -1; });
  WebhookNotifierConfig c = FastConfig(receiver.url());
  c.timeout_ms = 300;
  c.max_attempts = 2;
  c.queue_capacity = 4;
  c.close_timeout_ms = 200;
  auto created = WebhookNotifier::Create(c);
  ASSERT_TRUE(created.ok());
  WebhookNotifier* n = created->get();

  // Through a LiveAlerter: Observe and Tick must not wait for the network.
  auto rules = RuleSet::LoadYaml(R"(rules:
  - {name: A, metric: inference_ms, aggregation: max, window: 1s, threshold: 1}
  - {name: B, metric: inference_ms, aggregation: max, window: 1s, threshold: 2}
  - {name: C, metric: inference_ms, aggregation: max, window: 1s, threshold: 3}
)",
                                 "hung.yaml");
  ASSERT_TRUE(rules.ok());
  FakeClock clock(0, kT0);
  std::vector<std::unique_ptr<AlertNotifier>> notifiers;
  notifiers.push_back(std::move(created).value());
  LiveAlerterConfig live;
  live.evaluation_delay_ms = 0;
  auto alerter = LiveAlerter::Create(*rules, live, &clock, std::move(notifiers));
  ASSERT_TRUE(alerter.ok());
  (*alerter)->Tick();
  auto max_tick = std::chrono::nanoseconds(0);
  for (int s = 0; s < 6; ++s) {  // fire, resolve, fire, ... : 3 payloads per second
    const auto t0 = std::chrono::steady_clock::now();
    (*alerter)->Observe(testing::Request(clock.WallNowUs(), s % 2 == 0 ? 10.0 : 0.5));
    clock.AdvanceMs(1000);
    const auto transitions = (*alerter)->Tick();
    max_tick = std::max(max_tick, std::chrono::steady_clock::now() - t0);
    EXPECT_EQ(transitions.size(), 3u) << s;
  }
  EXPECT_LT(max_tick, Ms(200));  // an attempt alone takes 300 ms
  ASSERT_TRUE(receiver.WaitForCount(1, Ms(2000)));
  const auto s = n->stats();
  EXPECT_GT(s.dropped, 0);  // 18 payloads into a queue of 4 behind a hung peer
  EXPECT_LE(s.queued, 5);
  const auto t0 = std::chrono::steady_clock::now();
  (*alerter)->Stop();  // closes the notifier: bounded by close_timeout_ms
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(1500));
}

TEST(WebhookNotifierTest, RejectsBadUrlsAndNumbers) {
  for (const char* url : {"", "ftp://x/", "https://x/hook", "http://", "http://host:0/",
                          "http://host:99999/", "http://host:abc/", "http://user@host/"}) {
    WebhookNotifierConfig c;
    c.url = url;
    EXPECT_FALSE(WebhookNotifier::Create(c).ok()) << url;
  }
  WebhookNotifierConfig c;
  c.url = "http://[::1]:9093/api";
  EXPECT_TRUE(WebhookNotifier::Create(c).ok());
  c.url = "http://localhost";
  EXPECT_TRUE(WebhookNotifier::Create(c).ok());
  c.max_attempts = 0;
  EXPECT_FALSE(WebhookNotifier::Create(c).ok());
}

}  // namespace
}  // namespace yoloscope

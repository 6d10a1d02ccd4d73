// Issue 19, results out: a real video made by ffmpeg from two real photos
// (1 s of horses.jpg, on which the generated yolov8n_320 model sees a "dog",
// then 1 s of person.jpg, on which it sees none), run through the real
// InferenceServer with the real ONNX model, into the stream's result sinks:
// a JSONL file, a webhook on a loopback HTTP receiver, a webhook that hangs
// or refuses; a detection rule ("dog in 3 consecutive frames") that fires
// and resolves through the alert notifiers; the live page's per-stream JSON;
// and configs refused with the key named.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "alerts/test_http_receiver.h"
#include "http/test_http_client.h"
#include "server/inference_server.h"
#include "testing/stream_server_fixture.h"
#include "testing/test_models.h"
#include "testing/test_videos.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using testing::TestHttpClient;
using testing::TestHttpReceiver;

constexpr int kFrames = 20;     // 10 with a dog, then 10 without
constexpr int kDogFrames = 10;  // frames 0..9

// A 640x424 H.264 video at 10 fps: 1 s of horses.jpg, then 1 s of person.jpg.
bool MakeDogThenPersonVideo(const std::string& path) {
  const std::string photos = testing::PhotosDir();
  const std::string cmd =
      "ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 10 -t 1 -i '" + photos +
      "/horses.jpg' -loop 1 -framerate 10 -t 1 -i '" + photos +
      "/person.jpg' -filter_complex "
      "\"[0]scale=640:424,setsar=1[a];[1]scale=640:424,setsar=1[b];[a][b]concat=n=2:v=1[v]\" "
      "-map \"[v]\" -c:v libx264 -preset ultrafast -crf 18 -pix_fmt yuv420p -g 10 '" +
      path + "'";
  return std::system(cmd.c_str()) == 0 && fs::exists(path);
}

bool HasClass(const Json& frame, const std::string& label, double min_score) {
  if (!frame.contains("detections")) return false;
  for (const Json& d : frame["detections"]) {
    if (d.at("label") == label && d.at("score").get<double>() >= min_score) return true;
  }
  return false;
}

std::vector<Json> ReadJsonl(const std::string& path) {
  std::vector<Json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(Json::parse(line));
  }
  return out;
}

class StreamResultsTest : public testing::StreamServerFixture {
 protected:
  void SetUp() override {
    SetUpStreamServer("stream_results");
    if (IsSkipped()) return;
    model_ = testing::ModelPath("yolov8n_320", "onnx");
    ASSERT_FALSE(model_.empty()) << "generated models missing in " << testing::ModelsDir();
    config_.service.backend.kind = "auto";  // the real ONNX model
    config_.service.backend.model_path = model_;
    config_.service.backend.num_threads = 1;
    config_.service.batcher.max_batch_size = 2;
    config_.service.batcher.max_queue_delay_us = 2000;
    config_.stream_stats_period_ms = 0;
    video_ = (dir_ / "dog_then_person.mp4").string();
    ASSERT_TRUE(MakeDogThenPersonVideo(video_)) << "ffmpeg failed for " << video_;
  }
  StreamConfig Clip(const std::string& name = "clip") {
    StreamConfig s;
    s.name = name;
    s.uri = video_;
    return s;
  }

  double Results(const std::string& stream, const std::string& sink, const std::string& outcome) {
    return Metric("yoloscope_stream_results_total{stream=\"" + stream + "\",sink=\"" + sink +
                  "\",outcome=\"" + outcome + "\"}");
  }

  Json LiveJson() {
    auto client = TestHttpClient::Connect(server_->port());
    EXPECT_TRUE(client.ok());
    if (!client.ok()) return Json();
    auto r = client->Request("GET", "/api/live", "", {});
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return Json();
    EXPECT_EQ(r->status, 200);
    return Json::parse(r->body);
  }

  std::string model_, video_;
};

TEST_F(StreamResultsTest, JsonlAndWebhookGetEveryFrameInOrderAndTheLivePageShowsTheStream) {
  TestHttpReceiver receiver([](int) { return 200; });
  StreamConfig s = Clip();
  s.results.jsonl = (dir_ / "clip-results.jsonl").string();
  s.results.webhook.url = receiver.url("/frames");
  s.results.webhook.bearer_token = "s3cret";
  config_.streams = {s};
  Start();
  ASSERT_TRUE(WaitFor([&] { return Results("clip", "jsonl", "written") >= kFrames; }))
      << server_->RenderMetrics();
  ASSERT_TRUE(WaitFor([&] { return Results("clip", "webhook", "written") >= kFrames; }))
      << server_->RenderMetrics();
  EXPECT_EQ(Frames("clip", "processed"), kFrames);
  EXPECT_EQ(Results("clip", "jsonl", "failed"), 0);
  EXPECT_EQ(Results("clip", "jsonl", "dropped"), 0);
  EXPECT_EQ(Results("clip", "webhook", "failed"), 0);
  EXPECT_EQ(Results("clip", "webhook", "dropped"), 0);

  // The live page's JSON: the stream with real numbers.
  const Json live = LiveJson();
  ASSERT_TRUE(live.contains("streams")) << live.dump();
  ASSERT_EQ(live["streams"].size(), 1u);
  const Json& st = live["streams"][0];
  EXPECT_EQ(st.at("name"), "clip");
  EXPECT_EQ(st.at("state"), "ended");
  EXPECT_EQ(st.at("frames_read"), kFrames);
  EXPECT_EQ(st.at("frames_processed"), kFrames);
  EXPECT_EQ(st.at("frames_dropped"), 0);
  EXPECT_EQ(st.at("reconnects"), 0);
  EXPECT_EQ(st.at("target_fps"), 0);
  EXPECT_NEAR(st.at("source_fps").get<double>(), 10.0, 0.01);
  ASSERT_TRUE(st.at("fps").is_number()) << st.dump();
  EXPECT_GT(st.at("fps").get<double>(), 0);
  ASSERT_TRUE(st.at("latency_p50_ms").is_number()) << st.dump();
  EXPECT_GT(st.at("latency_p50_ms").get<double>(), 0);
  EXPECT_GE(st.at("latency_p99_ms").get<double>(), st.at("latency_p50_ms").get<double>());
  EXPECT_EQ(st.at("recent_frames"), kFrames);
  EXPECT_EQ(st.at("results").at("jsonl").at("written"), kFrames);
  EXPECT_EQ(st.at("results").at("webhook").at("written"), kFrames);
  // The page itself has the panel the script fills.
  auto client = TestHttpClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  auto page = client->Request("GET", "/", "", {});
  ASSERT_TRUE(page.ok());
  EXPECT_NE(page->body.find("id=\"ys-streams-body\""), std::string::npos);

  server_->Shutdown(std::chrono::seconds(10));

  // JSONL: one line per frame, in frame order, the dog in the first 10.
  const auto lines = ReadJsonl(s.results.jsonl);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    const Json& l = lines[i];
    EXPECT_EQ(l.at("stream"), "clip");
    EXPECT_EQ(l.at("frame_index"), i);
    EXPECT_NEAR(l.at("pts_ms").get<double>(), 100.0 * i, 1.0);
    EXPECT_EQ(l.at("status"), "ok");
    EXPECT_EQ(l.at("width"), 640);
    EXPECT_EQ(l.at("height"), 424);
    EXPECT_TRUE(l.at("ts").get<std::string>().ends_with("Z"));
    EXPECT_GT(l.at("latency_ms").get<double>(), 0);
    ASSERT_FALSE(l.at("detections").empty()) << l.dump();
    for (const Json& d : l["detections"]) {
      EXPECT_EQ(d.at("box").size(), 4u);
      EXPECT_GE(d.at("score").get<double>(), 0.25);
    }
    EXPECT_EQ(HasClass(l, "dog", 0.4), i < kDogFrames) << l.dump();
  }

  // Webhook: every frame exactly once, in order, in {"stream","frames"} posts.
  std::vector<Json> posted;
  for (const auto& r : receiver.received()) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/frames");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.authorization, "Bearer s3cret");
    const Json body = Json::parse(r.body);
    EXPECT_EQ(body.at("stream"), "clip");
    for (const Json& f : body.at("frames")) posted.push_back(f);
  }
  ASSERT_EQ(posted.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(posted[i], lines[i]);
}

TEST_F(StreamResultsTest, DetectionRuleFiresOnceThroughTheNotifiersAndResolvesWhenTheDogLeaves) {
  TestHttpReceiver alerts([](int) { return 200; });
  StreamConfig s = Clip();
  s.results.jsonl = (dir_ / "clip-results.jsonl").string();
  config_.streams = {s};
  config_.alerts.enabled = true;
  config_.alerts.stderr_lines = false;
  config_.alerts.webhook.url = alerts.url("/alerts");
  DetectionRuleConfig rule;
  rule.name = "DogSeen";
  rule.class_name = "dog";
  rule.min_confidence = 0.4;
  rule.consecutive_frames = 3;
  rule.resolve_frames = 3;
  rule.streams = {"clip"};
  rule.severity = "critical";
  config_.alerts.detection_rules = {rule};
  // A second rule on a class the video never shows stays silent.
  DetectionRuleConfig never = rule;
  never.name = "GiraffeSeen";
  never.class_name = "giraffe";
  never.streams = {};
  config_.alerts.detection_rules.push_back(never);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Results("clip", "jsonl", "written") >= kFrames; }));
  ASSERT_TRUE(alerts.WaitForCount(2, milliseconds(10'000)));
  EXPECT_EQ(Metric("yoloscope_stream_detection_alerts_total{stream=\"clip\",rule=\"DogSeen\","
                   "state=\"firing\"}"),
            1);
  EXPECT_EQ(Metric("yoloscope_stream_detection_alerts_total{stream=\"clip\",rule=\"DogSeen\","
                   "state=\"resolved\"}"),
            1);
  EXPECT_EQ(Metric("yoloscope_stream_detection_alert_firing{stream=\"clip\",rule=\"DogSeen\"}"), 0);
  EXPECT_EQ(Metric("yoloscope_stream_detection_alerts_total{stream=\"clip\",rule=\"GiraffeSeen\","
                   "state=\"firing\"}"),
            -1);
  server_->Shutdown(std::chrono::seconds(10));

  const auto frames = ReadJsonl(s.results.jsonl);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kFrames));
  // Fires at the 3rd frame in a row with the dog, resolves at the 3rd without.
  const std::string fired_ts = frames[2].at("ts");
  const std::string resolved_ts = frames[kDogFrames + 2].at("ts");

  // The webhook notifier: Alertmanager payloads, one firing, one resolved.
  const auto received = alerts.received();
  ASSERT_EQ(received.size(), 2u);
  const Json firing = Json::parse(received[0].body);
  const Json resolved = Json::parse(received[1].body);
  EXPECT_EQ(firing.at("status"), "firing");
  EXPECT_EQ(resolved.at("status"), "resolved");
  for (const Json* p : {&firing, &resolved}) {
    const Json& a = p->at("alerts").at(0);
    EXPECT_EQ(a.at("labels").at("alertname"), "DogSeen");
    EXPECT_EQ(a.at("labels").at("stream"), "clip");
    EXPECT_EQ(a.at("labels").at("class"), "dog");
    EXPECT_EQ(a.at("labels").at("severity"), "critical");
    EXPECT_EQ(a.at("annotations").at("summary"), "dog in 3 consecutive frames of stream clip");
  }
  EXPECT_EQ(firing["alerts"][0].at("fingerprint"), resolved["alerts"][0].at("fingerprint"));

  // The log-record notifier: the same two transitions as `alert` records,
  // at the frames' capture times.
  std::vector<Json> records;
  for (const Json& r : ReadJsonl(config_.log.path)) {
    if (r.value("event", "") == "alert") records.push_back(r);
  }
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("state"), "firing");
  EXPECT_EQ(records[0].at("rule"), "DogSeen");
  EXPECT_EQ(records[0].at("metric"), "dog");
  EXPECT_EQ(records[0].at("aggregation"), "consecutive_frames");
  EXPECT_EQ(records[0].at("threshold"), 3);
  EXPECT_EQ(records[0].at("value"), 3);
  EXPECT_EQ(records[0].at("fired_at"), fired_ts);
  EXPECT_EQ(records[0].at("started_at"), frames[0].at("ts"));
  EXPECT_EQ(records[1].at("state"), "resolved");
  EXPECT_EQ(records[1].at("resolved_at"), resolved_ts);
  EXPECT_EQ(records[1].at("fired_at"), fired_ts);
  EXPECT_EQ(records[1].at("peak"), kDogFrames);
}

TEST_F(StreamResultsTest, HungAndRefusingWebhooksNeverHoldTheStreamAndAreCounted) {
  TestHttpReceiver hung([](int) { return -1; });  // reads the request, never answers
  StreamConfig a = Clip("hung");
  a.results.jsonl = (dir_ / "hung.jsonl").string();
  a.results.webhook.url = hung.url("/frames");
  a.results.webhook.timeout_ms = 60'000;  // held until Close cuts it
  a.results.webhook.max_attempts = 1;
  a.results.webhook.queue_capacity = 4;
  a.results.webhook.max_frames_per_post = 1;
  a.results.webhook.close_timeout_ms = 100;
  StreamConfig b = Clip("refused");
  b.results.webhook.url = "http://127.0.0.1:" + std::to_string(testing::FreePort(SOCK_STREAM)) +
                          "/frames";  // nothing listens
  b.results.webhook.max_attempts = 2;
  b.results.webhook.initial_backoff_ms = 10;
  b.results.webhook.max_backoff_ms = 10;
  config_.streams = {a, b};
  Start();
  // Every frame of both streams is processed and written to the file while
  // the hung receiver holds the first POST.
  ASSERT_TRUE(WaitFor([&] {
    return Frames("hung", "processed") >= kFrames && Frames("refused", "processed") >= kFrames &&
           Results("hung", "jsonl", "written") >= kFrames;
  })) << server_->RenderMetrics();
  ASSERT_TRUE(hung.WaitForCount(1, milliseconds(10'000)));
  EXPECT_EQ(hung.count(), 1u);  // still waiting for its answer
  EXPECT_EQ(Results("hung", "webhook", "written"), 0);
  EXPECT_EQ(Results("hung", "webhook", "failed"), 0);
  // One frame in the hung POST, queue_capacity waiting, the rest dropped.
  EXPECT_EQ(Results("hung", "webhook", "dropped"), kFrames - 1 - 4);
  EXPECT_EQ(Metric("yoloscope_stream_results_queued{stream=\"hung\",sink=\"webhook\"}"), 5);
  // The refused webhook: every frame failed or dropped, retried, never written.
  ASSERT_TRUE(WaitFor([&] {
    return Results("refused", "webhook", "failed") + Results("refused", "webhook", "dropped") >=
           kFrames;
  })) << server_->RenderMetrics();
  EXPECT_EQ(Results("refused", "webhook", "written"), 0);
  EXPECT_GE(Results("refused", "webhook", "failed"), 1);
  EXPECT_GE(Metric("yoloscope_stream_results_webhook_retries_total{stream=\"refused\"}"), 1);
  const Json live = LiveJson();
  ASSERT_EQ(live.at("streams").size(), 2u);
  EXPECT_NE(live["streams"][1].at("results").at("webhook").at("last_error").get<std::string>(), "");

  const auto closing = std::chrono::steady_clock::now();
  server_->Shutdown(std::chrono::seconds(10));
  // Close cut the hung POST (close_timeout_ms 100, not the 60 s timeout).
  EXPECT_LT(std::chrono::steady_clock::now() - closing, std::chrono::seconds(30));
  // Closed: what was left is counted as failed; every frame is accounted for.
  EXPECT_EQ(Results("hung", "webhook", "written") + Results("hung", "webhook", "failed") +
                Results("hung", "webhook", "dropped"),
            kFrames);
  EXPECT_EQ(ReadJsonl(a.results.jsonl).size(), static_cast<size_t>(kFrames));
}

TEST_F(StreamResultsTest, AClassTheModelDoesNotHaveIsRefusedAtStart) {
  config_.streams = {Clip()};
  config_.alerts.enabled = true;
  DetectionRuleConfig rule;
  rule.name = "DogSeen";
  rule.class_name = "dgo";
  config_.alerts.detection_rules = {rule};
  auto s = InferenceServer::Create(config_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("alerts.detection_rules[0] (DogSeen).class: 'dgo'"),
            std::string::npos)
      << s.status().ToString();
  // By id it is fine: 16 is "dog" in the model's (COCO) names.
  config_.alerts.detection_rules[0].class_name = "16";
  config_.alerts.stderr_lines = false;
  auto ok = InferenceServer::Create(config_);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

// Config errors name the key (no model or video needed).
TEST(StreamResultsConfigTest, BadConfigsAreRefusedWithTheKeyNamed) {
  auto load = [](const std::string& yaml) {
    ServeConfig c;
    c.service.backend.model_path = "m.onnx";
    Status st = LoadServeConfigYaml(yaml, "serve.yaml", &c);
    if (st.ok()) st = ValidateServeConfig(c);
    return st.ToString();
  };
  const std::string stream = "streams:\n  - name: door\n    uri: /data/door.mp4\n";
  EXPECT_NE(load(stream + "    results:\n      jsnl: /tmp/x.jsonl\n")
                .find("serve.yaml:5: unknown key 'streams[0].results.jsnl'"),
            std::string::npos);
  EXPECT_NE(load(stream + "    results:\n      webhook:\n        url: ftp://x/y\n")
                .find("streams[0] (door): results.webhook.url: url 'ftp://x/y': must start with "
                      "http://"),
            std::string::npos);
  EXPECT_NE(load(stream + "    results:\n      webhook:\n        url: http://h:1/x\n"
                          "        max_frames_per_post: 0\n")
                .find("streams[0] (door): results.webhook.max_frames_per_post must be in "
                      "1..10000, got 0"),
            std::string::npos);
  EXPECT_NE(load(stream + "    results:\n      webhook:\n        uri: http://h/x\n")
                .find("unknown key 'streams[0].results.webhook.uri'"),
            std::string::npos);
  const std::string rules = "alerts:\n  enabled: true\n  detection_rules:\n";
  EXPECT_NE(load(stream + rules + "    - {name: DogSeen, class: dog, consecutive_frames: 0}\n")
                .find("alerts.detection_rules[0] (DogSeen).consecutive_frames: must be in "
                      "1..1000000, got 0"),
            std::string::npos)
      << load(stream + rules + "    - {name: DogSeen, class: dog, consecutive_frames: 0}\n");
  EXPECT_NE(load(stream + rules + "    - {name: DogSeen, class: dog, frames: 3}\n")
                .find("alerts.detection_rules[0].frames: unknown key"),
            std::string::npos);
  EXPECT_NE(load(stream + rules + "    - {name: DogSeen, class: dog, streams: [gate]}\n")
                .find("alerts.detection_rules[0] (DogSeen).streams: no stream named 'gate'"),
            std::string::npos);
  EXPECT_NE(load(stream + rules + "    - {name: DogSeen}\n")
                .find("alerts.detection_rules[0] (DogSeen).class: is required"),
            std::string::npos);
  EXPECT_NE(load(stream + rules + "    - {name: DogSeen, class: dog, min_confidence: 2}\n")
                .find("alerts.detection_rules[0] (DogSeen).min_confidence: must be in 0..1"),
            std::string::npos);
  EXPECT_NE(load(stream + "alerts:\n  detection_rules:\n    - {name: DogSeen, class: dog}\n")
                .find("alerts.detection_rules: needs alerts.enabled: true"),
            std::string::npos);
  // A good config round-trips through --print-config's YAML.
  ServeConfig c;
  c.service.backend.model_path = "m.onnx";
  ASSERT_TRUE(LoadServeConfigYaml(stream +
                                      "    results:\n      jsonl: /tmp/door.jsonl\n"
                                      "      webhook: {url: 'http://127.0.0.1:9/f', "
                                      "max_frames_per_post: 4}\n" +
                                      rules +
                                      "    - {name: DogSeen, class: dog, consecutive_frames: 5, "
                                      "streams: [door], labels: {team: a}}\n",
                                  "serve.yaml", &c)
                  .ok());
  ASSERT_TRUE(ValidateServeConfig(c).ok());
  ServeConfig again;
  ASSERT_TRUE(LoadServeConfigYaml(ServeConfigToYaml(c), "printed", &again).ok())
      << ServeConfigToYaml(c);
  ASSERT_EQ(again.streams.size(), 1u);
  EXPECT_EQ(again.streams[0].results.jsonl, "/tmp/door.jsonl");
  EXPECT_EQ(again.streams[0].results.webhook.url, "http://127.0.0.1:9/f");
  EXPECT_EQ(again.streams[0].results.webhook.max_frames_per_post, 4);
  ASSERT_EQ(again.alerts.detection_rules.size(), 1u);
  EXPECT_EQ(again.alerts.detection_rules[0].consecutive_frames, 5);
  EXPECT_EQ(again.alerts.detection_rules[0].streams, std::vector<std::string>{"door"});
  EXPECT_EQ(again.alerts.detection_rules[0].labels.at("team"), "a");
}

}  // namespace
}  // namespace yoloscope

// Issue 19: video streams in `serve`, on real streams made and sent by
// ffmpeg over loopback, into the real InferenceServer (the `sim` backend: a
// model of known speed, no model file). Every frame read is a request
// record or counted (dropped / skipped); a slow model drops frames with a
// bounded queue; a live source that stops and comes back is reconnected;
// bad sources are reported while HTTP keeps answering; several streams
// share batches with each other and with HTTP requests.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "http/test_http_client.h"
#include "server/inference_server.h"
#include "testing/serve_child.h"
#include "testing/stream_server_fixture.h"
#include "testing/test_videos.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using testing::TestHttpClient;

class StreamServeTest : public testing::StreamServerFixture {
 protected:
  void SetUp() override {
    SetUpStreamServer("stream_serve");
    if (IsSkipped()) return;
    config_.stream_stats_period_ms = 200;
    SimModel(10, 5);
  }
  std::vector<Json> StopAndReadLog() {
    server_->Shutdown(std::chrono::seconds(10));
    std::vector<Json> records;
    std::ifstream in(config_.log.path);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) records.push_back(Json::parse(line));
    }
    return records;
  }

  static std::vector<Json> Select(const std::vector<Json>& records, const std::string& event,
                                  const std::string& stream = "") {
    std::vector<Json> out;
    for (const Json& r : records) {
      if (r.value("event", "") != event) continue;
      if (!stream.empty() && r.value("stream", "") != stream) continue;
      out.push_back(r);
    }
    return out;
  }
};

TEST_F(StreamServeTest, FileStreamGivesOneRecordPerFrame) {
  StreamConfig s;
  s.name = "clip";
  s.uri = Video("clip.mp4", 2);
  config_.streams = {s};
  Start();
  ASSERT_TRUE(
      WaitFor([&] { return Frames("clip", "processed") + Frames("clip", "failed") >= 50; }));
  // HTTP keeps answering beside the stream.
  auto client = TestHttpClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  auto health = client->Request("GET", "/metrics", "", {});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find("yoloscope_stream_frames_read_total{stream=\"clip\"} 50"),
            std::string::npos);
  EXPECT_NE(health->body.find("yoloscope_stream_frame_latency_seconds_count{stream=\"clip\"} 50"),
            std::string::npos);

  const auto records = StopAndReadLog();
  const auto frames = Select(records, "request", "clip");
  ASSERT_EQ(frames.size(), 50u);
  std::set<int64_t> indices;
  for (const Json& r : frames) {
    indices.insert(r.at("frame_index").get<int64_t>());
    EXPECT_EQ(r.at("status"), "ok");
    EXPECT_EQ(r.at("protocol"), "stream");
    EXPECT_EQ(r.at("input_w"), 320);
    EXPECT_EQ(r.at("input_h"), 240);
    EXPECT_NEAR(r.at("pts_ms").get<double>(), 40.0 * r.at("frame_index").get<double>(), 1.0);
    for (const char* key : {"decode_ms", "preprocess_ms", "queue_ms", "inference_ms",
                            "postprocess_ms", "total_ms", "batch_id", "batch_size"}) {
      EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
    }
    EXPECT_EQ(r.at("backend"), "sim");
    EXPECT_FALSE(r.at("device").get<std::string>().empty());
    EXPECT_TRUE(r.contains("gpu_id"));
  }
  EXPECT_EQ(indices.size(), 50u);
  EXPECT_EQ(*indices.rbegin(), 49);
  const auto stats = Select(records, "stream", "clip");
  ASSERT_FALSE(stats.empty());
  const Json& last = stats.back();
  EXPECT_EQ(last.at("state"), "ended");
  EXPECT_EQ(last.at("frames_read"), 50);
  EXPECT_EQ(last.at("frames_processed"), 50);
  EXPECT_EQ(last.at("frames_dropped"), 0);
  EXPECT_EQ(last.at("frames_in_flight"), 0);
  EXPECT_TRUE(last.at("codec") == "avc1" || last.at("codec") == "h264") << last.dump();
}

// Every `stream` record: read == processed + failed + dropped + skipped +
// queued + in flight.
void ExpectBalanced(const std::vector<Json>& stream_records) {
  for (const Json& r : stream_records) {
    EXPECT_EQ(r.at("frames_read").get<int64_t>(),
              r.at("frames_processed").get<int64_t>() + r.at("frames_failed").get<int64_t>() +
                  r.at("frames_dropped").get<int64_t>() + r.at("frames_skipped").get<int64_t>() +
                  r.at("frames_queued").get<int64_t>() + r.at("frames_in_flight").get<int64_t>())
        << r.dump();
  }
}

TEST_F(StreamServeTest, LiveSourceFasterThanTheModelDropsAndCountsFrames) {
  // The model takes 100 ms a frame (10 fps); the camera sends 25 fps.
  SimModel(100, 0);
  config_.service.batcher.max_batch_size = 1;
  const std::string video = Video("live.mp4", 3);
  const int port = testing::FreePort();
  StreamConfig s;
  s.name = "cam";
  s.uri = "udp://127.0.0.1:" + std::to_string(port);
  s.queue_size = 2;
  s.max_in_flight = 1;
  s.read_timeout_ms = 1500;
  s.max_reconnects = 0;  // when the sender stops, the stream ends
  config_.streams = {s};
  Start();
  testing::ServeChild sender(testing::UdpSenderArgs(video, port));
  EXPECT_EQ(sender.Wait(), 0) << sender.Stderr();
  ASSERT_TRUE(WaitFor(
      [&] {
        return Metric("yoloscope_stream_up{stream=\"cam\"}") == 0 && Frames("cam", "processed") > 0;
      },
      milliseconds(30'000)));
  const auto records = StopAndReadLog();
  const auto frames = Select(records, "request", "cam");
  const auto stats = Select(records, "stream", "cam");
  ASSERT_FALSE(stats.empty());
  ExpectBalanced(stats);
  const Json& last = stats.back();
  std::cout << "last stream record: " << last.dump() << "\n";
  const int64_t read = last.at("frames_read");
  const int64_t dropped = last.at("frames_dropped");
  EXPECT_GT(read, 40) << last.dump();  // most of the 75 frames arrive over loopback
  EXPECT_GT(dropped, read / 3) << last.dump();
  EXPECT_EQ(static_cast<int64_t>(frames.size()) + dropped, read) << last.dump();
  EXPECT_EQ(last.at("frames_skipped"), 0);
  for (const Json& r : stats) EXPECT_LE(r.at("frames_queued").get<int64_t>(), 2);
  // Bounded latency: at most the queue (2) + the frame in flight ahead of a
  // frame, at 100 ms each, plus slack for a loaded 2-core machine.
  double worst_ms = 0;
  for (const Json& r : frames) worst_ms = std::max(worst_ms, r.at("total_ms").get<double>());
  EXPECT_LT(worst_ms, 1500.0);
  EXPECT_EQ(last.at("state"), "failed");
  EXPECT_NE(last.at("error").get<std::string>().find("gave up after 0 reconnects"),
            std::string::npos);
}

TEST_F(StreamServeTest, LiveSourceThatStopsAndRestartsIsReconnected) {
  const std::string video = Video("live.mp4", 2);
  const int port = testing::FreePort();
  StreamConfig s;
  s.name = "cam";
  s.uri = "udp://127.0.0.1:" + std::to_string(port);
  s.read_timeout_ms = 800;
  s.reconnect_min_ms = 100;
  s.reconnect_max_ms = 200;
  config_.streams = {s};
  Start();
  {
    testing::ServeChild first(testing::UdpSenderArgs(video, port));
    EXPECT_EQ(first.Wait(), 0) << first.Stderr();
  }
  // The stream notices the silence and starts reconnecting.
  ASSERT_TRUE(
      WaitFor([&] { return Metric("yoloscope_stream_reconnects_total{stream=\"cam\"}") >= 1; },
              milliseconds(15'000)));
  const double processed_before = Frames("cam", "processed");
  EXPECT_GT(processed_before, 0);
  {
    testing::ServeChild second(testing::UdpSenderArgs(video, port));
    EXPECT_EQ(second.Wait(), 0) << second.Stderr();
  }
  ASSERT_TRUE(WaitFor([&] { return Frames("cam", "processed") > processed_before + 10; },
                      milliseconds(15'000)));
  const auto records = StopAndReadLog();
  const auto stats = Select(records, "stream", "cam");
  ExpectBalanced(stats);
  // running -> reconnecting -> ... -> running again.
  bool reconnecting = false, running_again = false;
  for (const Json& r : stats) {
    if (r.at("state") == "reconnecting") reconnecting = true;
    if (reconnecting && r.at("state") == "running") running_again = true;
  }
  EXPECT_TRUE(reconnecting);
  EXPECT_TRUE(running_again);
  EXPECT_GE(stats.back().at("reconnects").get<int64_t>(), 1);
  EXPECT_EQ(static_cast<int64_t>(Select(records, "request", "cam").size()) +
                stats.back().at("frames_dropped").get<int64_t>(),
            stats.back().at("frames_read").get<int64_t>());
}

TEST_F(StreamServeTest, BadSourcesAreReportedWhileHttpKeepsServing) {
  const std::string garbage = (dir_ / "garbage.mkv").string();
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 50000; ++i) out.put(static_cast<char>((i * 7919 + 13) & 0xFF));
  }
  StreamConfig missing, junk, unreachable, good;
  missing.name = "missing";
  missing.uri = (dir_ / "nope.mp4").string();
  junk.name = "junk";
  junk.uri = garbage;
  unreachable.name = "unreachable";
  unreachable.uri =
      "http://127.0.0.1:" + std::to_string(testing::FreePort(SOCK_STREAM)) + "/cam.mjpg";
  unreachable.reconnect_min_ms = 50;
  unreachable.reconnect_max_ms = 100;
  unreachable.max_reconnects = 2;
  good.name = "good";
  good.uri = Video("good.mp4", 1);
  config_.streams = {missing, junk, unreachable, good};
  Start();
  ASSERT_TRUE(WaitFor([&] {
    return Metric("yoloscope_stream_reconnects_total{stream=\"unreachable\"}") >= 2 &&
           Frames("good", "processed") >= 25;
  }));
  // The server answers HTTP throughout: a real image through /v1/detect.
  const std::string jpeg = (dir_ / "frame.jpg").string();
  ASSERT_EQ(std::system(("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=320x240 "
                         "-frames:v 1 '" +
                         jpeg + "'")
                            .c_str()),
            0);
  std::ifstream in(jpeg, std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto client = TestHttpClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  auto r = client->Request("POST", "/v1/detect", body, {{"Content-Type", "image/jpeg"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Metric("yoloscope_stream_up{stream=\"missing\"}"), 0);

  const auto records = StopAndReadLog();
  auto last_of = [&](const std::string& name) {
    const auto stats = Select(records, "stream", name);
    return stats.empty() ? Json::object() : stats.back();
  };
  EXPECT_EQ(last_of("missing").value("state", ""), "failed");
  EXPECT_NE(last_of("missing").value("error", "").find("no such file"), std::string::npos);
  EXPECT_EQ(last_of("junk").value("state", ""), "failed");
  EXPECT_NE(last_of("junk").value("error", "").find("garbage.mkv"), std::string::npos);
  EXPECT_EQ(last_of("unreachable").value("state", ""), "failed");
  EXPECT_NE(last_of("unreachable").value("error", "").find("gave up after 2 reconnects"),
            std::string::npos);
  EXPECT_EQ(last_of("good").value("frames_processed", -1), 25);
  EXPECT_EQ(Select(records, "request", "good").size(), 25u);
}

TEST_F(StreamServeTest, FourStreamsShareBatchesWithEachOtherAndHttp) {
  // 30 ms + 2 ms per image, batches of up to 8 formed within 20 ms.
  SimModel(30, 2);
  config_.service.batcher.max_batch_size = 8;
  config_.service.batcher.max_queue_delay_us = 20'000;
  const std::string video = Video("shared.mp4", 2);
  std::vector<StreamConfig> streams;
  for (int i = 0; i < 4; ++i) {
    StreamConfig s;
    s.name = "cam" + std::to_string(i);
    s.uri = video;
    s.max_in_flight = 1;
    streams.push_back(s);
  }
  config_.streams = streams;
  const std::string jpeg = (dir_ / "frame.jpg").string();
  ASSERT_EQ(std::system(("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=320x240 "
                         "-frames:v 1 '" +
                         jpeg + "'")
                            .c_str()),
            0);
  std::ifstream in(jpeg, std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Start();
  // HTTP requests while the streams run.
  auto client = TestHttpClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 8; ++i) {
    auto r = client->Request("POST", "/v1/detect", body, {{"Content-Type", "image/jpeg"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
  }
  ASSERT_TRUE(WaitFor([&] {
    double done = 0;
    for (int i = 0; i < 4; ++i) done += Frames("cam" + std::to_string(i), "processed");
    return done >= 200;
  }));
  const auto records = StopAndReadLog();
  std::map<int64_t, std::set<std::string>> sources_by_batch;  // batch -> streams ("" = http)
  int stream_records = 0;
  for (const Json& r : Select(records, "request")) {
    if (!r.contains("batch_id")) continue;
    sources_by_batch[r.at("batch_id").get<int64_t>()].insert(r.value("stream", ""));
    if (r.contains("stream")) ++stream_records;
  }
  EXPECT_EQ(stream_records, 200);
  size_t most_streams = 0;
  bool http_with_stream = false;
  for (const auto& [batch, sources] : sources_by_batch) {
    const size_t streams_in = sources.size() - sources.count("");
    most_streams = std::max(most_streams, streams_in);
    if (sources.count("") && streams_in > 0) http_with_stream = true;
  }
  EXPECT_GE(most_streams, 3u) << "no batch held frames of three or more streams";
  EXPECT_TRUE(http_with_stream) << "no batch held an HTTP request and a stream frame";
}

}  // namespace
}  // namespace yoloscope

// StreamSource on real videos made by ffmpeg at test time: every frame of a
// file, fps sampling, the bounded drop-oldest queue, and clear errors for a
// missing file, a garbage file and an unreachable network source.
#include "stream/stream_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "stream/video_reader.h"
#include "testing/serve_child.h"
#include "testing/test_videos.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class StreamSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if !YOLOSCOPE_HAVE_OPENCV
    GTEST_SKIP() << "this build has no video support (YOLOSCOPE_USE_OPENCV=OFF)";
#endif
    if (!testing::HaveFfmpeg()) GTEST_SKIP() << "ffmpeg not installed (scripts/setup.sh)";
    dir_ = fs::temp_directory_path() /
           ("ys_stream_source_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Takes frames until the source finishes (bounded by `limit`).
  static std::vector<VideoFrame> Drain(StreamSource* source,
                                       milliseconds per_frame = milliseconds(0),
                                       milliseconds limit = milliseconds(30'000)) {
    std::vector<VideoFrame> frames;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!source->finished() && std::chrono::steady_clock::now() < deadline) {
      auto frame = source->Next(milliseconds(50));
      if (!frame) continue;
      frames.push_back(std::move(*frame));
      if (per_frame.count() > 0) std::this_thread::sleep_for(per_frame);
    }
    return frames;
  }

  // Creates a source for `c`, starts it and waits for its final state
  // (WaitForEnd); its stats.
  StreamSourceStats RunToEnd(const StreamConfig& c);

  fs::path dir_;
  RealClock clock_;
};

TEST_F(StreamSourceTest, FileDeliversEveryFrameInOrder) {
  const std::string video = (dir_ / "clip.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25));
  StreamConfig c;
  c.name = "file";
  c.uri = video;
  c.queue_size = 2;  // smaller than the file: the reader must wait, not drop
  std::vector<StreamEvent> events;
  auto source =
      StreamSource::Create(c, &clock_, [&](const StreamEvent& e) { events.push_back(e); });
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->drop_policy(), FrameDropPolicy::kBlock);
  (*source)->Start();
  // A consumer slower than decoding.
  auto frames = Drain(source->get(), milliseconds(2));
  ASSERT_EQ(frames.size(), 50u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(frames[i].rgb.width, 320);
    EXPECT_EQ(frames[i].rgb.height, 240);
    ASSERT_TRUE(frames[i].pts_ms.has_value());
    EXPECT_NEAR(*frames[i].pts_ms, 40.0 * static_cast<double>(i), 1.0);
    EXPECT_GT(frames[i].capture_ns, 0);
    EXPECT_EQ(frames[i].connection, 1);
  }
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.state, StreamState::kEnded);
  EXPECT_EQ(st.frames_read, 50);
  EXPECT_EQ(st.frames_delivered, 50);
  EXPECT_EQ(st.frames_dropped, 0);
  EXPECT_EQ(st.frames_skipped, 0);
  EXPECT_EQ(st.width, 320);
  EXPECT_NEAR(st.source_fps, 25.0, 0.01);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().state, StreamState::kRunning);
  EXPECT_EQ(events.back().state, StreamState::kEnded);
}

TEST_F(StreamSourceTest, TargetFpsSamplesByPresentationTime) {
  const std::string video = (dir_ / "clip.mkv").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25));
  StreamConfig c;
  c.name = "sampled";
  c.uri = video;
  c.target_fps = 5;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  auto frames = Drain(source->get());
  // 2 s at 5 fps: frames at 0, 200, ..., 1800 ms.
  ASSERT_EQ(frames.size(), 10u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_NEAR(*frames[i].pts_ms, 200.0 * static_cast<double>(i), 1.0);
    EXPECT_EQ(frames[i].index, static_cast<int64_t>(5 * i));
  }
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, 50);
  EXPECT_EQ(st.frames_skipped, 40);
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

TEST_F(StreamSourceTest, RawStreamWithoutTimestampsIsSampledByFrameRate) {
  // A raw H.264 elementary stream: no container timestamps.
  const std::string video = (dir_ / "raw.h264").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25, 160, 120,
                                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -f h264"));
  StreamConfig c;
  c.name = "raw";
  c.uri = video;
  c.target_fps = 5;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  auto frames = Drain(source->get());
  ASSERT_EQ(frames.size(), 10u) << (*source)->Stats().error;
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].index, static_cast<int64_t>(5 * i));
  }
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, 50);
  EXPECT_EQ(st.frames_skipped, 40);
}

TEST_F(StreamSourceTest, DropOldestKeepsTheNewestFramesAndCountsTheRest) {
  const std::string video = (dir_ / "clip.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25));
  StreamConfig c;
  c.name = "lossy";
  c.uri = video;
  c.queue_size = 3;
  c.drop_policy = FrameDropPolicy::kDropOldest;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  // Nobody takes frames until the file has been read: the queue never holds
  // more than 3.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*source)->Stats().state != StreamState::kEnded &&
         std::chrono::steady_clock::now() < deadline) {
    EXPECT_LE((*source)->Stats().queued, 3);
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto frames = Drain(source->get());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].index, 47);
  EXPECT_EQ(frames[2].index, 49);
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, 50);
  EXPECT_EQ(st.frames_dropped, 47);
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

// Stats() balances in every snapshot, not only at the end: read ==
// skipped + dropped + delivered + queued while the reader skips, queues and
// drops frames and the consumer takes them. A frame once counted as read
// when decoded and as queued when pushed was in neither for a moment, and a
// serve stream record said 48 read against 47 accounted for.
TEST_F(StreamSourceTest, EveryStatsSnapshotBalancesWhileFramesMove) {
  const std::string video = (dir_ / "clip.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 4, 25));
  StreamConfig c;
  c.name = "moving";
  c.uri = video;
  c.queue_size = 2;
  c.drop_policy = FrameDropPolicy::kDropOldest;
  c.target_fps = 20;  // skips one frame in five
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  std::atomic<bool> done{false};
  int64_t samples = 0, unbalanced = 0;
  std::string example;
  std::thread sampler([&] {
    while (!done.load()) {
      const StreamSourceStats st = (*source)->Stats();
      ++samples;
      if (st.frames_read !=
              st.frames_skipped + st.frames_dropped + st.frames_delivered + st.queued &&
          unbalanced++ == 0) {
        example = std::to_string(st.frames_read) + " read, " + std::to_string(st.frames_skipped) +
                  " skipped, " + std::to_string(st.frames_dropped) + " dropped, " +
                  std::to_string(st.frames_delivered) + " delivered, " + std::to_string(st.queued) +
                  " queued";
      }
    }
  });
  (*source)->Start();
  const auto frames = Drain(source->get(), milliseconds(2));
  done = true;
  sampler.join();
  EXPECT_GT(samples, 100);
  EXPECT_EQ(unbalanced, 0) << "of " << samples << " snapshots, e.g. " << example;
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, 100);
  EXPECT_EQ(st.frames_skipped, 20);
  EXPECT_EQ(st.frames_delivered, static_cast<int64_t>(frames.size()));
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

TEST_F(StreamSourceTest, RealtimeFileIsDeliveredAtItsFrameRate) {
  const std::string video = (dir_ / "clip.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 1, 25));
  StreamConfig c;
  c.name = "camera_like";
  c.uri = video;
  c.realtime = true;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  auto frames = Drain(source->get());
  ASSERT_EQ(frames.size(), 25u);
  // Frame 24 is presented 960 ms after frame 0, and captured about then.
  const double span_ms =
      static_cast<double>(frames.back().capture_ns - frames.front().capture_ns) / 1e6;
  EXPECT_GT(span_ms, 900.0);
  EXPECT_LT(span_ms, 1500.0);
}

TEST_F(StreamSourceTest, StopCountsQueuedFramesAsDropped) {
  const std::string video = (dir_ / "clip.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 2, 25));
  StreamConfig c;
  c.name = "stopped";
  c.uri = video;
  c.queue_size = 4;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  auto first = (*source)->Next(milliseconds(10'000));
  ASSERT_TRUE(first.has_value());
  // The reader now waits for room (block policy) with 4 frames queued.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*source)->Stats().queued < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  (*source)->Stop();
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.state, StreamState::kStopped);
  EXPECT_EQ(st.queued, 0);
  EXPECT_EQ(st.frames_delivered, 1);
  EXPECT_GE(st.frames_dropped, 4);
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
  EXPECT_TRUE((*source)->finished());
}

// Waits for the source to reach a final state; its stats.
StreamSourceStats WaitForEnd(StreamSource* source) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!source->finished() && std::chrono::steady_clock::now() < deadline) {
    (void)source->Next(milliseconds(20));
  }
  return source->Stats();
}

StreamSourceStats StreamSourceTest::RunToEnd(const StreamConfig& c) {
  auto source = StreamSource::Create(c, &clock_);
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  if (!source.ok()) return {};
  (*source)->Start();
  return WaitForEnd(source->get());
}

TEST_F(StreamSourceTest, MissingFileFailsWithAClearError) {
  StreamConfig c;
  c.name = "missing";
  c.uri = (dir_ / "nope.mp4").string();
  const StreamSourceStats st = RunToEnd(c);
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_NE(st.error.find("no such file"), std::string::npos) << st.error;
  EXPECT_EQ(st.frames_read, 0);
}

TEST_F(StreamSourceTest, GarbageFileFailsWithAClearError) {
  const std::string path = (dir_ / "garbage.mp4").string();
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 20000; ++i) out.put(static_cast<char>((i * 7919) & 0xFF));
  }
  StreamConfig c;
  c.name = "garbage";
  c.uri = path;
  const StreamSourceStats st = RunToEnd(c);
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_TRUE(st.error.find("cannot open video") != std::string::npos ||
              st.error.find("no decodable frame") != std::string::npos)
      << st.error;
  EXPECT_EQ(st.frames_read, 0);
}

// A raw H.264 stream whose keyframes were lost: FFmpeg opens it, but no
// frame can be decoded without one.
TEST_F(StreamSourceTest, FileThatNeverSendsAKeyframeFailsWithAClearError) {
  const std::string raw = (dir_ / "gop.h264").string();
  const std::string nokey = (dir_ / "nokey.h264").string();
  ASSERT_TRUE(testing::MakeTestVideo(raw, 2, 25, 160, 120,
                                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p "
                                     "-g 1000 -bf 0 -f h264"));
  ASSERT_TRUE(testing::StripH264Keyframes(raw, nokey));
  StreamConfig c;
  c.name = "nokey";
  c.uri = nokey;
  const StreamSourceStats st = RunToEnd(c);
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_NE(st.error.find("has no decodable frame"), std::string::npos) << st.error;
  EXPECT_EQ(st.frames_read, 0);
}

// The same stream live (MPEG-TS over UDP, looping): the source is reachable
// and sends packets, but no frame comes out, so each connection times out
// and is retried, and the stream gives up after max_reconnects.
TEST_F(StreamSourceTest, LiveSourceThatNeverSendsAKeyframeIsRetriedThenGivesUp) {
  const std::string raw = (dir_ / "gop.h264").string();
  const std::string nokey = (dir_ / "nokey.h264").string();
  ASSERT_TRUE(testing::MakeTestVideo(raw, 2, 25, 160, 120,
                                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p "
                                     "-g 1000 -bf 0 -f h264"));
  ASSERT_TRUE(testing::StripH264Keyframes(raw, nokey));
  const int port = testing::FreePort();
  std::vector<std::string> sender = {
      "ffmpeg", "-nostdin", "-loglevel",
      "quiet",  "-re",      "-stream_loop",
      "-1",     "-f",       "h264",
      "-r",     "25",       "-i",
      nokey,    "-c",       "copy",
      "-f",     "mpegts",   "udp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1316"};
  testing::ServeChild camera(sender);
  StreamConfig c;
  c.name = "nokey_live";
  c.uri = "udp://127.0.0.1:" + std::to_string(port);
  c.open_timeout_ms = 1500;
  c.read_timeout_ms = 1000;
  c.reconnect_min_ms = 50;
  c.reconnect_max_ms = 100;
  c.max_reconnects = 1;
  const StreamSourceStats st = RunToEnd(c);
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_EQ(st.reconnects, 1);
  EXPECT_NE(st.error.find("gave up after 1 reconnects"), std::string::npos) << st.error;
  EXPECT_EQ(st.frames_read, 0);
}

// A file whose header declares a frame rate of 0 (YUV4MPEG2 `F0:0`).
// FFmpeg's demuxers substitute their default rate (25 fps) rather than
// report 0, so the file is read whole and sampled at that rate; the
// "reports no frame rate" refusal is for readers that do report 0. What
// matters here: no hang, no division by zero, every frame accounted for.
TEST_F(StreamSourceTest, FileDeclaringZeroFpsIsReadWholeAndAccountedFor) {
  const std::string y4m = (dir_ / "clip.y4m").string();
  const std::string zero = (dir_ / "zero.y4m").string();
  ASSERT_TRUE(testing::MakeTestVideo(y4m, 1, 25, 160, 120, "-pix_fmt yuv420p"));
  ASSERT_TRUE(testing::ZeroY4mFrameRate(y4m, zero));
  StreamConfig c;
  c.name = "zero_fps";
  c.uri = zero;
  c.target_fps = 5;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  const auto frames = Drain(source->get());
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.state, StreamState::kEnded) << st.error;
  EXPECT_EQ(st.frames_read, 25);
  EXPECT_EQ(st.source_fps, 25);
  EXPECT_EQ(static_cast<int64_t>(frames.size()), st.frames_delivered);
  EXPECT_EQ(frames.size(), 5u);
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

TEST_F(StreamSourceTest, UnreachableLiveSourceRetriesWithBackoffThenGivesUp) {
  // Nothing listens on this TCP port: every open is refused at once.
  const int port = testing::FreePort(SOCK_STREAM);
  StreamConfig c;
  c.name = "unreachable";
  c.uri = "http://127.0.0.1:" + std::to_string(port) + "/cam.ts";
  c.open_timeout_ms = 2000;
  c.reconnect_min_ms = 50;
  c.reconnect_max_ms = 100;
  c.max_reconnects = 2;
  std::vector<StreamState> states;
  auto source =
      StreamSource::Create(c, &clock_, [&](const StreamEvent& e) { states.push_back(e.state); });
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->drop_policy(), FrameDropPolicy::kDropOldest);
  (*source)->Start();
  const StreamSourceStats st = WaitForEnd(source->get());
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_EQ(st.reconnects, 2);
  EXPECT_NE(st.error.find("cannot open stream http://127.0.0.1:"), std::string::npos) << st.error;
  EXPECT_NE(st.error.find("gave up after 2 reconnects"), std::string::npos) << st.error;
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[0], StreamState::kReconnecting);
  EXPECT_EQ(states[2], StreamState::kFailed);
}

TEST_F(StreamSourceTest, HttpMjpegSourceIsRead) {
  const std::string video = (dir_ / "cam.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 4, 25));
  const int port = testing::FreePort(SOCK_STREAM);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/cam.mjpg";
  // ffmpeg as an MJPEG-over-HTTP camera (multipart/x-mixed-replace), in real time.
  testing::ServeChild camera({"ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", video,
                              "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1", url});
  StreamConfig c;
  c.name = "mjpeg";
  c.uri = url;
  c.reconnect_min_ms = 100;  // until the camera listens
  c.reconnect_max_ms = 200;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  std::vector<VideoFrame> frames;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (frames.size() < 25 && std::chrono::steady_clock::now() < deadline) {
    if (auto f = (*source)->Next(milliseconds(100))) frames.push_back(std::move(*f));
  }
  (*source)->Stop();
  ASSERT_EQ(frames.size(), 25u) << (*source)->Stats().error;
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_GT(frames[i].index, frames[i - 1].index);
  EXPECT_EQ(frames.back().rgb.width, 320);
  EXPECT_EQ(frames.back().rgb.height, 240);
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

// An AVI whose codec FourCC FFmpeg has no decoder for (an MJPEG file with
// its `MJPG` tags renamed): refused when opened, naming the cause.
TEST_F(StreamSourceTest, UnsupportedCodecFailsWithAClearError) {
  const std::string mjpeg = (dir_ / "clip.avi").string();
  ASSERT_TRUE(testing::MakeTestVideo(mjpeg, 1, 25, 160, 120, "-c:v mjpeg -f avi"));
  std::ifstream in(mjpeg, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int renamed = 0;
  for (size_t at = data.find("MJPG"); at != std::string::npos; at = data.find("MJPG", at + 4)) {
    data.replace(at, 4, "ZQ9X");
    ++renamed;
  }
  ASSERT_GE(renamed, 1);
  const std::string path = (dir_ / "unknown_codec.avi").string();
  std::ofstream(path, std::ios::binary) << data;
  StreamConfig c;
  c.name = "unknown_codec";
  c.uri = path;
  const StreamSourceStats st = RunToEnd(c);
  EXPECT_EQ(st.state, StreamState::kFailed);
  EXPECT_NE(st.error.find("codec FFmpeg cannot decode"), std::string::npos) << st.error;
  EXPECT_EQ(st.frames_read, 0);
}

TEST_F(StreamSourceTest, HttpMpegTsSourceIsRead) {
  const std::string video = (dir_ / "cam.mp4").string();
  ASSERT_TRUE(testing::MakeTestVideo(video, 4, 25));
  const int port = testing::FreePort(SOCK_STREAM);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/cam.ts";
  // ffmpeg as an HTTP camera sending MPEG-TS (H.264), in real time.
  testing::ServeChild camera({"ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", video, "-c",
                              "copy", "-f", "mpegts", "-listen", "1", url});
  StreamConfig c;
  c.name = "http_ts";
  c.uri = url;
  c.reconnect_min_ms = 100;  // until the camera listens
  c.reconnect_max_ms = 200;
  auto source = StreamSource::Create(c, &clock_);
  ASSERT_TRUE(source.ok());
  (*source)->Start();
  std::vector<VideoFrame> frames;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (frames.size() < 25 && std::chrono::steady_clock::now() < deadline) {
    if (auto f = (*source)->Next(milliseconds(100))) frames.push_back(std::move(*f));
  }
  (*source)->Stop();
  ASSERT_EQ(frames.size(), 25u) << (*source)->Stats().error;
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_GT(frames[i].index, frames[i - 1].index);
  EXPECT_EQ(frames.back().rgb.width, 320);
  const StreamSourceStats st = (*source)->Stats();
  EXPECT_EQ(st.frames_read, st.frames_skipped + st.frames_dropped + st.frames_delivered);
}

// Builds without OpenCV refuse streams when they are created, with the
// reason, instead of failing (and, live, retrying) in the reading thread.
TEST(StreamSupportTest, CreateFailsAtOnceWithoutVideoSupport) {
  RealClock clock;
  StreamConfig config;
  config.name = "cam";
  config.uri = "rtsp://127.0.0.1:1/live";
  auto source = StreamSource::Create(config, &clock, nullptr);
  auto reader = VideoReader::Open("/nonexistent.mp4", VideoReaderOptions{});
#if YOLOSCOPE_HAVE_OPENCV
  EXPECT_TRUE(VideoReader::CheckSupported().ok());
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound) << reader.status().ToString();
#else
  EXPECT_EQ(VideoReader::CheckSupported().code(), StatusCode::kFailedPrecondition);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(source.status().message().find("YOLOSCOPE_USE_OPENCV=OFF"), std::string::npos)
      << source.status().message();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kFailedPrecondition);
#endif
}

TEST(StreamConfigTest, ParsesValidatesAndRedacts) {
  auto c = ParseStreamFlag("cam1=rtsp://user:secret@10.0.0.5:554/live");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "cam1");
  EXPECT_EQ(c->uri, "rtsp://user:secret@10.0.0.5:554/live");
  EXPECT_EQ(RedactStreamUri(c->uri), "rtsp://***@10.0.0.5:554/live");
  EXPECT_EQ(ClassifyStreamUri(c->uri), StreamSourceKind::kNetwork);
  EXPECT_EQ(EffectiveDropPolicy(*c), FrameDropPolicy::kDropOldest);
  EXPECT_TRUE(ValidateStreamConfig(*c, "s").ok());
  EXPECT_FALSE(ParseStreamFlag("nouri").ok());
  EXPECT_FALSE(ParseStreamFlag("=x").ok());
  EXPECT_FALSE(ParseStreamFlag("x=").ok());
  EXPECT_EQ(ClassifyStreamUri("/tmp/a.mp4"), StreamSourceKind::kFile);
  EXPECT_EQ(ClassifyStreamUri("file:///tmp/a.mp4"), StreamSourceKind::kFile);
  EXPECT_EQ(ClassifyStreamUri("/dev/video0"), StreamSourceKind::kDevice);
  EXPECT_EQ(ClassifyStreamUri("udp://127.0.0.1:5000"), StreamSourceKind::kNetwork);

  StreamConfig bad = *c;
  bad.target_fps = -1;
  EXPECT_NE(ValidateStreamConfig(bad, "streams[0] (cam1)").message().find("streams[0] (cam1): fps"),
            std::string::npos);
  bad = *c;
  bad.queue_size = 0;
  EXPECT_FALSE(ValidateStreamConfig(bad, "s").ok());
  bad = *c;
  bad.priority = "urgent";
  EXPECT_FALSE(ValidateStreamConfig(bad, "s").ok());
  bad = *c;
  bad.name = "has space";
  EXPECT_FALSE(ValidateStreamConfig(bad, "s").ok());
  bad = *c;
  bad.realtime = true;  // a live source
  EXPECT_FALSE(ValidateStreamConfig(bad, "s").ok());
  bad = *c;
  bad.reconnect_max_ms = bad.reconnect_min_ms - 1;
  EXPECT_FALSE(ValidateStreamConfig(bad, "s").ok());
  EXPECT_NE(ValidateStreamConfigs({*c, *c}).message().find("used twice"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope

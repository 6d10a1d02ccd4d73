#include "server/stream_frontend.h"

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>

#include "logging/record_writer.h"
#include "reqlog/log_records.h"
#include "server/metrics_registry.h"
#include "stream/stream_source.h"

namespace yoloscope {

struct StreamFrontend::Stream {
  StreamConfig config;
  std::unique_ptr<StreamSource> source;
  std::thread feeder;

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;           // Guarded by mu: submitted, not yet answered.
  bool stopping = false;       // Guarded by mu.
  bool final_written = false;  // Guarded by mu: the stream's last record is out.

  std::atomic<int64_t> processed{0}, failed{0};

  // For `fps` in the stream records.
  std::mutex record_mu;
  int64_t last_record_ns = 0;            // Guarded by record_mu.
  int64_t processed_at_last_record = 0;  // Guarded by record_mu.

  // Metrics (resolved once); the counters that mirror the source's counts
  // are advanced by difference in SyncMetrics.
  std::mutex metrics_mu;
  Counter *c_processed = nullptr, *c_failed = nullptr, *c_dropped = nullptr, *c_skipped = nullptr,
          *c_read = nullptr, *c_reconnects = nullptr;
  Gauge *g_up = nullptr, *g_queued = nullptr;
  Histogram* h_latency = nullptr;
};

namespace {

void Advance(Counter* c, int64_t total) {
  const auto t = static_cast<uint64_t>(total < 0 ? 0 : total);
  if (t > c->value()) c->Inc(t - c->value());
}

}  // namespace

StatusOr<std::unique_ptr<Frontend>> StreamFrontend::Create(const FrontendContext& context) {
  if (context.core == nullptr || context.config == nullptr || context.clock == nullptr ||
      context.metrics == nullptr) {
    return InvalidArgumentError("the stream front end needs a core, config, clock and metrics");
  }
  YS_RETURN_IF_ERROR(ValidateStreamConfigs(context.config->streams));
  std::unique_ptr<StreamFrontend> f(new StreamFrontend(context));
  MetricsRegistry* m = context.metrics;
  for (const StreamConfig& sc : context.config->streams) {
    auto stream = std::make_unique<Stream>();
    stream->config = sc;
    Stream* raw = stream.get();
    StreamFrontend* self = f.get();
    auto source = StreamSource::Create(sc, context.clock, [self, raw](const StreamEvent& e) {
      std::fprintf(stderr, "yoloscope serve: stream %s: %s\n", raw->config.name.c_str(),
                   e.message.c_str());
      std::fflush(stderr);
      if (raw->g_up) raw->g_up->Set(e.state == StreamState::kRunning ? 1 : 0);
      self->WriteStreamRecord(raw);
    });
    if (!source.ok()) return source.status().WithContext("stream " + sc.name);
    stream->source = std::move(source).value();
    const Labels l = {{"stream", sc.name}};
    auto frames = [&](const char* outcome) {
      return m->GetCounter("yoloscope_stream_frames_total",
                           "Frames of a video stream by outcome: processed (a request record, "
                           "ok), failed (a request record, not ok), dropped (queue full or "
                           "shutdown), skipped (not due at the target fps).",
                           {{"stream", sc.name}, {"outcome", outcome}});
    };
    stream->c_processed = frames("processed");
    stream->c_failed = frames("failed");
    stream->c_dropped = frames("dropped");
    stream->c_skipped = frames("skipped");
    stream->c_read =
        m->GetCounter("yoloscope_stream_frames_read_total", "Frames decoded from a stream.", l);
    stream->c_reconnects = m->GetCounter("yoloscope_stream_reconnects_total",
                                         "Reconnect attempts of a live stream.", l);
    stream->g_up = m->GetGauge("yoloscope_stream_up", "1 while a stream is being read, else 0.", l);
    stream->g_queued = m->GetGauge("yoloscope_stream_queued_frames",
                                   "Decoded frames waiting in a stream's queue.", l);
    stream->h_latency = m->GetHistogram(
        "yoloscope_stream_frame_latency_seconds",
        "Time from a frame's capture (decoded) to its result, processed frames, in seconds.",
        LatencyBucketsSeconds(), l);
    f->streams_.push_back(std::move(stream));
  }
  return std::unique_ptr<Frontend>(std::move(f));
}

StreamFrontend::StreamFrontend(const FrontendContext& context) : context_(context) {}

StreamFrontend::~StreamFrontend() { Shutdown(std::chrono::milliseconds(0)); }

Status StreamFrontend::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  for (auto& stream : streams_) {
    Stream* raw = stream.get();
    {
      std::lock_guard<std::mutex> lock(raw->record_mu);
      raw->last_record_ns = context_.clock->NowNs();
    }
    raw->source->Start();
    raw->feeder = std::thread([this, raw] { Feed(raw); });
  }
  if (context_.config->stream_stats_period_ms > 0) {
    stats_thread_ = std::thread([this] { StatsLoop(); });
  }
  return Status::Ok();
}

void StreamFrontend::Feed(Stream* s) {
  const int max_in_flight = s->config.max_in_flight;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(s->mu);
      s->cv.wait_for(lock, std::chrono::milliseconds(100),
                     [&] { return s->stopping || s->in_flight < max_in_flight; });
      if (s->stopping) break;
      if (s->in_flight >= max_in_flight) {
        lock.unlock();
        SyncMetrics(s);
        continue;
      }
    }
    std::optional<VideoFrame> frame = s->source->Next(std::chrono::milliseconds(100));
    if (!frame) {
      SyncMetrics(s);
      if (s->source->finished()) break;
      continue;
    }
    Submit(s, std::move(*frame));
  }
  // The stream ended by itself (EOF, gave up): once its last frames are
  // answered, its final record. At shutdown, Shutdown writes it.
  std::unique_lock<std::mutex> lock(s->mu);
  s->cv.wait(lock, [&] { return s->stopping || s->in_flight == 0; });
  if (s->stopping) return;
  s->final_written = true;
  lock.unlock();
  SyncMetrics(s);
  if (s->g_up) s->g_up->Set(0);
  WriteStreamRecord(s);
}

void StreamFrontend::Submit(Stream* s, VideoFrame&& frame) {
  InferenceCore* core = context_.core;
  InferenceRequest req;
  req.pixels = std::move(frame.rgb);
  req.frame = StreamFrameInfo{s->config.name, frame.index, frame.pts_ms, frame.decode_ms};
  req.high_priority = s->config.priority == "high";
  CallInfo call;
  call.request_id = core->RequestId(std::nullopt);
  call.protocol = "stream";
  call.receive_ns = frame.capture_ns;  // latency runs from the frame's capture
  {
    std::lock_guard<std::mutex> lock(s->mu);
    ++s->in_flight;
  }
  core->Detect(std::move(req), call, [s](InferenceResult&& r) {
    if (r.status.ok()) {
      s->processed.fetch_add(1);
      s->c_processed->Inc();
      s->h_latency->Observe(r.timing.total_ms / 1e3);
    } else {
      s->failed.fetch_add(1);
      s->c_failed->Inc();
    }
    {
      std::lock_guard<std::mutex> lock(s->mu);
      --s->in_flight;
    }
    s->cv.notify_all();
  });
}

void StreamFrontend::SyncMetrics(Stream* s) {
  const StreamSourceStats st = s->source->Stats();
  std::lock_guard<std::mutex> lock(s->metrics_mu);
  Advance(s->c_read, st.frames_read);
  Advance(s->c_dropped, st.frames_dropped);
  Advance(s->c_skipped, st.frames_skipped);
  Advance(s->c_reconnects, st.reconnects);
  s->g_queued->Set(static_cast<double>(st.queued));
}

void StreamFrontend::WriteStreamRecord(Stream* s) {
  const StreamSourceStats st = s->source->Stats();
  StreamLogRecord rec;
  rec.ts_us = context_.clock->WallNowUs();
  rec.stream = s->config.name;
  rec.uri = RedactStreamUri(s->config.uri);
  rec.state = std::string(StreamStateName(st.state));
  rec.codec = st.codec;
  if (st.width > 0) {
    rec.input_w = st.width;
    rec.input_h = st.height;
  }
  if (st.source_fps > 0) rec.source_fps = st.source_fps;
  rec.target_fps = s->config.target_fps;
  // Answered frames first, then the source's counts: a frame moves from
  // delivered to answered, so read this way no frame is counted twice.
  int in_flight = 0;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    in_flight = s->in_flight;
  }
  const int64_t processed = s->processed.load();
  rec.frames_read = st.frames_read;
  rec.frames_processed = processed;
  rec.frames_failed = s->failed.load();
  rec.frames_dropped = st.frames_dropped;
  rec.frames_skipped = st.frames_skipped;
  rec.frames_queued = st.queued;
  rec.frames_in_flight = in_flight;
  rec.reconnects = st.reconnects;
  rec.error = st.error;
  {
    std::lock_guard<std::mutex> lock(s->record_mu);
    const int64_t now = context_.clock->NowNs();
    const double seconds = static_cast<double>(now - s->last_record_ns) / 1e9;
    if (seconds > 0.05) {
      rec.fps = static_cast<double>(processed - s->processed_at_last_record) / seconds;
      s->last_record_ns = now;
      s->processed_at_last_record = processed;
    }
  }
  if (AsyncLogWriter* log = context_.core->log()) (void)WriteRecord(&rec, log);
}

void StreamFrontend::StatsLoop() {
  const auto period = std::chrono::milliseconds(context_.config->stream_stats_period_ms);
  std::unique_lock<std::mutex> lock(stats_mu_);
  while (!stopping_) {
    if (stats_cv_.wait_for(lock, period, [&] { return stopping_; })) break;
    lock.unlock();
    for (auto& stream : streams_) {
      bool final_written = false;
      {
        std::lock_guard<std::mutex> l(stream->mu);
        final_written = stream->final_written;
      }
      SyncMetrics(stream.get());
      if (!final_written) WriteStreamRecord(stream.get());
    }
    lock.lock();
  }
}

bool StreamFrontend::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return true;
  shut_down_ = true;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stopping_ = true;
  }
  stats_cv_.notify_all();
  if (stats_thread_.joinable()) stats_thread_.join();
  // Stop reading everywhere first (each Stop may wait for a blocked read).
  for (auto& s : streams_) {
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->stopping = true;
    }
    s->cv.notify_all();
  }
  for (auto& s : streams_) {
    if (s->feeder.joinable()) s->feeder.join();
    s->source->Stop();  // frames still queued count as dropped
  }
  // The frames in flight are answered by the pipeline, which is still up.
  bool drained = true;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& s : streams_) {
    std::unique_lock<std::mutex> lock(s->mu);
    drained = s->cv.wait_until(lock, deadline, [&] { return s->in_flight == 0; }) && drained;
    const bool write = !s->final_written;
    s->final_written = true;
    lock.unlock();
    SyncMetrics(s.get());
    s->g_up->Set(0);
    if (write && started_) WriteStreamRecord(s.get());
  }
  return drained;
}

}  // namespace yoloscope

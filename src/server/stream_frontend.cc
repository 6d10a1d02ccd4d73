#include "server/stream_frontend.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
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

  mutable std::mutex mu;
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

  // Results out. Null sink and no rule watching: nothing is delivered.
  std::unique_ptr<StreamResultSink> sink;
  bool watched = false;  // a detection rule applies to this stream
  bool deliver = false;  // sink or watched
  int64_t next_seq = 0;  // feeder thread only: the next submitted frame's sequence
  std::mutex result_mu;
  int64_t next_deliver = 0;                      // Guarded by result_mu.
  std::map<int64_t, StreamFrameResult> pending;  // Guarded by result_mu. Out of order.
  // Result sink series (null when the sink is off), advanced by difference.
  Counter *c_jsonl_written = nullptr, *c_jsonl_failed = nullptr, *c_jsonl_dropped = nullptr;
  Counter *c_hook_written = nullptr, *c_hook_failed = nullptr, *c_hook_dropped = nullptr,
          *c_hook_retries = nullptr;
  Gauge* g_hook_queued = nullptr;

  // Detection alerts firing now (rule names), for the live page.
  mutable std::mutex alerts_mu;
  std::set<std::string> firing;  // Guarded by alerts_mu.

  // The live page's recent frames: (answered at Clock ns, latency ms).
  mutable std::mutex recent_mu;
  std::deque<std::pair<int64_t, double>> recent;  // Guarded by recent_mu.
  int64_t started_ns = 0;                         // Guarded by recent_mu.
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
  const ModelInfo& model = context.core->service()->model_info();
  const AlertingConfig& alerting = context.config->alerts;
  if (!alerting.detection_rules.empty()) {
    if (context.alerter == nullptr) {
      return InvalidArgumentError(
          "alerts.detection_rules: needs alerts.enabled: true (they notify through the alerts' "
          "notifiers)");
    }
    auto rules = DetectionAlerter::Create(alerting.detection_rules, model.class_names,
                                          alerting.live.engine.external_labels);
    if (!rules.ok()) return rules.status();
    f->detections_ = std::move(rules).value();
  }
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
    auto sink = StreamResultSink::Create(sc.name, sc.results, &model, context.clock);
    if (!sink.ok()) return sink.status().WithContext("stream " + sc.name);
    stream->sink = std::move(sink).value();
    stream->watched = f->detections_ && f->detections_->Watches(sc.name);
    stream->deliver = stream->sink->enabled() || stream->watched;
    auto results = [&](const char* sink_name, const char* outcome) {
      return m->GetCounter("yoloscope_stream_results_total",
                           "Frame results handed to a stream's result sink, by outcome: written "
                           "(JSONL: line handed to the OS; webhook: POST answered 2xx), failed "
                           "(write error; webhook attempts exhausted), dropped (queue full).",
                           {{"stream", sc.name}, {"sink", sink_name}, {"outcome", outcome}});
    };
    if (!sc.results.jsonl.empty()) {
      stream->c_jsonl_written = results("jsonl", "written");
      stream->c_jsonl_failed = results("jsonl", "failed");
      stream->c_jsonl_dropped = results("jsonl", "dropped");
    }
    if (!sc.results.webhook.url.empty()) {
      stream->c_hook_written = results("webhook", "written");
      stream->c_hook_failed = results("webhook", "failed");
      stream->c_hook_dropped = results("webhook", "dropped");
      stream->c_hook_retries = m->GetCounter("yoloscope_stream_results_webhook_retries_total",
                                             "Retried POSTs of a stream's result webhook.", l);
      stream->g_hook_queued = m->GetGauge("yoloscope_stream_results_queued",
                                          "Frame results waiting for a stream's result webhook.",
                                          {{"stream", sc.name}, {"sink", "webhook"}});
    }
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
    {
      std::lock_guard<std::mutex> lock(raw->recent_mu);
      raw->started_ns = context_.clock->NowNs();
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
  EndDetections(s);
  SyncMetrics(s);
  if (s->g_up) s->g_up->Set(0);
  WriteStreamRecord(s);
}

void StreamFrontend::Submit(Stream* s, VideoFrame&& frame) {
  InferenceCore* core = context_.core;
  StreamFrameResult info;  // what the result sinks get, completed by the answer
  info.frame_index = frame.index;
  info.pts_ms = frame.pts_ms;
  info.capture_wall_us = core->ArrivalWallUs(frame.capture_ns);
  info.width = frame.rgb.width;  // also known when inference fails
  info.height = frame.rgb.height;
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
  const int64_t seq = s->next_seq++;
  core->Detect(std::move(req), call, [this, s, seq, info](InferenceResult&& r) mutable {
    if (r.status.ok()) {
      s->processed.fetch_add(1);
      s->c_processed->Inc();
      s->h_latency->Observe(r.timing.total_ms / 1e3);
      const int64_t now = context_.clock->NowNs();
      std::lock_guard<std::mutex> lock(s->recent_mu);
      s->recent.emplace_back(now, r.timing.total_ms);
      while (s->recent.size() > kRecentFrames ||
             (!s->recent.empty() && s->recent.front().first < now - kRecentWindowNs)) {
        s->recent.pop_front();
      }
    } else {
      s->failed.fetch_add(1);
      s->c_failed->Inc();
    }
    if (s->deliver) {
      info.ok = r.status.ok();
      info.status = r.error_code.empty() ? (info.ok ? "ok" : "error") : r.error_code;
      if (!info.ok) info.error = r.status.message();
      if (r.width > 0) {
        info.width = r.width;
        info.height = r.height;
      }
      info.latency_ms = r.timing.total_ms;
      info.detections = std::move(r.detections);
      Deliver(s, seq, std::move(info));
    }
    {
      std::lock_guard<std::mutex> lock(s->mu);
      --s->in_flight;
    }
    s->cv.notify_all();
  });
}

void StreamFrontend::Deliver(Stream* s, int64_t seq, StreamFrameResult&& result) {
  std::lock_guard<std::mutex> lock(s->result_mu);
  s->pending.emplace(seq, std::move(result));
  // Every submitted frame is answered exactly once, so the gap fills.
  while (!s->pending.empty() && s->pending.begin()->first == s->next_deliver) {
    auto node = s->pending.extract(s->pending.begin());
    Emit(s, node.mapped());
    ++s->next_deliver;
  }
}

void StreamFrontend::Emit(Stream* s, const StreamFrameResult& r) {
  s->sink->Write(r);
  if (!s->watched) return;
  std::vector<DetectedObject> objects;
  objects.reserve(r.detections.size());
  for (const Detection& d : r.detections) objects.push_back({d.class_id, d.score});
  Notify(s, detections_->Observe(s->config.name, r.capture_wall_us, r.ok, objects));
}

void StreamFrontend::EndDetections(Stream* s) {
  if (!s->watched) return;
  std::lock_guard<std::mutex> lock(s->result_mu);
  Notify(s, detections_->EndStream(s->config.name, context_.clock->WallNowUs()));
}

void StreamFrontend::Notify(Stream* s, std::vector<AlertTransition>&& transitions) {
  if (transitions.empty()) return;
  {
    std::lock_guard<std::mutex> lock(s->alerts_mu);
    for (const AlertTransition& t : transitions) {
      const bool firing = t.state == AlertState::kFiring;
      if (firing) {
        s->firing.insert(t.rule);
      } else {
        s->firing.erase(t.rule);
      }
      const Labels l = {{"stream", s->config.name}, {"rule", t.rule}};
      context_.metrics
          ->GetCounter("yoloscope_stream_detection_alerts_total",
                       "Detection-rule alerts of a stream (alerts.detection_rules), by state: "
                       "firing, resolved.",
                       {{"stream", s->config.name},
                        {"rule", t.rule},
                        {"state", std::string(AlertStateName(t.state))}})
          ->Inc();
      context_.metrics
          ->GetGauge("yoloscope_stream_detection_alert_firing",
                     "1 while a detection-rule alert of a stream is firing, else 0.", l)
          ->Set(firing ? 1 : 0);
    }
  }
  context_.alerter->Submit(std::move(transitions));
}

void StreamFrontend::CollectMetrics() {
  for (auto& s : streams_) SyncMetrics(s.get());
}

void StreamFrontend::SyncMetrics(Stream* s) {
  const StreamSourceStats st = s->source->Stats();
  const StreamResultSinkStats rs = s->sink->stats();
  std::lock_guard<std::mutex> lock(s->metrics_mu);
  Advance(s->c_read, st.frames_read);
  Advance(s->c_dropped, st.frames_dropped);
  Advance(s->c_skipped, st.frames_skipped);
  Advance(s->c_reconnects, st.reconnects);
  s->g_queued->Set(static_cast<double>(st.queued));
  if (s->c_jsonl_written) {
    Advance(s->c_jsonl_written, rs.jsonl_written);
    Advance(s->c_jsonl_failed, rs.jsonl_failed);
    Advance(s->c_jsonl_dropped, rs.jsonl_dropped);
  }
  if (s->c_hook_written) {
    Advance(s->c_hook_written, rs.webhook_delivered);
    Advance(s->c_hook_failed, rs.webhook_failed);
    Advance(s->c_hook_dropped, rs.webhook_dropped);
    Advance(s->c_hook_retries, rs.webhook_retries);
    s->g_hook_queued->Set(static_cast<double>(rs.webhook_queued));
  }
}

void StreamFrontend::AddLiveStatus(nlohmann::json* live) const {
  if (streams_.empty()) return;
  using Json = nlohmann::json;
  Json list = Json::array();
  const int64_t now = context_.clock->NowNs();
  auto number_or_null = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
  for (const auto& sp : streams_) {
    const Stream* s = sp.get();
    const FrameCounts counts = CountFrames(s);
    const StreamSourceStats& st = counts.source;
    // Recent frames: fps over the window (or since the start, when
    // shorter), latency quantiles (nearest rank).
    std::vector<double> latencies;
    double span_s = 0;
    {
      std::lock_guard<std::mutex> lock(s->recent_mu);
      const int64_t from = std::max(now - kRecentWindowNs, s->started_ns);
      for (const auto& [at, ms] : s->recent) {
        if (at >= now - kRecentWindowNs) latencies.push_back(ms);
      }
      span_s = static_cast<double>(now - from) / 1e9;
    }
    std::sort(latencies.begin(), latencies.end());
    auto quantile = [&](double q) {
      if (latencies.empty()) return std::nan("");
      const size_t rank = static_cast<size_t>(std::ceil(q * latencies.size()));
      return latencies[std::min(latencies.size() - 1, rank == 0 ? 0 : rank - 1)];
    };
    const bool running = st.state == StreamState::kRunning;
    Json j;
    j["name"] = s->config.name;
    j["uri"] = RedactStreamUri(s->config.uri);
    j["state"] = std::string(StreamStateName(st.state));
    j["error"] = st.error.empty() ? Json(nullptr) : Json(st.error);
    j["target_fps"] = s->config.target_fps;
    j["source_fps"] = st.source_fps > 0 ? Json(st.source_fps) : Json(nullptr);
    j["fps"] = span_s >= 0.5 && (running || !latencies.empty())
                   ? Json(static_cast<double>(latencies.size()) / span_s)
                   : Json(nullptr);
    j["latency_p50_ms"] = number_or_null(quantile(0.5));
    j["latency_p99_ms"] = number_or_null(quantile(0.99));
    j["recent_frames"] = latencies.size();
    j["window_s"] = kRecentWindowNs / 1'000'000'000;
    j["frames_read"] = st.frames_read;
    j["frames_processed"] = counts.processed;
    j["frames_failed"] = counts.failed;
    j["frames_dropped"] = st.frames_dropped;
    j["frames_skipped"] = st.frames_skipped;
    j["frames_queued"] = st.queued;
    j["frames_in_flight"] = counts.in_flight;
    j["reconnects"] = st.reconnects;
    const StreamResultSinkStats rs = s->sink->stats();
    Json results = Json::object();
    if (rs.jsonl) {
      results["jsonl"] = {{"written", rs.jsonl_written},
                          {"failed", rs.jsonl_failed},
                          {"dropped", rs.jsonl_dropped}};
    }
    if (rs.webhook) {
      results["webhook"] = {{"written", rs.webhook_delivered},
                            {"failed", rs.webhook_failed},
                            {"dropped", rs.webhook_dropped},
                            {"queued", rs.webhook_queued},
                            {"last_error", rs.webhook_last_error}};
    }
    j["results"] = std::move(results);
    Json firing = Json::array();
    {
      std::lock_guard<std::mutex> lock(s->alerts_mu);
      for (const std::string& rule : s->firing) firing.push_back(rule);
    }
    j["alerts_firing"] = std::move(firing);
    list.push_back(std::move(j));
  }
  (*live)["streams"] = std::move(list);
}

// A stream's frame counts of one moment: the answered frames first, then the
// source's (a frame is delivered before it is answered, and every count only
// grows), so that in flight -- delivered, not yet answered -- is never
// negative and read == processed + failed + dropped + skipped + queued + in
// flight holds exactly in every record. s->in_flight (submitted, not yet
// answered) misses a frame between Next and Submit.
StreamFrontend::FrameCounts StreamFrontend::CountFrames(const Stream* s) {
  FrameCounts c;
  c.processed = s->processed.load();
  c.failed = s->failed.load();
  c.source = s->source->Stats();
  c.in_flight = std::max<int64_t>(0, c.source.frames_delivered - c.processed - c.failed);
  return c;
}

void StreamFrontend::WriteStreamRecord(Stream* s) {
  const FrameCounts counts = CountFrames(s);
  const StreamSourceStats& st = counts.source;
  StreamLogRecord rec;
  rec.ts_us = context_.clock->WallNowUs();
  rec.stream = s->config.name;
  rec.uri = RedactStreamUri(s->config.uri);
  rec.state = std::string(StreamStateName(st.state));
  rec.codec = st.codec;
  const StreamSourceKind kind = ClassifyStreamUri(s->config.uri);
  rec.source_kind = std::string(StreamSourceKindName(kind));
  if (kind == StreamSourceKind::kFile) rec.realtime = s->config.realtime;
  rec.drop_policy = std::string(FrameDropPolicyName(EffectiveDropPolicy(s->config)));
  if (st.width > 0) {
    rec.input_w = st.width;
    rec.input_h = st.height;
  }
  if (st.source_fps > 0) rec.source_fps = st.source_fps;
  rec.target_fps = s->config.target_fps;
  const int64_t processed = counts.processed;
  rec.frames_read = st.frames_read;
  rec.frames_processed = processed;
  rec.frames_failed = counts.failed;
  rec.frames_dropped = st.frames_dropped;
  rec.frames_skipped = st.frames_skipped;
  rec.frames_queued = st.queued;
  rec.frames_in_flight = counts.in_flight;
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
    if (write && started_) EndDetections(s.get());
    // Every answered frame is in the sinks (Deliver runs before a frame
    // leaves in_flight): flush the file, deliver what the webhook queued.
    s->sink->Close();
    SyncMetrics(s.get());
    s->g_up->Set(0);
    if (write && started_) WriteStreamRecord(s.get());
  }
  return drained;
}

}  // namespace yoloscope

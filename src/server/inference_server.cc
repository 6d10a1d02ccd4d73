#include "server/inference_server.h"

#include <charconv>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "alerts/alerting_config.h"
#include "alerts/record_adapters.h"
#include "http/media_type.h"
#include "http/multipart_form.h"
#include "http/router.h"
#include "logging/async_log_writer.h"
#include "logging/record_writer.h"
#include "reqlog/json_line_serializer.h"
#include "server/inference_service.h"
#include "server/live_page.h"
#include "server/live_series.h"
#include "server/metrics_registry.h"
#include "server/request_id_generator.h"
#include "telemetry/telemetry_sampler.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {
namespace {

using http::Request;
using http::Responder;
using http::Response;

constexpr char kVersion[] = "0.1.0";

// A request's parameters, from the query, the headers or KServe
// `parameters`: every source goes through ApplyParam, so the same value gets
// the same answer wherever it came from.
struct RequestParams {
  std::optional<float> conf, iou;
  std::optional<int> max_det;
  std::optional<int64_t> timeout_ms;
  std::optional<bool> high_priority;

  void ApplyTo(InferenceRequest* ir) const {
    if (conf) ir->conf = conf;
    if (iou) ir->iou = iou;
    if (max_det) ir->max_det = max_det;
    if (timeout_ms) ir->timeout_us = *timeout_ms * 1000;
    if (high_priority) ir->high_priority = *high_priority;
  }
};

constexpr int64_t kMaxTimeoutMs = 1'000'000'000'000;  // ~31 years: no overflow in us

// Sets parameter `name` (conf, iou, max_det, timeout_ms, priority) from its
// text; `where` names it in the error ("query parameter 'conf'", "header
// X-Timeout-Ms", "KServe parameter 'conf'"). InvalidArgument "<where> must
// be ..., got '<text>'". Unknown names are ignored.
Status ApplyParam(std::string_view name, const std::string& where, std::string_view text,
                  RequestParams* p) {
  auto bad = [&](const char* why) {
    std::string shown(text.substr(0, 64));
    if (text.size() > 64) shown += "...";
    return InvalidArgumentError(where + " " + why + ", got '" + shown + "'");
  };
  auto parse = [&](auto* out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  if (name == "conf" || name == "iou") {
    float v = 0;
    if (!parse(&v) || !(v >= 0.f && v <= 1.f)) return bad("must be a number in [0, 1]");
    (name == "conf" ? p->conf : p->iou) = v;
  } else if (name == "max_det") {
    int v = 0;
    if (!parse(&v) || v < 1) return bad("must be a whole number >= 1");
    p->max_det = v;
  } else if (name == "timeout_ms") {
    int64_t v = 0;
    if (!parse(&v) || v < 0 || v > kMaxTimeoutMs) {
      return bad("must be a whole number of milliseconds >= 0 (0 = the server's default)");
    }
    p->timeout_ms = v;
  } else if (name == "priority") {
    if (text == "high") {
      p->high_priority = true;
    } else if (text == "normal") {
      p->high_priority = false;
    } else {
      return bad("must be 'high' or 'normal'");
    }
  }
  return Status::Ok();
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void AppendMs(double v, std::string* out) { AppendJsonNumber(v, 3, out); }

// The inference endpoints: the requests that get a `request` record.
bool IsInferencePath(std::string_view path) {
  constexpr std::string_view kModels = "/v2/models/", kInfer = "/infer";
  return path == "/v1/detect" || (path.size() > kModels.size() + kInfer.size() &&
                                  path.substr(0, kModels.size()) == kModels &&
                                  path.substr(path.size() - kInfer.size()) == kInfer);
}

// The log `status` of a refusal by the HTTP layer (docs/log-schema.md).
std::string_view RejectionStatus(std::string_view reason) {
  if (reason == "body_too_large") return "payload_too_large";
  return reason;  // header_too_large, bad_request, unauthorized, read_timeout
}

// Standard base64 (RFC 4648), padding optional, no whitespace.
StatusOr<std::string> Base64Decode(std::string_view in) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int8_t v = kTable[static_cast<uint8_t>(c)];
    if (v < 0) return InvalidArgumentError("BYTES element is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

struct InferenceServer::Impl {
  ServeConfig config;
  RealClock real_clock;
  Clock* clock = nullptr;
  MetricsRegistry metrics;
  std::unique_ptr<AsyncLogWriter> log;
  std::unique_ptr<InferenceService> service;
  std::unique_ptr<TelemetrySampler> sampler;  // null when telemetry is off or unavailable
  std::unique_ptr<LiveAlerter> alerter;       // null unless config.alerts.enabled
  std::unique_ptr<RequestIdGenerator> ids;
  std::unique_ptr<LiveSeries> live;  // the live page's last minutes (`/`, `/api/live`)
  http::Router router;
  std::unique_ptr<http::HttpServer> http_server;
  std::once_flag shutdown_once;
  bool drained = true;
  // log.policy audit: refuse inference requests while the log is failing.
  bool audit = false;

  // Gauges refreshed at scrape time.
  Gauge *g_queue = nullptr, *g_in_flight = nullptr, *g_connections = nullptr;

  std::string RequestIdFor(const Request& req) {
    auto h = req.header("X-Request-Id");
    if (h && ValidRequestId(*h)) return std::string(*h);
    return ids->Next();
  }
  // Wall time (the log's ts) of the moment Clock::NowNs was `receive_ns`.
  int64_t ArrivalWallUs(int64_t receive_ns) const {
    return clock->WallNowUs() - (clock->NowNs() - receive_ns) / 1000;
  }

  void Reject(const Request& req, Responder& resp, const std::string& rid, int status,
              const std::string& code, const std::string& message) {
    service->LogRejected(rid, ArrivalWallUs(req.receive_ns()), req.receive_ns(),
                         static_cast<int64_t>(req.body().size()), status, code, message);
    Response r = Response::Error(status, message);
    r.headers.emplace_back("X-Request-Id", rid);
    if (status == 503) r.headers.emplace_back("Retry-After", "1");
    resp.Send(std::move(r));
  }

  // log.policy audit and the log failing or its queue full: answers 503
  // (and logs the refusal, which is also the write that finds out when the
  // log works again). True when refused.
  bool RefusedForAudit(const Request& req, Responder& resp, const std::string& rid) {
    if (!audit) return false;
    if (!log->healthy()) {
      Reject(req, resp, rid, 503, "log_unavailable",
             "the request log cannot be written (" + log->last_error() +
                 "); refusing requests until it can (log.policy: audit)");
      return true;
    }
    if (log->queue_full()) {
      // This request's record would be dropped: the writer is behind.
      Reject(req, resp, rid, 503, "log_unavailable",
             "the request log's queue is full (the writer cannot keep up); refusing requests "
             "until it drains (log.policy: audit)");
      return true;
    }
    return false;
  }

  void OnHttpRejection(const http::HttpRejection& rejection);
  void HandleDetect(Request req, Responder resp);
  void HandleInfer(Request req, Responder resp);
  void HandleStats(Request req, Responder resp);
  void HandleModelMetadata(Request req, Responder resp);
  bool CheckModel(const Request& req, Responder& resp);
  Status AddRoutes();
  std::string RenderMetricsText();
  Status StartTelemetry();
  void OnSample(const DeviceSample& s);
  void Annotate(RequestLogRecord* rec) const;
};

Status InferenceServer::Impl::StartTelemetry() {
  if (config.telemetry.kind == "off") return Status::Ok();
  auto source = CreateTelemetrySource(config.telemetry, clock, service->NewTelemetrySource());
  if (!source.ok()) {
    // Asked for explicitly: an error. "auto" falls back to process telemetry
    // inside the factory, so reaching here means nothing works at all.
    if (config.telemetry.kind != "auto") return source.status().WithContext("telemetry");
    return Status::Ok();
  }
  auto sampler =
      TelemetrySampler::Create(config.telemetry.sampler, clock, std::move(source).value(),
                               [this](const DeviceSample& s) { OnSample(s); });
  if (!sampler.ok()) return sampler.status().WithContext("telemetry");
  this->sampler = std::move(sampler).value();
  return this->sampler->Start();
}

void InferenceServer::Impl::OnSample(const DeviceSample& s) {
  if (live) live->AddGpuSample(s);
  const bool is_gpu = s.gpu_util || s.mem_total_mb || s.gpu_id;
  Labels labels = {{"device", s.device.empty() ? "cpu" : s.device}};
  auto gauge = [&](const char* name, const char* help, const std::optional<double>& v,
                   double scale = 1.0) {
    if (v) metrics.GetGauge(name, help, labels)->Set(*v * scale);
  };
  gauge("yoloscope_gpu_utilization_percent", "Device utilisation, percent.", s.gpu_util);
  gauge("yoloscope_gpu_memory_used_bytes", "Device memory in use by all processes.", s.mem_used_mb,
        1048576.0);
  gauge("yoloscope_gpu_memory_total_bytes", "Device memory capacity.", s.mem_total_mb, 1048576.0);
  gauge("yoloscope_gpu_memory_other_processes_bytes", "Device memory held by other processes.",
        s.mem_other_processes_mb, 1048576.0);
  gauge("yoloscope_gpu_sm_clock_mhz", "Current SM clock.", s.sm_clock_mhz);
  gauge("yoloscope_process_cpu_percent", "This process's CPU use, percent of all cores.",
        s.process_cpu_util);
  gauge("yoloscope_process_resident_bytes", "This process's resident memory.", s.process_rss_mb,
        1048576.0);
  if (!is_gpu || (!log && !alerter)) return;
  GpuLogRecord rec;
  rec.ts_us = s.ts_us ? s.ts_us : clock->WallNowUs();
  rec.gpu_id = s.gpu_id;
  rec.gpu_util = s.gpu_util;
  rec.mem_used_mb = s.mem_used_mb;
  rec.mem_total_mb = s.mem_total_mb;
  rec.mem_other_processes_mb = s.mem_other_processes_mb;
  rec.sm_clock_mhz = s.sm_clock_mhz;
  rec.temp_c = s.temp_c;
  rec.power_w = s.power_w;
  rec.pcie_tx_mbs = s.pcie_tx_mbs;
  rec.pcie_rx_mbs = s.pcie_rx_mbs;
  rec.throttle_reasons = s.throttle_reasons;
  if (alerter) alerter->Observe(ToLogRecord(rec));
  // A dropped record is counted by the writer (RenderMetricsText mirrors it).
  if (log) (void)WriteRecord(&rec, log.get());
}

void InferenceServer::Impl::OnHttpRejection(const http::HttpRejection& rejection) {
  // Only inference requests have records (not health checks, /metrics or the
  // live page); a request whose line was not even parsed may have been one.
  if (!rejection.target.empty()) {
    if (rejection.method != "POST") return;
    const std::string_view target = rejection.target;
    if (!IsInferencePath(target.substr(0, target.find('?')))) return;
  }
  std::string rid;
  if (rejection.header) {
    auto h = rejection.header("X-Request-Id");
    if (h && ValidRequestId(*h)) rid.assign(*h);
  }
  if (rid.empty()) rid = ids->Next();
  const int64_t input_bytes =
      rejection.content_length ? static_cast<int64_t>(*rejection.content_length) : 0;
  // From the request's first byte: a request that trickled in and timed out
  // arrived long before the server gave up on it.
  const int64_t arrival_ns = rejection.arrival_ns ? rejection.arrival_ns : rejection.receive_ns;
  service->LogRejected(rid, ArrivalWallUs(arrival_ns), arrival_ns, input_bytes, rejection.status,
                       std::string(RejectionStatus(rejection.reason)),
                       std::string(rejection.message));
}

void InferenceServer::Impl::Annotate(RequestLogRecord* rec) const {
  if (!sampler) return;
  auto snap = sampler->LatestSnapshot();
  if (!snap || snap->empty()) return;
  // The sample of the request's own device (rec->gpu_id, set by the service
  // from the instance's device; empty on CPU: a CPU request takes no GPU's
  // state). A single GPU whose index differs (CUDA_VISIBLE_DEVICES) is
  // still the one.
  const DeviceSample* found = nullptr;
  for (const DeviceSample& sample : *snap) {
    if (sample.gpu_id == rec->gpu_id) {
      found = &sample;
      break;
    }
  }
  if (found == nullptr && rec->gpu_id && snap->size() == 1) found = &snap->front();
  if (found == nullptr) return;
  const DeviceSample& s = *found;
  if (!rec->gpu_util) rec->gpu_util = s.gpu_util;
  // The batch's own allocator facts (set by the backend) win over the
  // sampler's slightly older view.
  if (!rec->mem_used_mb) rec->mem_used_mb = s.mem_used_mb;
  if (!rec->mem_total_mb) rec->mem_total_mb = s.mem_total_mb;
}

StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Create(const ServeConfig& config,
                                                                   Clock* clock, WarningSink warn) {
  YS_RETURN_IF_ERROR(ValidateServeConfig(config));
  std::unique_ptr<InferenceServer> s(new InferenceServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.config = config;
  im.audit = config.log.enabled && config.log.policy == "audit";
  im.clock = clock ? clock : &im.real_clock;
  im.ids = std::make_unique<RequestIdGenerator>(im.clock);
  if (config.log.enabled) {
    AsyncLogWriterConfig lc;
    lc.path = config.log.path;
    lc.max_file_bytes = config.log.max_file_bytes;
    lc.max_files = config.log.max_files;
    lc.queue_capacity = config.log.queue_capacity;
    lc.warn = warn;
    auto log = AsyncLogWriter::Create(lc, im.clock);
    if (!log.ok()) return log.status().WithContext("request log");
    im.log = std::move(log).value();
  }
  if (config.alerts.enabled) {
    AlertLineSink sink;
    if (im.log) {
      sink = [w = im.log.get()](std::string&& line) { return w->TryWrite(line); };
    }
    auto alerter = CreateLiveAlerter(config.alerts, im.clock, std::move(sink));
    if (!alerter.ok()) return alerter.status().WithContext("alerts");
    im.alerter = std::move(alerter).value();
  }
  InferenceServiceConfig sc = config.service;
  Impl* raw = &im;
  im.live = std::make_unique<LiveSeries>(LiveSeriesConfig{}, im.clock);
  sc.annotate_request = [raw](RequestLogRecord* rec) {
    raw->Annotate(rec);
    raw->live->AddRequest(*rec);
  };
  if (im.alerter) {
    LiveAlerter* a = im.alerter.get();
    sc.on_request_record = [a](const RequestLogRecord& r) { a->Observe(ToLogRecord(r)); };
    sc.on_batch_record = [a](const BatchLogRecord& r) { a->Observe(ToLogRecord(r)); };
  }
  auto service = InferenceService::Create(sc, im.clock, &im.metrics, im.log.get());
  if (!service.ok()) return service.status();
  im.service = std::move(service).value();
  im.g_queue = im.metrics.GetGauge("yoloscope_queue_length",
                                   "Requests waiting for preprocessing or in the batcher.");
  im.g_in_flight = im.metrics.GetGauge("yoloscope_in_flight_requests",
                                       "Requests admitted and not yet answered.");
  im.g_connections =
      im.metrics.GetGauge("yoloscope_http_connections_open", "Open HTTP connections.");
  YS_RETURN_IF_ERROR(im.StartTelemetry());
  YS_RETURN_IF_ERROR(im.AddRoutes());
  auto server = http::HttpServer::Create(
      config.http, im.router.AsHandler(), im.clock,
      [raw](const http::HttpRejection& rejection) { raw->OnHttpRejection(rejection); });
  if (!server.ok()) return server.status();
  im.http_server = std::move(server).value();
  return s;
}

InferenceServer::~InferenceServer() {
  if (impl_) Shutdown(std::chrono::milliseconds(0));
}

Status InferenceServer::Start() {
  if (impl_->alerter) YS_RETURN_IF_ERROR(impl_->alerter->Start());
  return impl_->http_server->Start();
}
int InferenceServer::port() const { return impl_->http_server->port(); }

bool InferenceServer::Shutdown(std::chrono::milliseconds grace) {
  Impl& im = *impl_;
  std::call_once(im.shutdown_once, [&] {
    // Order: stop accepting and let in-flight requests finish (the HTTP
    // server waits for their Responders), then drain the pipeline, then
    // flush the log so no accepted request's record is lost.
    // Create may have failed half-way: any part may be missing.
    if (im.http_server) im.drained = im.http_server->Shutdown(grace);
    if (im.service) im.service->Shutdown();
    if (im.sampler) im.sampler->Stop();
    // Before the log closes: the last alert records go through it.
    if (im.alerter) im.alerter->Stop();
    // A log that failed to write is reported by GetLogSummary (the records
    // it dropped), not as a drain failure.
    if (im.log) (void)im.log->Close();
  });
  return im.drained;
}

std::string InferenceServer::RenderMetrics() { return impl_->RenderMetricsText(); }

Status InferenceServer::ReopenLogs() {
  // The request log is the only file serve writes (alert records go
  // through it too).
  if (!impl_->log) return Status::Ok();
  return impl_->log->Reopen();
}

InferenceServer::LogSummary InferenceServer::GetLogSummary() const {
  LogSummary summary;
  if (!impl_->log) return summary;
  AsyncLogWriterStats st = impl_->log->GetStats();
  summary.written = st.written_lines;
  summary.dropped = st.dropped_lines;
  for (size_t i = 0; i < kLogDropReasonCount; ++i) {
    if (st.dropped_by_reason[i] > 0) {
      summary.dropped_by_reason.emplace_back(LogDropReasonName(static_cast<LogDropReason>(i)),
                                             st.dropped_by_reason[i]);
    }
  }
  return summary;
}

std::string InferenceServer::Impl::RenderMetricsText() {
  Impl& im = *this;
  InferenceServiceStats st = im.service->Stats();
  im.g_queue->Set(static_cast<double>(st.queue_length));
  im.g_in_flight->Set(static_cast<double>(st.in_flight));
  http::HttpServerStats hs = im.http_server->stats();
  im.g_connections->Set(static_cast<double>(hs.connections_open));
  for (const auto& [reason, count] : hs.RejectedByReason()) {
    // Counters mirror the HTTP layer's totals: set by difference.
    Counter* c = im.metrics.GetCounter("yoloscope_http_rejected_total",
                                       "Requests refused by the HTTP layer, by reason.",
                                       {{"reason", std::string(reason)}});
    if (count > c->value()) c->Inc(count - c->value());
  }
  if (im.log) {
    // Mirrors the writer's own counts (it is the one place that knows why a
    // record was not written): set by difference, every reason always shown.
    AsyncLogWriterStats ls = im.log->GetStats();
    for (size_t i = 0; i < kLogDropReasonCount; ++i) {
      Counter* c = im.metrics.GetCounter(
          "yoloscope_log_records_dropped_total",
          "Request-log records not written, by reason (queue_full, no_space, io_error, ...).",
          {{"reason", LogDropReasonName(static_cast<LogDropReason>(i))}});
      const auto count = static_cast<uint64_t>(ls.dropped_by_reason[i]);
      if (count > c->value()) c->Inc(count - c->value());
    }
    im.metrics
        .GetGauge("yoloscope_log_writable",
                  "1 while the request log is being written, 0 after a failed write.")
        ->Set(im.log->healthy() ? 1 : 0);
    Counter* reopens = im.metrics.GetCounter(
        "yoloscope_log_reopens_total",
        "Request log reopened: SIGHUP, or the file was deleted or moved away.");
    const auto reopened = static_cast<uint64_t>(ls.reopens);
    if (reopened > reopens->value()) reopens->Inc(reopened - reopens->value());
  }
  return im.metrics.Render();
}

Status InferenceServer::Impl::AddRoutes() {
  auto bind = [this](void (Impl::*fn)(Request, Responder)) {
    return
        [this, fn](Request req, Responder resp) { (this->*fn)(std::move(req), std::move(resp)); };
  };
  YS_RETURN_IF_ERROR(router.Add("POST", "/v1/detect", bind(&Impl::HandleDetect)));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v1/stats", bind(&Impl::HandleStats)));
  YS_RETURN_IF_ERROR(router.Add("POST", "/v2/models/{model}/infer", bind(&Impl::HandleInfer)));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/models/{model}", bind(&Impl::HandleModelMetadata)));
  YS_RETURN_IF_ERROR(router.Add("GET", "/metrics", [this](Request, Responder resp) {
    resp.Send(Response::Text(RenderMetricsText(), 200, "text/plain; version=0.0.4; charset=utf-8"));
  }));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/health/live", [](Request, Responder resp) {
    resp.Send(Response::Json(R"({"live":true})"));
  }));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/health/ready", [this](Request, Responder resp) {
    bool ready = service->ready();
    resp.Send(
        Response::Json(ready ? R"({"ready":true})" : R"({"ready":false})", ready ? 200 : 503));
  }));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2", [](Request, Responder resp) {
    resp.Send(Response::Json(std::string(R"({"name":"yoloscope","version":")") + kVersion +
                             R"(","extensions":["binary_tensor_data"]})"));
  }));
  YS_RETURN_IF_ERROR(
      router.Add("GET", "/v2/models/{model}/ready", [this](Request req, Responder resp) {
        if (!CheckModel(req, resp)) return;
        bool ready = service->ready();
        std::string body = "{\"name\":";
        AppendJsonString(service->model_name(), &body);
        body += std::string(",\"ready\":") + (ready ? "true" : "false") + "}";
        resp.Send(Response::Json(std::move(body), ready ? 200 : 503));
      }));
  LivePageOptions live_options;
  live_options.subtitle = "model " + service->model_name() + ", backend " +
                          service->backend_name() + ", device " + service->device();
  YS_RETURN_IF_ERROR(LivePage::AddRoutes(&router, live.get(), live_options));
  return Status::Ok();
}

namespace {

// The /v1/detect response body.
std::string DetectJson(const InferenceResult& r, const std::string& model, const ModelInfo& info) {
  std::string out;
  out.reserve(256 + r.detections.size() * 96);
  out += "{\"request_id\":";
  AppendJsonString(r.request_id, &out);
  out += ",\"model\":";
  AppendJsonString(model, &out);
  out += ",\"width\":" + std::to_string(r.width) + ",\"height\":" + std::to_string(r.height);
  out += ",\"detections\":[";
  for (size_t i = 0; i < r.detections.size(); ++i) {
    const Detection& d = r.detections[i];
    if (i) out += ',';
    out += "{\"class_id\":" + std::to_string(d.class_id) + ",\"label\":";
    AppendJsonString(info.Label(d.class_id), &out);
    out += ",\"score\":";
    AppendJsonNumber(d.score, 4, &out);
    out += ",\"box\":[";
    AppendJsonNumber(d.x1, 2, &out);
    out += ',';
    AppendJsonNumber(d.y1, 2, &out);
    out += ',';
    AppendJsonNumber(d.x2, 2, &out);
    out += ',';
    AppendJsonNumber(d.y2, 2, &out);
    out += "]}";
  }
  out += "],\"batch_size\":" + std::to_string(r.batch_size);
  out += ",\"batch_id\":" + std::to_string(r.batch_id);
  out += ",\"timing\":{\"queue_ms\":";
  AppendMs(r.timing.queue_ms, &out);
  out += ",\"decode_ms\":";
  AppendMs(r.timing.decode_ms, &out);
  out += ",\"preprocess_ms\":";
  AppendMs(r.timing.preprocess_ms, &out);
  out += ",\"inference_ms\":";
  AppendMs(r.timing.inference_ms, &out);
  out += ",\"postprocess_ms\":";
  AppendMs(r.timing.postprocess_ms, &out);
  out += ",\"total_ms\":";
  AppendMs(r.timing.total_ms, &out);
  out += "}}";
  return out;
}

Response ErrorResponse(const InferenceResult& r) {
  Response resp = Response::Error(r.http_status, r.status.message());
  resp.headers.emplace_back("X-Request-Id", r.request_id);
  if (r.http_status == 503) resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

}  // namespace

void InferenceServer::Impl::HandleDetect(Request req, Responder resp) {
  const std::string rid = RequestIdFor(req);
  if (RefusedForAudit(req, resp, rid)) return;
  InferenceRequest ir;
  ir.request_id = rid;
  ir.receive_ns = req.receive_ns();
  ir.arrival_wall_us = ArrivalWallUs(req.receive_ns());

  auto ct = req.header("Content-Type");
  if (!ct) {
    return Reject(req, resp, rid, 415, "unsupported_media_type",
                  "missing Content-Type: send the image as image/jpeg, image/png, image/bmp, "
                  "image/webp, application/octet-stream or multipart/form-data field 'image'");
  }
  auto mt = http::MediaType::Parse(*ct);
  if (!mt.ok()) {
    return Reject(req, resp, rid, 415, "unsupported_media_type",
                  "bad Content-Type: " + mt.status().message());
  }
  if (mt->Is("multipart/form-data")) {
    auto form = http::MultipartForm::Parse(*ct, req.body());
    if (!form.ok()) return Reject(req, resp, rid, 400, "bad_request", form.status().message());
    const http::MultipartPart* part = form->Find("image");
    if (part == nullptr) {
      return Reject(req, resp, rid, 400, "bad_request", "multipart field 'image' is missing");
    }
    ir.image.assign(part->data);
  } else if (mt->type.rfind("image/", 0) == 0 || mt->Is("application/octet-stream")) {
    ir.image = req.TakeBody();
  } else {
    return Reject(req, resp, rid, 415, "unsupported_media_type",
                  "unsupported Content-Type '" + mt->type +
                      "': send image/* , application/octet-stream or multipart/form-data");
  }
  if (ir.image.empty()) return Reject(req, resp, rid, 400, "bad_request", "empty image body");

  // Query first, then the headers (which win): one validation for both.
  RequestParams params;
  for (const char* name : {"conf", "iou", "max_det", "timeout_ms", "priority"}) {
    if (auto v = req.query_param(name)) {
      Status st = ApplyParam(name, "query parameter '" + std::string(name) + "'", *v, &params);
      if (!st.ok()) return Reject(req, resp, rid, 400, "bad_request", st.message());
    }
  }
  for (const auto& [header, name] :
       {std::pair<const char*, const char*>{"X-Timeout-Ms", "timeout_ms"},
        {"X-Priority", "priority"}}) {
    if (auto v = req.header(header)) {
      Status st = ApplyParam(name, std::string("header ") + header, *v, &params);
      if (!st.ok()) return Reject(req, resp, rid, 400, "bad_request", st.message());
    }
  }
  params.ApplyTo(&ir);

  auto shared = std::make_shared<Responder>(std::move(resp));
  const ModelInfo* info = &service->model_info();
  const std::string* model = &service->model_name();
  service->Submit(std::move(ir), [shared, info, model](InferenceResult&& r) {
    if (!r.status.ok()) {
      shared->Send(ErrorResponse(r));
      return;
    }
    Response out = Response::Json(DetectJson(r, *model, *info));
    out.headers.emplace_back("X-Request-Id", r.request_id);
    shared->Send(std::move(out));
  });
}

bool InferenceServer::Impl::CheckModel(const Request& req, Responder& resp) {
  auto m = req.path_param("model");
  if (m && *m == service->model_name()) return true;
  resp.Send(Response::Error(404, "unknown model '" + std::string(m ? *m : "") +
                                     "' (this server serves '" + service->model_name() + "')"));
  return false;
}

void InferenceServer::Impl::HandleModelMetadata(Request req, Responder resp) {
  if (!CheckModel(req, resp)) return;
  const ModelInfo& info = service->model_info();
  nlohmann::json j = {{"name", service->model_name()},
                      {"versions", {"1"}},
                      {"platform", service->backend_name() == "torch"         ? "pytorch_libtorch"
                                   : service->backend_name() == "onnxruntime" ? "onnxruntime_onnx"
                                   : service->backend_name() == "opencv"      ? "onnx_opencv"
                                                                         : service->backend_name()},
                      {"inputs",
                       {{{"name", "images"}, {"datatype", "BYTES"}, {"shape", {-1}}},
                        {{"name", "images"},
                         {"datatype", "FP32"},
                         {"shape", {-1, 3, info.input_h, info.input_w}}}}},
                      {"outputs",
                       {{{"name", "num_detections"}, {"datatype", "INT32"}, {"shape", {-1}}},
                        {{"name", "detections"}, {"datatype", "FP32"}, {"shape", {-1, -1, 6}}}}},
                      {"parameters",
                       {{"layout", "detections rows are x1, y1, x2, y2, score, class_id"},
                        {"classes", info.class_names},
                        {"backend", service->backend_name()},
                        {"engine", info.metadata.count("engine") ? info.metadata.at("engine")
                                                                 : service->backend_name()},
                        {"input_size", {info.input_h, info.input_w}},
                        {"max_batch_size", service->max_batch_size()},
                        {"device", service->device()}}}};
  resp.Send(Response::Json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

void InferenceServer::Impl::HandleStats(Request, Responder resp) {
  InferenceServiceStats st = service->Stats();
  nlohmann::json batches = nlohmann::json::array();
  for (size_t b = 1; b < st.batch_count_by_size.size(); ++b) {
    int64_t n = st.batch_count_by_size[b];
    if (n == 0) continue;
    double total = b < st.batch_latency_ms_by_size.size() ? st.batch_latency_ms_by_size[b] : 0;
    batches.push_back({{"batch_size", b},
                       {"count", n},
                       {"compute_ms_total", total},
                       {"compute_ms_mean", n ? total / static_cast<double>(n) : 0.0}});
  }
  nlohmann::json j = {{"model", service->model_name()},
                      {"backend", service->backend_name()},
                      {"device", service->device()},
                      {"queue_length", st.queue_length},
                      {"in_flight", st.in_flight},
                      {"completed", st.completed},
                      {"log_records_dropped", st.log_records_dropped},
                      {"batch_stats", batches}};
  if (log) {
    AsyncLogWriterStats ls = log->GetStats();
    nlohmann::json by_reason = nlohmann::json::object();
    for (size_t i = 0; i < kLogDropReasonCount; ++i) {
      by_reason[LogDropReasonName(static_cast<LogDropReason>(i))] = ls.dropped_by_reason[i];
    }
    j["log_records_dropped_by_reason"] = by_reason;
    j["log_writable"] = log->healthy();
    j["log_records_written"] = ls.written_lines;
  }
  resp.Send(Response::Json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

void InferenceServer::Impl::HandleInfer(Request req, Responder resp) {
  const std::string rid = RequestIdFor(req);
  if (!CheckModel(req, resp)) {
    service->LogRejected(rid, ArrivalWallUs(req.receive_ns()), req.receive_ns(),
                         static_cast<int64_t>(req.body().size()), 404, "not_found",
                         "unknown model");
    return;
  }
  if (RefusedForAudit(req, resp, rid)) return;
  // KServe binary-tensor extension: a JSON header of the stated length,
  // then the binary tensor data in input order.
  std::string_view body = req.body();
  std::string_view json_text = body, binary;
  if (auto h = req.header("Inference-Header-Content-Length")) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), n);
    if (ec != std::errc() || p != h->data() + h->size() || n > body.size()) {
      return Reject(req, resp, rid, 400, "bad_request",
                    "Inference-Header-Content-Length is not a length within the body");
    }
    json_text = body.substr(0, n);
    binary = body.substr(n);
  }
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Reject(req, resp, rid, 400, "bad_request", "request body is not a JSON object");
  }
  const ModelInfo& info = service->model_info();
  std::vector<InferenceRequest> items;
  std::string reply_id = rid;
  RequestParams params;
  try {
    if (j.contains("id") && j["id"].is_string()) reply_id = j["id"].get<std::string>();
    if (j.contains("parameters") && j["parameters"].is_object()) {
      const auto& p = j["parameters"];
      for (const char* name : {"conf", "iou", "max_det", "timeout_ms", "priority"}) {
        if (!p.contains(name)) continue;
        const auto& v = p[name];
        // The value as text, so that it meets the same checks as a query
        // parameter: a string as is, a number as JSON writes it.
        const std::string text = v.is_string()   ? v.get<std::string>()
                                 : v.is_number() ? v.dump()
                                                 : std::string("<") + v.type_name() + ">";
        Status st = ApplyParam(name, "KServe parameter '" + std::string(name) + "'", text, &params);
        if (!st.ok()) return Reject(req, resp, rid, 400, "bad_request", st.message());
      }
    }
    if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty()) {
      return Reject(req, resp, rid, 400, "bad_request", "'inputs' must be a non-empty array");
    }
    const auto& in = j["inputs"][0];
    const std::string dtype = in.value("datatype", "");
    const std::vector<int64_t> shape = in.at("shape").get<std::vector<int64_t>>();
    int64_t binary_size = -1;
    if (in.contains("parameters") && in["parameters"].contains("binary_data_size")) {
      binary_size = in["parameters"]["binary_data_size"].get<int64_t>();
      if (binary_size < 0 || static_cast<size_t>(binary_size) > binary.size()) {
        return Reject(req, resp, rid, 400, "bad_request", "binary_data_size exceeds the body");
      }
    }
    if (dtype == "BYTES") {
      if (shape.empty() || shape[0] < 1) {
        return Reject(req, resp, rid, 400, "bad_request", "BYTES input needs shape [B]");
      }
      if (binary_size >= 0) {
        std::string_view rest = binary.substr(0, static_cast<size_t>(binary_size));
        while (!rest.empty()) {
          if (rest.size() < 4)
            return Reject(req, resp, rid, 400, "bad_request", "truncated BYTES element");
          uint32_t len;
          std::memcpy(&len, rest.data(), 4);  // little-endian on x86
          rest.remove_prefix(4);
          if (len > rest.size())
            return Reject(req, resp, rid, 400, "bad_request", "truncated BYTES element");
          InferenceRequest ir;
          ir.image.assign(rest.substr(0, len));
          rest.remove_prefix(len);
          items.push_back(std::move(ir));
        }
      } else {
        if (!in.contains("data") || !in["data"].is_array()) {
          return Reject(req, resp, rid, 400, "bad_request", "BYTES input needs 'data'");
        }
        for (const auto& e : in["data"]) {
          if (!e.is_string()) {
            return Reject(req, resp, rid, 400, "bad_request",
                          "BYTES data elements must be base64 strings");
          }
          auto decoded = Base64Decode(e.get<std::string>());
          if (!decoded.ok())
            return Reject(req, resp, rid, 400, "bad_request", decoded.status().message());
          InferenceRequest ir;
          ir.image = std::move(decoded).value();
          items.push_back(std::move(ir));
        }
      }
      if (static_cast<int64_t>(items.size()) != shape[0]) {
        return Reject(req, resp, rid, 400, "bad_request",
                      "BYTES input has " + std::to_string(items.size()) +
                          " elements but shape says " + std::to_string(shape[0]));
      }
    } else if (dtype == "FP32") {
      if (shape.size() != 4 || shape[1] != 3 || shape[2] != info.input_h ||
          shape[3] != info.input_w || shape[0] < 1) {
        return Reject(req, resp, rid, 400, "bad_request",
                      "FP32 input must have shape [B, 3, " + std::to_string(info.input_h) + ", " +
                          std::to_string(info.input_w) + "]");
      }
      const size_t per = static_cast<size_t>(3) * info.input_h * info.input_w;
      const size_t total = per * static_cast<size_t>(shape[0]);
      std::vector<float> flat;
      if (binary_size >= 0) {
        if (static_cast<size_t>(binary_size) != total * sizeof(float)) {
          return Reject(req, resp, rid, 400, "bad_request", "binary FP32 data has the wrong size");
        }
        flat.resize(total);
        std::memcpy(flat.data(), binary.data(), total * sizeof(float));
      } else {
        flat = in.at("data").get<std::vector<float>>();
        if (flat.size() != total) {
          return Reject(req, resp, rid, 400, "bad_request",
                        "FP32 data has " + std::to_string(flat.size()) + " values, shape needs " +
                            std::to_string(total));
        }
      }
      for (int64_t b = 0; b < shape[0]; ++b) {
        InferenceRequest ir;
        ir.tensor =
            TensorInput{std::vector<float>(flat.begin() + b * per, flat.begin() + (b + 1) * per)};
        items.push_back(std::move(ir));
      }
    } else {
      return Reject(req, resp, rid, 400, "bad_request",
                    "input datatype must be BYTES (encoded images) or FP32, not '" + dtype + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    return Reject(req, resp, rid, 400, "bad_request",
                  std::string("malformed KServe request: ") + e.what());
  }

  // One pipeline job per image; answer when the last one completes.
  struct Gather {
    std::mutex mu;
    std::vector<InferenceResult> results;
    size_t remaining;
    Responder resp;
    std::string model, id;
  };
  auto g = std::make_shared<Gather>();
  g->results.resize(items.size());
  g->remaining = items.size();
  g->resp = std::move(resp);
  g->model = service->model_name();
  g->id = reply_id;
  const int64_t wall = ArrivalWallUs(req.receive_ns());
  for (size_t i = 0; i < items.size(); ++i) {
    InferenceRequest& ir = items[i];
    ir.request_id = items.size() == 1 ? rid : rid + "-" + std::to_string(i);
    ir.receive_ns = req.receive_ns();
    ir.arrival_wall_us = wall;
    params.ApplyTo(&ir);
    service->Submit(std::move(ir), [g, i](InferenceResult&& r) {
      std::unique_lock<std::mutex> lock(g->mu);
      g->results[i] = std::move(r);
      if (--g->remaining > 0) return;
      lock.unlock();
      for (const auto& res : g->results) {
        if (!res.status.ok()) {
          g->resp.Send(ErrorResponse(res));
          return;
        }
      }
      size_t k = 0;
      for (const auto& res : g->results) k = std::max(k, res.detections.size());
      std::string out = "{\"model_name\":";
      AppendJsonString(g->model, &out);
      out += ",\"model_version\":\"1\",\"id\":";
      AppendJsonString(g->id, &out);
      const size_t b = g->results.size();
      out += ",\"outputs\":[{\"name\":\"num_detections\",\"datatype\":\"INT32\",\"shape\":[" +
             std::to_string(b) + "],\"data\":[";
      for (size_t x = 0; x < b; ++x) {
        if (x) out += ',';
        out += std::to_string(g->results[x].detections.size());
      }
      out += "]},{\"name\":\"detections\",\"datatype\":\"FP32\",\"shape\":[" + std::to_string(b) +
             "," + std::to_string(k) + ",6],\"data\":[";
      bool first = true;
      for (const auto& res : g->results) {
        for (size_t d = 0; d < k; ++d) {
          float row[6] = {0, 0, 0, 0, 0, -1};  // padding rows: score 0, class -1
          if (d < res.detections.size()) {
            const Detection& det = res.detections[d];
            float v[6] = {det.x1, det.y1,    det.x2,
                          det.y2, det.score, static_cast<float>(det.class_id)};
            std::copy(v, v + 6, row);
          }
          for (float f : row) {
            if (!first) out += ',';
            first = false;
            AppendJsonNumber(f, 4, &out);
          }
        }
      }
      out += "]}]}";
      g->resp.Send(Response::Json(std::move(out)));
    });
  }
}

}  // namespace yoloscope

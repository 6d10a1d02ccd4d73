#include "server/inference_server.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "alerts/alerting_config.h"
#include "alerts/record_adapters.h"
#include "common/heap_usage.h"
#include "fleet/clickhouse_shipper.h"
#include "http/router.h"
#include "logging/async_log_writer.h"
#include "logging/record_writer.h"
#include "reqlog/json_line_serializer.h"
#include "server/frontend.h"
#include "server/frontend_registry.h"
#include "server/heap_trimmer.h"
#include "server/inference_core.h"
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
  std::unique_ptr<InferenceCore> core;
  // The protocol front ends (frontend_registry.h), in registry order.
  std::vector<std::unique_ptr<Frontend>> frontends;
  http::Router router;
  std::unique_ptr<http::HttpServer> http_server;
  std::unique_ptr<HeapTrimmer> heap_trimmer;
  std::unique_ptr<ClickHouseShipper> shipper;  // null unless log.sink
  std::once_flag shutdown_once;
  bool drained = true;

  // Gauges refreshed at scrape time.
  Gauge *g_queue = nullptr, *g_in_flight = nullptr, *g_connections = nullptr;

  // Wall time (the log's ts) of the moment Clock::NowNs was `receive_ns`.
  int64_t ArrivalWallUs(int64_t receive_ns) const {
    return clock->WallNowUs() - (clock->NowNs() - receive_ns) / 1000;
  }

  void OnHttpRejection(const http::HttpRejection& rejection);
  Status AddRoutes();
  std::string RenderMetricsText();
  Status StartTelemetry();
  void OnSample(const DeviceSample& s);
  void Annotate(RequestLogRecord* rec) const;
  // The model's `config` record: what the what-if model needs to know of
  // the setting that produced this log (docs/log-schema.md).
  void WriteConfigRecord();
};

void InferenceServer::Impl::WriteConfigRecord() {
  if (!log) return;
  const InferenceServiceConfig& s = config.service;
  // As the service runs it: max_batch_size capped by the backend.
  const BatcherConfig& b = service->batcher_config();
  ConfigLogRecord rec;
  rec.ts_us = clock->WallNowUs();
  rec.model = service->model_name();
  rec.backend = service->backend_name();
  rec.instances = s.instances;
  rec.max_batch_size = b.max_batch_size;
  rec.max_queue_delay_us = b.max_queue_delay_us;
  rec.max_queue_size = b.max_queue_size;
  rec.preprocess_workers = s.preprocess_workers;
  rec.postprocess_workers = s.postprocess_workers;
  rec.batch_policy = std::string(BatchPolicyName(b.policy));
  // A dropped record is counted by the writer, as any other.
  (void)WriteRecord(&rec, log.get());
}

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
  RejectedRequest r;
  r.request_id = std::move(rid);
  const std::string_view target = rejection.target;
  r.protocol = target.empty()                  ? std::string_view()
               : target.substr(0, 4) == "/v2/" ? std::string_view("kserve_http")
                                               : std::string_view("http");
  r.arrival_wall_us = ArrivalWallUs(arrival_ns);
  r.receive_ns = arrival_ns;
  r.input_bytes = input_bytes;
  r.outcome = rejection.status == 404   ? Outcome::kNotFound
              : rejection.status >= 500 ? Outcome::kUnavailable
                                        : Outcome::kBadRequest;
  r.http_status = rejection.status;
  r.log_status = std::string(RejectionStatus(rejection.reason));
  r.message = std::string(rejection.message);
  service->LogRejected(r);
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
  if (config.heap_trim_interval_ms > 0) {
    im.heap_trimmer =
        std::make_unique<HeapTrimmer>(std::chrono::milliseconds(config.heap_trim_interval_ms));
  }
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
  if (!config.log.sink.empty()) {
    ClickHouseShipperConfig sc;
    sc.uri = config.log.sink;
    sc.log_path = config.log.path;
    sc.origin.replica = config.log.replica;
    sc.nice = config.log.sink_nice;
    sc.warn = [](const std::string& message) {
      std::fprintf(stderr, "yoloscope serve: %s\n", message.c_str());
    };
    auto shipper = ClickHouseShipper::Create(sc);
    if (!shipper.ok()) return shipper.status().WithContext("log.sink");
    im.shipper = std::move(shipper).value();
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
  im.core = std::make_unique<InferenceCore>(im.service.get(), im.ids.get(), im.clock, im.log.get(),
                                            config.log.enabled && config.log.policy == "audit",
                                            config.service.instances);
  FrontendContext fc;
  fc.core = im.core.get();
  fc.router = &im.router;
  fc.config = &im.config;
  fc.clock = im.clock;
  fc.metrics = &im.metrics;
  fc.alerter = im.alerter.get();
  for (const FrontendEntry& entry : FrontendRegistry()) {
    if (!entry.enabled(im.config)) continue;
    auto frontend = entry.create(fc);
    if (!frontend.ok()) return frontend.status().WithContext(std::string(entry.name));
    im.frontends.push_back(std::move(frontend).value());
  }
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
  impl_->WriteConfigRecord();
  if (impl_->alerter) YS_RETURN_IF_ERROR(impl_->alerter->Start());
  for (auto& frontend : impl_->frontends) {
    Status st = frontend->Start();
    if (!st.ok()) return st.WithContext(std::string(frontend->name()));
  }
  if (impl_->heap_trimmer) impl_->heap_trimmer->Start();
  if (impl_->shipper) impl_->shipper->Start();
  return impl_->http_server->Start();
}
int InferenceServer::port() const { return impl_->http_server->port(); }

int InferenceServer::grpc_port() const {
  for (const auto& frontend : impl_->frontends) {
    if (frontend->name() == "kserve_grpc") return frontend->port();
  }
  return -1;
}

bool InferenceServer::Shutdown(std::chrono::milliseconds grace) {
  Impl& im = *impl_;
  std::call_once(im.shutdown_once, [&] {
    // Order: stop accepting and let in-flight requests finish (the HTTP
    // server waits for their Responders), then drain the pipeline, then
    // flush the log so no accepted request's record is lost.
    // Create may have failed half-way: any part may be missing.
    if (im.http_server) im.drained = im.http_server->Shutdown(grace);
    // Front ends with their own listener (gRPC) answer what they accepted.
    for (auto& frontend : im.frontends) im.drained = frontend->Shutdown(grace) && im.drained;
    if (im.service) im.service->Shutdown();
    if (im.sampler) im.sampler->Stop();
    if (im.heap_trimmer) im.heap_trimmer->Stop();
    // Before the log closes: the last alert records go through it.
    if (im.alerter) im.alerter->Stop();
    // A log that failed to write is reported by GetLogSummary (the records
    // it dropped), not as a drain failure.
    if (im.log) (void)im.log->Close();
    // After the log's last line: ship what is left while ClickHouse answers
    // (what it does not take stays in the log and is shipped next start).
    if (im.shipper) im.shipper->Stop(std::chrono::milliseconds(5'000));
  });
  return im.drained;
}

std::string InferenceServer::RenderMetrics() { return impl_->RenderMetricsText(); }

Status InferenceServer::ReopenLogs() {
  // The request log is the only file serve writes (alert records go
  // through it too).
  if (!impl_->log) return Status::Ok();
  Status st = impl_->log->Reopen();
  // The new file (after `mv log log.1`) says which setting wrote it too.
  impl_->WriteConfigRecord();
  return st;
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
  if (auto heap = ReadHeapUsage()) {
    // In use vs free tells a leak (in use grows) from memory the allocator
    // keeps after a burst (free grows); RSS alone cannot.
    const char* help = "The C allocator's heap: bytes in use and bytes it holds free.";
    im.metrics.GetGauge("yoloscope_process_heap_bytes", help, {{"state", "in_use"}})
        ->Set(static_cast<double>(heap->in_use_bytes));
    im.metrics.GetGauge("yoloscope_process_heap_bytes", help, {{"state", "free"}})
        ->Set(static_cast<double>(heap->free_bytes));
  }
  if (im.shipper) {
    const ClickHouseShipperStats ss = im.shipper->stats();
    auto mirror = [&](const char* name, const char* help, int64_t v) {
      Counter* c = im.metrics.GetCounter(name, help);
      if (static_cast<uint64_t>(v) > c->value()) c->Inc(static_cast<uint64_t>(v) - c->value());
    };
    mirror("yoloscope_clickhouse_rows_shipped_total",
           "Request-log records inserted into ClickHouse by this server.", ss.rows_shipped);
    mirror("yoloscope_clickhouse_rows_already_present_total",
           "Records of re-sent blocks that ClickHouse already had (not inserted twice).",
           ss.rows_already_present);
    mirror("yoloscope_clickhouse_insert_failures_total",
           "Failed ClickHouse requests (retried; the records wait in the log).",
           ss.insert_failures);
    mirror("yoloscope_clickhouse_malformed_lines_total",
           "Log lines the ClickHouse sink could not ship (not records).", ss.malformed_lines);
    im.metrics
        .GetGauge("yoloscope_clickhouse_spool_bytes",
                  "Request-log bytes written but not yet in ClickHouse (the spool).")
        ->Set(static_cast<double>(ss.lag_bytes));
    im.metrics
        .GetGauge("yoloscope_clickhouse_healthy", "1 while inserts succeed, 0 after a failure.")
        ->Set(ss.healthy ? 1 : 0);
    im.metrics
        .GetGauge("yoloscope_clickhouse_shipper_cpu_seconds",
                  "CPU time the ClickHouse sink's shipper thread has used since start.")
        ->Set(ss.cpu_seconds);
    im.metrics
        .GetGauge("yoloscope_clickhouse_shipper_nice",
                  "The nice value the ClickHouse sink's shipper thread runs at (log.sink_nice).")
        ->Set(ss.nice);
  }
  for (auto& frontend : im.frontends) frontend->CollectMetrics();
  if (im.heap_trimmer) {
    Counter* trims = im.metrics.GetCounter(
        "yoloscope_heap_trims_total",
        "Times the allocator's free pages were handed back to the kernel (heap_trim_interval_ms).");
    const uint64_t n = im.heap_trimmer->trims();
    if (n > trims->value()) trims->Inc(n - trims->value());
  }
  return im.metrics.Render();
}

Status InferenceServer::Impl::AddRoutes() {
  YS_RETURN_IF_ERROR(router.Add("GET", "/metrics", [this](Request, Responder resp) {
    resp.Send(Response::Text(RenderMetricsText(), 200, "text/plain; version=0.0.4; charset=utf-8"));
  }));
  LivePageOptions live_options;
  live_options.subtitle = "model " + service->model_name() + ", backend " +
                          service->backend_name() + ", device " + service->device();
  // The front ends' parts of /api/live (the streams' panel); the front ends
  // are fixed once Create returns and outlive the router's handlers.
  LiveExtension extend = [this](nlohmann::json* j) {
    for (const auto& frontend : frontends) frontend->AddLiveStatus(j);
  };
  YS_RETURN_IF_ERROR(LivePage::AddRoutes(&router, live.get(), live_options, std::move(extend)));
  return Status::Ok();
}

}  // namespace yoloscope

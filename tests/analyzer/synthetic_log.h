// Test helper: synthetic request logs as streams of LogRecords with owned
// strings, a realistic healthy baseline and hooks to inject one bottleneck.
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analysis_report.h"
#include "analyzer/analyzer.h"
#include "reqlog/record_sink.h"

namespace yoloscope::testing {

// A LogRecord that owns its strings; View() points the string_views at them.
struct TestRecord {
  LogRecord r;
  std::string request_id, model = "yolov8n", status = "ok", error, device = "cuda:0", throttle,
                          source = "synthetic.jsonl", stream, source_kind;
  bool auto_total = true;  // total_ms = sum of stages (+0.3 ms) unless set.

  const LogRecord& View() {
    r.request_id = request_id;
    r.model = model;
    r.status = status;
    r.error = error;
    r.device = device;
    r.throttle_reasons = throttle;
    r.source = source;
    r.stream = stream;
    r.source_kind = source_kind;
    return r;
  }
  void FixTotal() {
    if (!auto_total || r.kind != RecordKind::kRequest) return;
    double s = 0.3;
    for (const auto* v : {&r.queue_ms, &r.decode_ms, &r.preprocess_ms, &r.h2d_ms, &r.inference_ms,
                          &r.d2h_ms, &r.postprocess_ms}) {
      if (*v) s += **v;
    }
    r.total_ms = s;
  }
};

constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

struct SyntheticLog {
  std::deque<TestRecord> records;

  TestRecord& Add(RecordKind kind, int64_t ts_us) {
    records.emplace_back();
    TestRecord& t = records.back();
    t.r.kind = kind;
    t.r.ts_us = ts_us;
    t.r.line = static_cast<int64_t>(records.size());
    if (kind != RecordKind::kRequest) {
      t.model.clear();
      t.status.clear();
      t.device.clear();
    }
    return t;
  }
  void FeedTo(RecordSink* sink) {
    for (TestRecord& t : records) sink->OnRecord(t.View());
  }
  AnalysisReport Analyze(AnalyzerConfig config = {}) {
    LogAggregator agg;
    FeedTo(&agg);
    return Analyzer(config).Analyze(agg);
  }
};

struct RequestShape {
  double t_s;     // seconds since start.
  int64_t index;  // request number.
  std::mt19937* rng;
};

struct HealthyOptions {
  double seconds = 300;
  double rps = 40;
  uint32_t seed = 1;
  bool gpu_telemetry = true;
  bool memory_fields = true;
  double error_rate = 0.001;
  // Called for each request after the healthy defaults; total_ms is
  // recomputed from the stages afterwards unless auto_total is cleared.
  std::function<void(TestRecord&, const RequestShape&)> mutate_request;
  std::function<void(TestRecord&, const RequestShape&)> mutate_gpu;
  // Probability of keeping request i at time t (load shape); null = all.
  std::function<double(double t_s)> keep;
};

inline double LogNormal(std::mt19937& rng, double median, double sigma) {
  std::normal_distribution<double> n(0.0, sigma);
  return median * std::exp(n(rng));
}

inline double Uniform(std::mt19937& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

// Inference time of a healthy GPU at batch b (ms, median).
inline double HealthyInference(int64_t b) { return 8.0 + 3.0 * static_cast<double>(b); }

inline SyntheticLog HealthyLog(const HealthyOptions& o = {}) {
  SyntheticLog log;
  std::mt19937 rng(o.seed);
  const int64_t n = static_cast<int64_t>(o.seconds * o.rps);
  int64_t next_gpu_s = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = (static_cast<double>(i) + Uniform(rng, 0.0, 0.9)) / o.rps;
    if (o.keep && Uniform(rng, 0, 1) >= o.keep(t)) continue;
    while (o.gpu_telemetry && static_cast<double>(next_gpu_s) <= t) {
      TestRecord& g = log.Add(RecordKind::kGpu, kT0 + next_gpu_s * 1'000'000);
      g.r.gpu_id = 0;
      g.r.gpu_util = Uniform(rng, 45, 65);
      g.r.mem_used_mb = 6100 + Uniform(rng, -50, 50);
      g.r.mem_total_mb = 16384;
      g.r.mem_other_processes_mb = 0;
      g.r.sm_clock_mhz = 1980 + Uniform(rng, -15, 15);
      g.r.temp_c = 62 + Uniform(rng, -2, 2);
      g.r.power_w = 180 + Uniform(rng, -10, 10);
      if (o.mutate_gpu) {
        RequestShape shape{static_cast<double>(next_gpu_s), next_gpu_s, &rng};
        o.mutate_gpu(g, shape);
      }
      ++next_gpu_s;
    }
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + static_cast<int64_t>(t * 1e6));
    q.request_id = "req-" + std::to_string(i);
    q.r.gpu_id = 0;
    q.r.input_w = 1280;
    q.r.input_h = 720;
    q.r.input_bytes = 200000;
    const int64_t queue_len = std::uniform_int_distribution<int64_t>(0, 3)(rng);
    const int64_t b = std::min<int64_t>(1 + queue_len, 4);
    q.r.queue_len = queue_len;
    q.r.batch_size = b;
    q.r.batch_id = i;
    q.r.queue_ms = Uniform(rng, 0.3, 4.0);
    q.r.decode_ms = LogNormal(rng, 2.5, 0.15);
    q.r.preprocess_ms = LogNormal(rng, 1.5, 0.15);
    q.r.h2d_ms = LogNormal(rng, 0.4, 0.1);
    q.r.inference_ms = LogNormal(rng, HealthyInference(b), 0.08);
    q.r.d2h_ms = LogNormal(rng, 0.2, 0.1);
    q.r.postprocess_ms = LogNormal(rng, 1.2, 0.15);
    q.r.detections = std::uniform_int_distribution<int64_t>(2, 20)(rng);
    q.r.gpu_util = Uniform(rng, 45, 65);
    if (o.memory_fields) {
      q.r.mem_used_mb = 6000 + 200.0 * static_cast<double>(b) + Uniform(rng, -30, 30);
      q.r.mem_total_mb = 16384;
      q.r.mem_reserved_mb = 5200 + Uniform(rng, -20, 20);
      q.r.mem_allocated_mb = 4600 + 50.0 * static_cast<double>(b) + Uniform(rng, -20, 20);
      q.r.alloc_retries = 0;
      q.r.oom = false;
    }
    if (Uniform(rng, 0, 1) < o.error_rate) {
      q.status = "500";
      q.error = "internal error";
    }
    if (o.mutate_request) {
      RequestShape shape{t, i, &rng};
      o.mutate_request(q, shape);
    }
    q.FixTotal();
  }
  return log;
}

inline const Finding* FindKind(const AnalysisReport& r, std::string_view kind) {
  for (const Finding& f : r.findings) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

inline bool HasWarningOrWorse(const AnalysisReport& r) {
  for (const Finding& f : r.findings) {
    if (f.severity >= FindingSeverity::kWarning) return true;
  }
  return false;
}

inline std::string Describe(const AnalysisReport& r) {
  std::string s;
  for (const Finding& f : r.findings) {
    s += std::string(SeverityName(f.severity)) + " " + f.kind + ": " + f.title + "\n";
    for (const std::string& e : f.evidence) s += "    " + e + "\n";
  }
  for (const SkippedCheck& c : r.skipped_checks) s += "skipped " + c.check + ": " + c.reason + "\n";
  return s;
}

}  // namespace yoloscope::testing

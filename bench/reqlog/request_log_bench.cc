// Micro-benchmarks of the request log's cost per record in `serve`:
//
//   BM_SerializeRequestRecord   AppendJsonLine of a typical `request` record
//                               into a reused string (the serializer alone);
//   BM_LogRequestRecordPaced    what a serving thread does per request with
//                               the log on (serialize + hand to the
//                               AsyncLogWriter), paced like a busy server:
//                               bursts of 8 records (one batch completing)
//                               every 200 us (~40k records/s), the writer
//                               thread writing a real file in /tmp.
//                               Counters: serving-thread CPU per record
//                               (inside the bursts) and whole-process CPU
//                               per record (serving thread + writer thread +
//                               its wake-ups); subtract BM_PacingOnly's
//                               counters (the same loop without logging) for
//                               the log's own cost.
//
// Run: build-http/src/logging/bench/request_log_bench
//        --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/clock.h"
#include "logging/async_log_writer.h"
#include "logging/record_writer.h"
#include "reqlog/json_line_serializer.h"
#include "reqlog/log_records.h"

namespace yoloscope {
namespace {

constexpr int kBurst = 8;
constexpr auto kBurstPeriod = std::chrono::microseconds(200);

// A record as `serve` writes it for an ok request on the simulated GPU.
RequestLogRecord TypicalRecord(int64_t i) {
  RequestLogRecord r;
  r.ts_us = 1795544475196790 + i * 23;
  r.request_id = "01M87CMSHWV53Y9FTCVG3P2WV7";
  r.model = "fast-sim";
  r.backend = "sim";
  r.device = "sim:0";
  r.gpu_id = 0;
  r.input_w = 640;
  r.input_h = 480;
  r.input_bytes = 48213;
  r.batch_id = 18507 + i / 8;
  r.batch_size = 8;
  r.queue_len = 47;
  r.queue_ms = 1.09 + 0.001 * static_cast<double>(i % 100);
  r.decode_ms = 0.004;
  r.preprocess_ms = 0.007;
  r.h2d_ms = 0.026;
  r.inference_ms = 0.009;
  r.d2h_ms = 0.019;
  r.postprocess_ms = 0.084;
  r.total_ms = 3.909 + 0.001 * static_cast<double>(i % 1000);
  r.detections = 3;
  r.status = "ok";
  r.gpu_util = 61.3;
  r.mem_used_mb = 539;
  r.mem_total_mb = 81559;
  r.mem_reserved_mb = 26;
  r.mem_allocated_mb = 0.2;
  r.alloc_retries = 0;
  r.oom = false;
  return r;
}

int64_t CpuNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void BM_SerializeRequestRecord(benchmark::State& state) {
  RequestLogRecord r = TypicalRecord(0);
  std::string line;
  int64_t i = 0;
  for (auto _ : state) {
    r.ts_us += 23;
    r.total_ms = 3.909 + 0.001 * static_cast<double>(++i % 1000);
    line.clear();
    AppendJsonLine(r, &line);
    benchmark::DoNotOptimize(line.data());
  }
  state.counters["bytes"] = static_cast<double>(line.size());
}
BENCHMARK(BM_SerializeRequestRecord);

// One record the way the serving thread hands it over (InferenceService).
bool LogOne(AsyncLogWriter* log, RequestLogRecord* r) { return WriteRecord(r, log); }

// Runs `per_record(i)` kBurst times per period. Counters:
//   burst_thread_cpu_ns_per_record  serving-thread CPU inside the bursts
//                                   (clock_gettime around each burst);
//   process_cpu_ns_per_record       all threads, whole run, pacing included
//                                   (subtract BM_PacingOnly's).
template <typename Fn>
void Paced(benchmark::State& state, Fn&& per_record) {
  int64_t records = 0;
  int64_t burst_ns = 0;
  const int64_t process0 = CpuNs(CLOCK_PROCESS_CPUTIME_ID);
  auto next = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const int64_t t0 = CpuNs(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < kBurst; ++k) per_record(records++);
    burst_ns += CpuNs(CLOCK_THREAD_CPUTIME_ID) - t0;
    next += kBurstPeriod;
    std::this_thread::sleep_until(next);
  }
  const double n = static_cast<double>(records);
  state.counters["burst_thread_cpu_ns_per_record"] = static_cast<double>(burst_ns) / n;
  state.counters["process_cpu_ns_per_record"] =
      static_cast<double>(CpuNs(CLOCK_PROCESS_CPUTIME_ID) - process0) / n;
  state.counters["records_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(records);
}

void BM_PacingOnly(benchmark::State& state) {
  RequestLogRecord r = TypicalRecord(0);
  Paced(state, [&](int64_t i) {
    r.ts_us += i;
    benchmark::DoNotOptimize(r);
  });
}
BENCHMARK(BM_PacingOnly)->UseRealTime()->MinTime(2.0);

void BM_LogRequestRecordPaced(benchmark::State& state) {
  RealClock clock;
  char path[] = "/tmp/ys_request_log_bench_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) {
    state.SkipWithError("mkstemp failed");
    return;
  }
  ::close(fd);
  AsyncLogWriterConfig config;
  config.path = path;
  config.truncate = true;
  config.max_file_bytes = 0;
  auto log = AsyncLogWriter::Create(config, &clock);
  if (!log.ok()) {
    state.SkipWithError(log.status().ToString().c_str());
    ::unlink(path);
    return;
  }
  RequestLogRecord r = TypicalRecord(0);
  int64_t dropped = 0;
  Paced(state, [&](int64_t i) {
    r.ts_us += 23;
    r.total_ms = 3.909 + 0.001 * static_cast<double>(i % 1000);
    if (!LogOne(log->get(), &r)) ++dropped;
  });
  (void)(*log)->Close();
  state.counters["dropped"] = static_cast<double>(dropped);
  ::unlink(path);
}
BENCHMARK(BM_LogRequestRecordPaced)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace yoloscope

BENCHMARK_MAIN();

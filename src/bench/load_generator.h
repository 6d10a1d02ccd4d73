// LoadGenerator: `yoloscope bench --url ...`, an HTTP load generator for
// yoloscope servers and KServe v2 servers (Triton).
//
// Modes:
// - closed loop: for each concurrency level C, C keep-alive connections each
//   keep exactly one request outstanding (the next one is sent when the
//   previous response has been read), so the server never sees more than C
//   requests of ours at once. Latency: from send to end of response.
// - open loop: for each rate R, requests are scheduled by an ArrivalSchedule
//   (constant or Poisson gaps) independently of the responses, and sent on an
//   idle pooled connection (a new one is opened when none is idle, up to
//   max_connections; beyond that they wait in a backlog). Latency is measured
//   from each request's SCHEDULED send time, not from when it was actually
//   written, so a server (or client) stall shows up in the latencies instead
//   of silently delaying the load (no coordinated omission).
// - replay: the arrival times (and image sizes) of a recorded request log,
//   scaled by a speed factor, sent open loop as above; measured as one window
//   from the first arrival until the last response.
//
// Measurement (closed and open loop): a warm-up period whose responses are
// discarded, then fixed windows; the level ends when the last
// stability.windows windows agree within stability.tolerance on throughput
// and p99 (StabilityChecker), or after max_windows windows (reported as not
// stable). A level's result pools the last stability.windows windows.
// Responses still outstanding when a level ends are awaited (up to
// drain_timeout_ms, then their connections are closed) but not counted.
//
// Implementation: Boost.Asio/Beast on ONE I/O thread (the thread that calls
// Run), requests prepared once per image (RequestBuilder), so one thread
// sustains tens of thousands of requests per second.
//
// Time: real time (std::chrono::steady_clock) throughout, since it drives
// real sockets; the time-dependent logic (windows, stability, schedules) is
// in MeasurementWindow, StabilityChecker and ArrivalSchedule and tested there.
//
// Thread-safety: Run is called once, from one thread; it blocks until every
// level is done. on_level is called on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bench/arrival_schedule.h"
#include "bench/bench_report.h"
#include "bench/image_set.h"
#include "bench/request_builder.h"
#include "bench/stability_checker.h"
#include "common/status.h"

namespace yoloscope {

struct MeasurementConfig {
  int64_t warmup_ms = 1000;   // responses in this period are discarded (>= 0)
  int64_t window_ms = 2000;   // length of one measurement window (> 0)
  int max_windows = 10;       // a level stops after this many windows (>= stability.windows)
  StabilityConfig stability;  // last 3 windows within 10% (throughput and p99)
  int64_t drain_timeout_ms = 10'000;  // wait for outstanding responses after a level
};

struct LoadGeneratorConfig {
  TargetConfig target;
  ImageSetConfig images;  // default: 4 generated 640x480 JPEGs
  LoadMode mode = LoadMode::kClosedLoop;
  std::vector<int> concurrency = {1};                  // closed loop levels, each >= 1
  std::vector<double> rates;                           // open loop levels in req/s, each > 0
  ArrivalProcess arrivals = ArrivalProcess::kPoisson;  // open loop gaps
  std::vector<Arrival> replay;                         // replay: arrivals (ReplayLog::arrivals())
  double replay_speed = 1.0;                           // replay: > 0; 2 = twice as fast
  // Open loop / replay: most connections to open; requests due while all
  // are busy wait in a backlog (their latency still counts from schedule).
  int max_connections = 1024;
  // Open loop / replay: connections opened before the first request.
  int initial_connections = 16;
  uint64_t seed = 1;  // Poisson schedule seed (level i uses seed + i)
  MeasurementConfig measurement;
  // Called after each level with its result (progress output).
  std::function<void(const LevelResult&)> on_level;
};

class LoadGenerator {
 public:
  // Validates the config, prepares the images and requests and resolves the
  // host. InvalidArgument for a bad config, NotFound for a missing image
  // folder, Unavailable when the host does not resolve. Connects nothing yet.
  static StatusOr<std::unique_ptr<LoadGenerator>> Create(const LoadGeneratorConfig& config);
  ~LoadGenerator();

  // Runs every level in order on the calling thread. Fails (Unavailable)
  // only when no connection to the server could ever be made; HTTP errors
  // are results, counted by status.
  StatusOr<BenchReport> Run();

 private:
  class Engine;
  LoadGenerator() = default;
  std::unique_ptr<Engine> engine_;
};

}  // namespace yoloscope

// EngineCurve: a model's measured batch-latency curve (what `yoloscope bench
// --engine` measures), with its file formats.
//
// Files (Save picks by extension: .json -> JSON, anything else -> CSV):
// - CSV: a header line, then one row per batch size:
//     batch_size,latency_ms,p99_ms,mean_ms,per_image_ms,throughput_ips,
//     peak_memory_mb,memory_kind,iterations
//   plus leading `# key: value` comment lines (model, backend, device, input
//   size, threads).
// - JSON: {"model":..., "backend":..., "device":..., "input_w":..,
//   "input_h":.., "threads":.., "curve":[{"batch_size":1,"latency_ms":..,
//   "p99_ms":.., ...}, ...]}.
// `latency_ms` is the MEDIAN (p50) latency of one batch; both formats are
// what the simulated GPU's LoadLatencyCurve reads (batch_size, latency_ms),
// so a measured curve can drive `--backend sim` (latency.curve_file).
// BatcherSeedUs() turns the curve into BatcherConfig::latency_curve_us (the
// adaptive batcher's seed).
//
// Units: ms for latencies, images/s for throughput, MiB for memory.
// Thread-safety: value type.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct CurvePoint {
  int batch_size = 1;
  int iterations = 0;  // timed runs
  double p50_ms = 0;   // latency of one batch (median); saved as latency_ms
  double p99_ms = 0;
  double mean_ms = 0;
  double per_image_ms = 0;    // p50_ms / batch_size
  double throughput_ips = 0;  // images per second: batch_size * 1000 / mean_ms
  // Peak memory while running this batch size: device memory (reserved, else
  // used) when the backend reports it, else the process's peak RSS (VmHWM).
  std::optional<double> peak_memory_mb;
  std::string memory_kind;  // "device_reserved" | "device_used" | "rss_peak" | ""
};

class EngineCurve {
 public:
  std::string model;    // model file or name
  std::string backend;  // torch, opencv, sim, identity
  std::string device;   // cpu, cuda:0, sim:0
  int input_w = 0, input_h = 0;
  int threads = 0;                 // intra-op threads asked for (0 = default)
  std::vector<CurvePoint> points;  // ascending batch_size, distinct

  // The point for batch size `b`, or null.
  const CurvePoint* Find(int b) const;

  std::string ToCsv() const;
  std::string ToJson() const;
  // Writes CSV or JSON (by extension). Internal error when unwritable.
  Status Save(const std::string& path) const;
  // Reads a file written by Save (CSV or JSON, by content). NotFound for a
  // missing file, InvalidArgument for bad content.
  static StatusOr<EngineCurve> Load(const std::string& path);
  static StatusOr<EngineCurve> Parse(const std::string& text);

  // BatcherConfig::latency_curve_us for max_batch_size: entry i is the
  // median latency of batch size i + 1 in microseconds where measured, 0
  // (unknown) elsewhere.
  std::vector<double> BatcherSeedUs(int max_batch_size) const;

  // The curve as a text table plus a bar chart of throughput and per-image
  // latency (`width` characters for the longest bar).
  std::string ToTable() const;
  std::string ToChart(int width = 40) const;
};

}  // namespace yoloscope

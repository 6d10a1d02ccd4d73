#include "backends/sim_gpu_model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace yoloscope {
namespace {

constexpr double kBytesPerMb = 1024.0 * 1024.0;

// PyTorch CUDACachingAllocator constants (c10/cuda/CUDACachingAllocator.cpp).
constexpr int64_t kMinBlockSize = 512;
constexpr int64_t kSmallSize = 1 << 20;       // largest "small" request: 1 MiB.
constexpr int64_t kSmallBuffer = 2 << 20;     // small-pool segment: 2 MiB.
constexpr int64_t kLargeBuffer = 20 << 20;    // segment for 1..10 MiB requests.
constexpr int64_t kMinLargeAlloc = 10 << 20;  // from here, segment = rounded size.
constexpr int64_t kRoundLarge = 2 << 20;      // large segments round to 2 MiB.

int64_t RoundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }
int64_t MbToBytes(double mb) { return static_cast<int64_t>(std::llround(mb * kBytesPerMb)); }
double BytesToMb(int64_t bytes) { return static_cast<double>(bytes) / kBytesPerMb; }

std::string Fmt(double v) {
  std::ostringstream os;
  os.precision(v < 10 ? 3 : 6);
  os << v;
  return os.str();
}

// Records the tensor allocations and frees of one forward pass.
class ForwardBuilder {
 public:
  int Alloc(double mb) {
    int slot = slots_++;
    ops_.push_back({true, slot, mb});
    return slot;
  }
  void Free(int slot) { ops_.push_back({false, slot, 0}); }

  // A 1x1/3x3 conv: a new tensor; `src` dies unless it is kept elsewhere.
  int Conv(int src, double mb, bool free_src) {
    int out = Alloc(mb);
    if (free_src) Free(src);
    return out;
  }
  // A C2f block with n bottlenecks: cv1 (split into halves, views), n
  // bottlenecks (each with an inner temporary), concat, cv2.
  int C2f(int src, double mb, int n, bool free_src) {
    int y = Conv(src, mb, free_src);
    std::vector<int> parts;
    for (int i = 0; i < n; ++i) {
      int inner = Alloc(mb / 2);
      parts.push_back(Alloc(mb / 2));
      Free(inner);
    }
    int cat = Alloc((2 + n) * mb / 2);
    Free(y);
    for (int p : parts) Free(p);
    return Conv(cat, mb, true);
  }

  // Scales every size so the peak of live activation bytes is 1.0.
  std::vector<SimGpuModel::ForwardOp> Normalized(int* slots) const {
    std::vector<double> size(slots_, 0.0);
    double live = 0, peak = 0;
    for (const auto& op : ops_) {
      if (op.alloc) {
        size[op.slot] = op.fraction;
        live += op.fraction;
        peak = std::max(peak, live);
      } else {
        live -= size[op.slot];
      }
    }
    std::vector<SimGpuModel::ForwardOp> out = ops_;
    for (auto& op : out) op.fraction /= peak;
    *slots = slots_;
    return out;
  }

 private:
  std::vector<SimGpuModel::ForwardOp> ops_;
  int slots_ = 0;
};

// The tensors of a YOLOv8n-like forward at 640 (sizes in MB per image in
// FP32 before normalisation: stem 16x320x320 = 6.55 MB, each stage halves).
// Backbone P3/P4/P5 outputs stay alive until the neck consumes them; the
// neck's outputs until the head. The input (slot-less, allocated first and
// freed after the stem) and the output tensor are handled by the caller.
std::vector<SimGpuModel::ForwardOp> BuildYoloLikeForward(int* slots) {
  ForwardBuilder f;
  int stem = f.Alloc(6.55);          // 16 x 320^2
  int x = f.Conv(stem, 3.28, true);  // 32 x 160^2
  x = f.C2f(x, 3.28, 1, true);
  x = f.Conv(x, 1.64, true);  // 64 x 80^2
  int p3 = f.C2f(x, 1.64, 2, true);
  x = f.Conv(p3, 0.82, false);  // 128 x 40^2
  int p4 = f.C2f(x, 0.82, 2, true);
  x = f.Conv(p4, 0.41, false);  // 256 x 20^2
  x = f.C2f(x, 0.41, 1, true);
  // SPPF: cv1, three max-pools, concat, cv2.
  int s1 = f.Conv(x, 0.2, true);
  int m1 = f.Alloc(0.2), m2 = f.Alloc(0.2), m3 = f.Alloc(0.2);
  int cat = f.Alloc(0.82);
  for (int t : {s1, m1, m2, m3}) f.Free(t);
  int p5 = f.Conv(cat, 0.41, true);
  // Neck, top-down.
  int up = f.Alloc(1.64);  // P5 upsampled to 40^2
  cat = f.Alloc(2.46);     // + P4
  f.Free(up);
  f.Free(p4);
  int n4 = f.C2f(cat, 0.82, 1, true);
  up = f.Alloc(3.28);   // N4 upsampled to 80^2
  cat = f.Alloc(4.92);  // + P3
  f.Free(up);
  f.Free(p3);
  int o3 = f.C2f(cat, 1.64, 1, true);
  // Bottom-up.
  int d = f.Conv(o3, 0.41, false);
  cat = f.Alloc(1.23);  // + N4
  f.Free(d);
  f.Free(n4);
  int o4 = f.C2f(cat, 0.82, 1, true);
  d = f.Conv(o4, 0.2, false);
  cat = f.Alloc(0.61);  // + P5
  f.Free(d);
  f.Free(p5);
  int o5 = f.C2f(cat, 0.41, 1, true);
  // Head: per level a box and a class branch (two convs each).
  for (auto [o, mb] : {std::pair{o3, 1.64}, std::pair{o4, 0.82}, std::pair{o5, 0.41}}) {
    int box = f.Conv(o, mb, false);
    box = f.Conv(box, mb, true);
    int cls = f.Conv(o, mb * 1.25, true);
    cls = f.Conv(cls, mb * 1.25, true);
    f.Free(box);
    f.Free(cls);
  }
  return f.Normalized(slots);
}

}  // namespace

// ------------------------------------------------------------ event names --

StatusOr<SimEventType> ParseSimEventType(const std::string& name) {
  if (name == "cotenant") return SimEventType::kCotenant;
  if (name == "throttle") return SimEventType::kThrottle;
  if (name == "leak") return SimEventType::kLeak;
  if (name == "contention") return SimEventType::kContention;
  return InvalidArgumentError("unknown sim event type '" + name +
                              "' (cotenant, throttle, leak, contention)");
}

const char* SimEventTypeName(SimEventType type) {
  switch (type) {
    case SimEventType::kCotenant:
      return "cotenant";
    case SimEventType::kThrottle:
      return "throttle";
    case SimEventType::kLeak:
      return "leak";
    case SimEventType::kContention:
      return "contention";
  }
  return "unknown";
}

// ------------------------------------------------------------- validation --

Status SimGpuConfig::Validate() const {
  auto bad = [](const std::string& what) { return InvalidArgumentError("sim config: " + what); };
  if (input_w < 32 || input_h < 32 || input_w % 32 != 0 || input_h % 32 != 0) {
    return bad("model.input_size must be a multiple of 32, >= 32 (got " + std::to_string(input_h) +
               "x" + std::to_string(input_w) + ")");
  }
  const SimDeviceConfig& d = device;
  if (!(d.memory_mb > 0)) return bad("device.memory_mb must be > 0");
  if (d.context_mb < 0) return bad("device.context_mb must be >= 0");
  if (!(d.sm_clock_mhz > 0)) return bad("device.sm_clock_mhz must be > 0");
  if (!(d.pcie_gbps > 0)) return bad("device.pcie_gbps must be > 0");
  if (d.copy_latency_us < 0) return bad("device.copy_latency_us must be >= 0");
  if (d.idle_power_w < 0 || d.max_power_w < d.idle_power_w) {
    return bad("device power: need 0 <= idle_power_w <= max_power_w");
  }
  if (d.max_temp_c < d.idle_temp_c) return bad("device.max_temp_c must be >= idle_temp_c");
  if (!(d.temp_time_constant_s > 0)) return bad("device.temp_time_constant_s must be > 0");
  const SimLatencyConfig& l = latency;
  if (l.base_ms < 0 || l.per_image_ms < 0) return bad("latency.base_ms/per_image_ms must be >= 0");
  if (!(l.alpha > 0)) return bad("latency.alpha must be > 0");
  if (l.curve.empty() && !(l.base_ms + l.per_image_ms > 0)) {
    return bad("latency: base_ms + per_image_ms must be > 0");
  }
  for (size_t i = 0; i < l.curve.size(); ++i) {
    if (l.curve[i].first < 1 || !(l.curve[i].second > 0)) {
      return bad("latency.curve: batch sizes must be >= 1 and latencies > 0");
    }
    if (i > 0 && l.curve[i].first <= l.curve[i - 1].first) {
      return bad("latency.curve: batch sizes must be distinct and sorted");
    }
  }
  if (l.jitter_pct < 0 || l.jitter_pct > 50) return bad("latency.jitter_pct must be in [0, 50]");
  const SimMemoryConfig& m = memory;
  if (m.weights_mb < 0 || m.activation_mb_per_image < 0 || m.other_processes_mb < 0) {
    return bad("memory sizes must be >= 0");
  }
  if (!(m.memory_fraction > 0) || m.memory_fraction > 1) {
    return bad("memory.memory_fraction must be in (0, 1]");
  }
  if (m.cache_flush_ms < 0) return bad("memory.cache_flush_ms must be >= 0");
  if (d.context_mb + m.weights_mb + m.other_processes_mb >= d.memory_mb) {
    return bad("context_mb + weights_mb + other_processes_mb leave no device memory");
  }
  if (output.detections_per_image < 0 || output.detections_per_image > 20) {
    return bad("output.detections_per_image must be in [0, 20]");
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const SimEvent& e = events[i];
    std::string where = "events[" + std::to_string(i) + "] (" + SimEventTypeName(e.type) + "): ";
    if (e.start_s < 0 || !(e.end_s > e.start_s)) return bad(where + "need 0 <= start_s < end_s");
    switch (e.type) {
      case SimEventType::kCotenant:
        if (e.mb < 0 || e.ramp_s < 0) return bad(where + "mb and ramp_s must be >= 0");
        break;
      case SimEventType::kLeak:
        if (!(e.mb_per_batch > 0)) return bad(where + "mb_per_batch must be > 0");
        break;
      case SimEventType::kThrottle:
        if (!(e.clock_factor > 0) || e.clock_factor > 1) {
          return bad(where + "clock_factor must be in (0, 1]");
        }
        if (e.latency_factor != 0 && e.latency_factor < 1) {
          return bad(where + "latency_factor must be >= 1");
        }
        if (e.reason.empty()) return bad(where + "reason must not be empty");
        break;
      case SimEventType::kContention:
        if (e.latency_factor != 0 && e.latency_factor < 1) {
          return bad(where + "latency_factor must be >= 1");
        }
        if (e.util_pct < 0 || e.util_pct > 100) return bad(where + "util_pct must be in [0, 100]");
        break;
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------ YAML config --

namespace {

// Throws InvalidArgument-worthy errors as std::runtime_error inside the
// parser; ParseSimGpuConfig turns them into a Status.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void CheckKeys(const YAML::Node& map, const std::string& where,
               std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) throw ConfigError(where + " must be a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw ConfigError("unknown key '" + (where.empty() ? key : where + "." + key) +
                        "' (expected one of: " + list + ")");
    }
  }
}

template <typename T>
void Read(const YAML::Node& map, const char* key, const std::string& where, T* out) {
  YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) return;
  try {
    *out = v.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError("bad value for " + (where.empty() ? std::string(key) : where + "." + key));
  }
}

std::vector<std::pair<int, double>> ReadCurve(const YAML::Node& node) {
  std::vector<std::pair<int, double>> curve;
  try {
    if (node.IsMap()) {
      for (const auto& kv : node) curve.emplace_back(kv.first.as<int>(), kv.second.as<double>());
    } else if (node.IsSequence()) {
      for (const auto& p : node) {
        if (!p.IsSequence() || p.size() != 2) throw ConfigError("");
        curve.emplace_back(p[0].as<int>(), p[1].as<double>());
      }
    } else {
      throw ConfigError("");
    }
  } catch (const std::exception&) {
    throw ConfigError("latency.curve must be a mapping {batch: ms} or a list of [batch, ms]");
  }
  std::sort(curve.begin(), curve.end());
  return curve;
}

SimEvent ReadEvent(const YAML::Node& n, size_t index) {
  std::string where = "events[" + std::to_string(index) + "]";
  CheckKeys(n, where,
            {"type", "start_s", "end_s", "mb", "ramp_s", "mb_per_batch", "clock_factor",
             "latency_factor", "util_pct", "reason", "evict_cache", "note"});
  SimEvent e;
  std::string type;
  Read(n, "type", where, &type);
  auto t = ParseSimEventType(type);
  if (!t.ok()) throw ConfigError(where + ": " + t.status().message());
  e.type = *t;
  Read(n, "start_s", where, &e.start_s);
  Read(n, "end_s", where, &e.end_s);
  Read(n, "mb", where, &e.mb);
  Read(n, "ramp_s", where, &e.ramp_s);
  Read(n, "mb_per_batch", where, &e.mb_per_batch);
  Read(n, "clock_factor", where, &e.clock_factor);
  Read(n, "latency_factor", where, &e.latency_factor);
  Read(n, "util_pct", where, &e.util_pct);
  Read(n, "reason", where, &e.reason);
  Read(n, "evict_cache", where, &e.evict_cache);
  return e;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\"");
  size_t e = s.find_last_not_of(" \t\r\n\"");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(Trim(cell));
  return out;
}

constexpr const char* kBatchColumns[] = {"batch_size", "batch"};
constexpr const char* kLatencyColumns[] = {"latency_ms", "inference_ms", "p50_ms", "median_ms",
                                           "mean_ms"};

// One {batch, latency} object of a JSON curve.
bool JsonPoint(const nlohmann::json& o, std::pair<int, double>* p) {
  if (!o.is_object()) return false;
  const nlohmann::json* b = nullptr;
  const nlohmann::json* l = nullptr;
  for (const char* k : kBatchColumns) {
    if (b == nullptr && o.contains(k)) b = &o[k];
  }
  for (const char* k : kLatencyColumns) {
    if (l == nullptr && o.contains(k)) l = &o[k];
  }
  if (b == nullptr || l == nullptr || !b->is_number() || !l->is_number()) return false;
  *p = {b->get<int>(), l->get<double>()};
  return true;
}

}  // namespace

StatusOr<std::vector<std::pair<int, double>>> LoadLatencyCurve(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("latency curve file not found: " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<int, double>> curve;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgumentError("latency curve " + path + ": invalid JSON");
    if (j.is_object()) {
      for (const char* k : {"curve", "results", "batches"}) {
        if (j.contains(k)) {
          j = j[k];
          break;
        }
      }
    }
    if (j.is_object()) {  // {"1": 1.6, "8": 2.6}
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number()) return InvalidArgumentError("latency curve " + path + ": bad value");
        char* end = nullptr;
        long b = std::strtol(k.c_str(), &end, 10);
        if (end == k.c_str() || *end != '\0') {
          return InvalidArgumentError("latency curve " + path + ": key '" + k +
                                      "' is not a batch size");
        }
        curve.emplace_back(static_cast<int>(b), v.get<double>());
      }
    } else if (j.is_array()) {
      for (const auto& o : j) {
        std::pair<int, double> p;
        if (!JsonPoint(o, &p)) {
          return InvalidArgumentError("latency curve " + path +
                                      ": entries need batch_size and latency_ms (or inference_ms, "
                                      "p50_ms, median_ms, mean_ms)");
        }
        curve.push_back(p);
      }
    } else {
      return InvalidArgumentError("latency curve " + path + ": unexpected JSON");
    }
  } else {  // CSV with a header.
    std::stringstream ss(text);
    std::string line;
    int batch_col = -1, lat_col = -1;
    while (std::getline(ss, line)) {
      if (Trim(line).empty() || Trim(line)[0] == '#') continue;
      std::vector<std::string> cells = SplitCsv(line);
      if (batch_col < 0) {
        for (size_t i = 0; i < cells.size(); ++i) {
          std::string c = Lower(cells[i]);
          for (const char* k : kBatchColumns) {
            if (batch_col < 0 && c == k) batch_col = static_cast<int>(i);
          }
        }
        for (const char* k : kLatencyColumns) {
          for (size_t i = 0; i < cells.size() && lat_col < 0; ++i) {
            if (Lower(cells[i]) == k) lat_col = static_cast<int>(i);
          }
        }
        if (batch_col < 0 || lat_col < 0) {
          return InvalidArgumentError("latency curve " + path +
                                      ": the CSV header needs batch_size and latency_ms (or "
                                      "inference_ms, p50_ms, median_ms, mean_ms)");
        }
        continue;
      }
      if (static_cast<int>(cells.size()) <= std::max(batch_col, lat_col)) {
        return InvalidArgumentError("latency curve " + path + ": short row '" + line + "'");
      }
      char* e1 = nullptr;
      char* e2 = nullptr;
      long b = std::strtol(cells[batch_col].c_str(), &e1, 10);
      double ms = std::strtod(cells[lat_col].c_str(), &e2);
      if (e1 == cells[batch_col].c_str() || e2 == cells[lat_col].c_str()) {
        return InvalidArgumentError("latency curve " + path + ": bad row '" + line + "'");
      }
      curve.emplace_back(static_cast<int>(b), ms);
    }
  }
  if (curve.empty()) return InvalidArgumentError("latency curve " + path + " has no points");
  std::sort(curve.begin(), curve.end());
  return curve;
}

StatusOr<SimGpuConfig> ParseSimGpuConfig(const std::string& yaml_text,
                                         const std::string& base_dir) {
  SimGpuConfig c;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    CheckKeys(
        root, "",
        {"simulator", "description", "model", "device", "latency", "memory", "output", "events"});
    if (YAML::Node m = root["model"]) {
      CheckKeys(m, "model", {"name", "input_size"});
      Read(m, "name", "model", &c.model_name);
      if (YAML::Node s = m["input_size"]) {
        try {
          if (s.IsSequence() && s.size() == 2) {
            c.input_h = s[0].as<int>();
            c.input_w = s[1].as<int>();
          } else {
            c.input_h = c.input_w = s.as<int>();
          }
        } catch (const YAML::Exception&) {
          throw ConfigError("model.input_size must be N or [h, w]");
        }
      }
    }
    if (YAML::Node d = root["device"]) {
      CheckKeys(
          d, "device",
          {"name", "memory_mb", "context_mb", "sm_clock_mhz", "pcie_gbps", "copy_latency_us",
           "idle_power_w", "max_power_w", "idle_temp_c", "max_temp_c", "temp_time_constant_s"});
      SimDeviceConfig& x = c.device;
      Read(d, "name", "device", &x.name);
      Read(d, "memory_mb", "device", &x.memory_mb);
      Read(d, "context_mb", "device", &x.context_mb);
      Read(d, "sm_clock_mhz", "device", &x.sm_clock_mhz);
      Read(d, "pcie_gbps", "device", &x.pcie_gbps);
      Read(d, "copy_latency_us", "device", &x.copy_latency_us);
      Read(d, "idle_power_w", "device", &x.idle_power_w);
      Read(d, "max_power_w", "device", &x.max_power_w);
      Read(d, "idle_temp_c", "device", &x.idle_temp_c);
      Read(d, "max_temp_c", "device", &x.max_temp_c);
      Read(d, "temp_time_constant_s", "device", &x.temp_time_constant_s);
    }
    if (YAML::Node l = root["latency"]) {
      CheckKeys(l, "latency",
                {"base_ms", "per_image_ms", "alpha", "curve", "curve_file", "jitter_pct", "seed"});
      SimLatencyConfig& x = c.latency;
      Read(l, "base_ms", "latency", &x.base_ms);
      Read(l, "per_image_ms", "latency", &x.per_image_ms);
      Read(l, "alpha", "latency", &x.alpha);
      Read(l, "jitter_pct", "latency", &x.jitter_pct);
      Read(l, "seed", "latency", &x.seed);
      Read(l, "curve_file", "latency", &x.curve_file);
      if (YAML::Node cv = l["curve"]; cv && !cv.IsNull()) x.curve = ReadCurve(cv);
    }
    if (YAML::Node m = root["memory"]) {
      CheckKeys(m, "memory",
                {"weights_mb", "activation_mb_per_image", "memory_fraction", "other_processes_mb",
                 "cache_flush_ms"});
      SimMemoryConfig& x = c.memory;
      Read(m, "weights_mb", "memory", &x.weights_mb);
      Read(m, "activation_mb_per_image", "memory", &x.activation_mb_per_image);
      Read(m, "memory_fraction", "memory", &x.memory_fraction);
      Read(m, "other_processes_mb", "memory", &x.other_processes_mb);
      Read(m, "cache_flush_ms", "memory", &x.cache_flush_ms);
    }
    if (YAML::Node o = root["output"]) {
      CheckKeys(o, "output", {"detections_per_image"});
      Read(o, "detections_per_image", "output", &c.output.detections_per_image);
    }
    if (YAML::Node ev = root["events"]; ev && !ev.IsNull()) {
      if (!ev.IsSequence()) throw ConfigError("events must be a list");
      for (size_t i = 0; i < ev.size(); ++i) c.events.push_back(ReadEvent(ev[i], i));
    }
  } catch (const ConfigError& e) {
    return InvalidArgumentError(std::string("sim config: ") + e.what());
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("sim config: not valid YAML: ") + e.what());
  }
  if (!c.latency.curve_file.empty() && c.latency.curve.empty()) {
    std::filesystem::path p(c.latency.curve_file);
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    YS_ASSIGN_OR_RETURN(c.latency.curve, LoadLatencyCurve(p.string()));
  }
  YS_RETURN_IF_ERROR(c.Validate());
  return c;
}

StatusOr<SimGpuConfig> LoadSimGpuConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("sim model file not found: " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string dir = std::filesystem::path(path).parent_path().string();
  auto c = ParseSimGpuConfig(text, dir.empty() ? "." : dir);
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

// ------------------------------------------------------------- allocator --

StatusOr<int64_t> SimCachingAllocator::Malloc(int64_t bytes, int64_t max_reserved_bytes) {
  const int64_t size = RoundUp(std::max<int64_t>(bytes, 1), kMinBlockSize);
  const bool small = size <= kSmallSize;
  FreeSet& pool = PoolOf(small);
  int64_t address = 0;
  auto it = pool.lower_bound({size, std::numeric_limits<int64_t>::min()});
  if (it != pool.end()) {  // best fit among cached blocks.
    address = it->second;
    pool.erase(it);
  } else {  // a new segment ("cudaMalloc").
    const int64_t segment = small                   ? kSmallBuffer
                            : size < kMinLargeAlloc ? kLargeBuffer
                                                    : RoundUp(size, kRoundLarge);
    if (reserved_bytes_ + segment > max_reserved_bytes) {
      EmptyCache();  // release_cached_blocks(), then retry once.
      ++num_alloc_retries_;
      if (reserved_bytes_ + segment > max_reserved_bytes) {
        ++num_ooms_;
        return ResourceExhaustedError(
            "CUDA out of memory (simulated): tried to allocate " + Fmt(BytesToMb(size)) +
            " MiB; reserved " + Fmt(BytesToMb(reserved_bytes_)) + " MiB of " +
            Fmt(BytesToMb(std::max<int64_t>(max_reserved_bytes, 0))) + " MiB available to us");
      }
    }
    address = next_address_;
    next_address_ += segment + kSmallBuffer;  // a gap: segments are never adjacent.
    segments_[address] = segment;
    reserved_bytes_ += segment;
    blocks_[address] = Block{segment, address, false, small};
  }
  Block& b = blocks_[address];
  const int64_t remaining = b.size - size;
  const bool split = small ? remaining >= kMinBlockSize : remaining > kSmallSize;
  if (split) {
    blocks_[address + size] = Block{remaining, b.segment, false, small};
    pool.insert({remaining, address + size});
    b.size = size;
  }
  b.allocated = true;
  allocated_bytes_ += b.size;
  return address;
}

void SimCachingAllocator::Free(int64_t address) {
  auto it = blocks_.find(address);
  if (it == blocks_.end() || !it->second.allocated) return;
  Block& b = it->second;
  b.allocated = false;
  allocated_bytes_ -= b.size;
  FreeSet& pool = PoolOf(b.small);
  // Merge with the next block of the same segment.
  auto next = std::next(it);
  if (next != blocks_.end() && next->first == address + b.size &&
      next->second.segment == b.segment && !next->second.allocated) {
    pool.erase({next->second.size, next->first});
    b.size += next->second.size;
    blocks_.erase(next);
  }
  // Merge into the previous block of the same segment.
  if (it != blocks_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size == address && prev->second.segment == b.segment &&
        !prev->second.allocated) {
      pool.erase({prev->second.size, prev->first});
      prev->second.size += b.size;
      blocks_.erase(it);
      it = prev;
    }
  }
  pool.insert({it->second.size, it->first});
}

int64_t SimCachingAllocator::EmptyCache() {
  int64_t released = 0;
  for (FreeSet* pool : {&free_small_, &free_large_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      int64_t address = it->second;
      const Block& b = blocks_.at(address);
      auto seg = segments_.find(b.segment);
      if (address == b.segment && seg != segments_.end() && seg->second == b.size) {
        released += b.size;
        reserved_bytes_ -= b.size;
        segments_.erase(seg);
        blocks_.erase(address);
        it = pool->erase(it);
      } else {
        ++it;
      }
    }
  }
  return released;
}

SimCachingAllocator::Stats SimCachingAllocator::stats() const {
  Stats s;
  s.allocated_bytes = allocated_bytes_;
  s.reserved_bytes = reserved_bytes_;
  s.segments = static_cast<int64_t>(segments_.size());
  s.num_alloc_retries = num_alloc_retries_;
  s.num_ooms = num_ooms_;
  for (const FreeSet* pool : {&free_small_, &free_large_}) {
    for (const auto& [size, address] : *pool) {
      const Block& b = blocks_.at(address);
      if (segments_.at(b.segment) != b.size) s.inactive_split_bytes += size;
    }
  }
  return s;
}

// ------------------------------------------------------------------ model --

SimGpuModel::SimGpuModel(const SimGpuConfig& config, Clock* clock,
                         std::unique_ptr<Clock> owned_clock)
    : config_(config),
      owned_clock_(std::move(owned_clock)),
      clock_(clock),
      start_ns_(clock->NowNs()),
      cotenant_held_mb_(config.events.size(), 0.0),
      cotenant_evicted_(config.events.size(), false),
      rng_(config.latency.seed),
      device_free_at_ns_(start_ns_),
      temp_c_(config.device.idle_temp_c),
      temp_at_ns_(start_ns_),
      program_(BuildYoloLikeForward(&program_slots_)) {}

StatusOr<std::unique_ptr<SimGpuModel>> SimGpuModel::Create(const SimGpuConfig& config,
                                                           Clock* clock) {
  YS_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Clock> owned;
  if (clock == nullptr) {
    owned = std::make_unique<RealClock>();
    clock = owned.get();
  }
  return std::unique_ptr<SimGpuModel>(new SimGpuModel(config, clock, std::move(owned)));
}

double SimGpuModel::ElapsedSeconds() const { return SecondsAt(clock_->NowNs()); }

SimGpuModel::Effects SimGpuModel::EffectsAt(double t) const {
  Effects fx;
  for (const SimEvent& e : config_.events) {
    if (t < e.start_s || t >= e.end_s) continue;
    switch (e.type) {
      case SimEventType::kThrottle: {
        fx.clock_factor *= e.clock_factor;
        fx.latency_factor *= e.latency_factor > 0 ? e.latency_factor : 1.0 / e.clock_factor;
        std::string names = "," + fx.throttle_reasons + ",";
        if (names.find("," + e.reason + ",") == std::string::npos) {
          fx.throttle_reasons += (fx.throttle_reasons.empty() ? "" : ",") + e.reason;
        }
        break;
      }
      case SimEventType::kContention:
        fx.latency_factor *= e.latency_factor > 0 ? e.latency_factor : 1.5;
        fx.contention_util_pct = std::max(fx.contention_util_pct, e.util_pct);
        break;
      case SimEventType::kLeak:
        fx.leak_mb_per_batch += e.mb_per_batch;
        break;
      case SimEventType::kCotenant:
        break;  // memory: see UpdateCotenantsLocked.
    }
  }
  return fx;
}

void SimGpuModel::UpdateCotenantsLocked(int64_t now_ns) {
  const double t = SecondsAt(now_ns);
  for (size_t i = 0; i < config_.events.size(); ++i) {
    const SimEvent& e = config_.events[i];
    if (e.type != SimEventType::kCotenant) continue;
    double demand = 0;
    if (t >= e.start_s && t < e.end_s) {
      demand = e.ramp_s > 0 ? e.mb * std::min(1.0, (t - e.start_s) / e.ramp_s) : e.mb;
    }
    if (e.evict_cache && t >= e.start_s && t < e.end_s && !cotenant_evicted_[i]) {
      allocator_.EmptyCache();
      cotenant_evicted_[i] = true;
    }
    double& held = cotenant_held_mb_[i];
    if (held >= demand) {
      held = demand;  // gives memory back (or ends).
      continue;
    }
    // Takes what is free now, up to its demand.
    double free_mb = config_.device.memory_mb - config_.device.context_mb -
                     config_.memory.weights_mb - BytesToMb(allocator_.reserved_bytes()) -
                     OtherProcessesMbLocked();
    held = std::min(demand, held + std::max(0.0, free_mb));
  }
}

double SimGpuModel::OtherProcessesMbLocked() const {
  double mb = config_.memory.other_processes_mb;
  for (double h : cotenant_held_mb_) mb += h;
  return mb;
}

double SimGpuModel::OtherProcessesMb() {
  std::lock_guard<std::mutex> lock(mu_);
  UpdateCotenantsLocked(clock_->NowNs());
  return OtherProcessesMbLocked();
}

int64_t SimGpuModel::MaxReservedBytesLocked() const {
  const SimDeviceConfig& d = config_.device;
  double device_mb =
      d.memory_mb - d.context_mb - config_.memory.weights_mb - OtherProcessesMbLocked();
  double fraction_mb = config_.memory.memory_fraction * d.memory_mb - config_.memory.weights_mb;
  return std::max<int64_t>(0, MbToBytes(std::min(device_mb, fraction_mb)));
}

DeviceMemoryStats SimGpuModel::MemoryStatsLocked() const {
  SimCachingAllocator::Stats s = allocator_.stats();
  DeviceMemoryStats m;
  m.allocated_mb = BytesToMb(s.allocated_bytes);
  m.reserved_mb = BytesToMb(s.reserved_bytes);
  m.inactive_split_mb = BytesToMb(s.inactive_split_bytes);
  m.used_mb = *m.reserved_mb + config_.memory.weights_mb + config_.device.context_mb +
              OtherProcessesMbLocked();
  m.total_mb = config_.device.memory_mb;
  m.alloc_retries = s.num_alloc_retries;
  m.oom_count = s.num_ooms;
  return m;
}

DeviceMemoryStats SimGpuModel::MemoryStats() {
  std::lock_guard<std::mutex> lock(mu_);
  UpdateCotenantsLocked(clock_->NowNs());
  return MemoryStatsLocked();
}

double SimGpuModel::EmptyCache() {
  std::lock_guard<std::mutex> lock(mu_);
  double mb = BytesToMb(allocator_.EmptyCache());
  UpdateCotenantsLocked(clock_->NowNs());
  return mb;
}

double SimGpuModel::BaseLatencyMs(int batch, double size_scale) const {
  const SimLatencyConfig& l = config_.latency;
  const double b = batch;
  if (l.curve.empty()) return l.base_ms + l.per_image_ms * size_scale * std::pow(b, l.alpha);
  const auto& c = l.curve;
  double ms;
  if (batch <= c.front().first) {
    ms = c.front().second * b / c.front().first;
  } else if (batch >= c.back().first) {
    if (c.size() == 1) {
      ms = c.back().second * b / c.back().first;
    } else {
      const auto& p = c[c.size() - 2];
      const auto& q = c.back();
      double slope = std::max(0.0, (q.second - p.second) / (q.first - p.first));
      ms = q.second + slope * (b - q.first);
    }
  } else {
    auto hi = std::lower_bound(c.begin(), c.end(), std::make_pair(batch, 0.0));
    auto lo = std::prev(hi);
    double f = (b - lo->first) / (hi->first - lo->first);
    ms = lo->second + f * (hi->second - lo->second);
  }
  return ms * size_scale;
}

double SimGpuModel::ComputeMsLocked(int b, double size_scale, const Effects& fx) {
  double ms = BaseLatencyMs(b, size_scale) * fx.latency_factor;
  if (config_.latency.jitter_pct > 0) {
    std::normal_distribution<double> n(0.0, config_.latency.jitter_pct / 100.0);
    ms *= std::max(0.5, 1.0 + n(rng_));
  }
  return ms;
}

double SimGpuModel::CopyMs(int64_t bytes) const {
  return config_.device.copy_latency_us / 1000.0 +
         static_cast<double>(bytes) / (config_.device.pcie_gbps * 1e9) * 1000.0;
}

Status SimGpuModel::TryForwardLocked(int b, int64_t in_bytes, int64_t out_bytes, double act_mb,
                                     double leak_mb, double* progress, DeviceMemoryStats* memory) {
  const int64_t max_reserved = MaxReservedBytesLocked();
  // Live blocks: the forward's slots, then the input and the output.
  std::vector<int64_t>& live = live_scratch_;
  live.assign(program_slots_ + 2, 0);
  const int in_slot = program_slots_, out_slot = program_slots_ + 1;
  const int steps = static_cast<int>(program_.size()) + 3;
  int step = 0;
  auto release_all = [&] {
    for (int64_t& a : live) {
      if (a != 0) allocator_.Free(a);
      a = 0;
    }
  };
  auto alloc = [&](int slot, int64_t bytes) -> Status {
    auto a = allocator_.Malloc(std::max<int64_t>(1, bytes), max_reserved);
    ++step;
    if (!a.ok()) {
      release_all();  // the exception unwinds: every tensor of the forward dies.
      *progress = static_cast<double>(step - 1) / steps;
      return a.status();
    }
    live[slot] = *a;
    return Status::Ok();
  };
  auto release = [&](int slot) {
    if (live[slot] != 0) allocator_.Free(live[slot]);
    live[slot] = 0;
  };
  YS_RETURN_IF_ERROR(alloc(in_slot, in_bytes * b));  // the H2D destination.
  bool input_released = false;
  for (const ForwardOp& op : program_) {
    if (op.alloc) {
      YS_RETURN_IF_ERROR(alloc(op.slot, MbToBytes(act_mb * b * op.fraction)));
      if (!input_released) {  // the stem has consumed the input.
        release(in_slot);
        input_released = true;
      }
    } else {
      release(op.slot);
      ++step;
    }
  }
  YS_RETURN_IF_ERROR(alloc(out_slot, out_bytes * b));
  if (leak_mb > 0) {  // kept forever: never freed, survives empty_cache.
    auto leaked = allocator_.Malloc(MbToBytes(leak_mb), max_reserved);
    if (!leaked.ok()) {
      release_all();
      *progress = static_cast<double>(step) / steps;
      return leaked.status();
    }
  }
  // Stats as the CUDA path reads them: after the forward, the output still
  // on the device; then it is released.
  *memory = MemoryStatsLocked();
  release_all();
  *progress = 1.0;
  return Status::Ok();
}

Status SimGpuModel::RunRecoveringLocked(int b, int64_t in_bytes, int64_t out_bytes, double act_mb,
                                        double size_scale, const Effects& fx, int64_t now_ns,
                                        SimBatchPlan* plan) {
  BatchTiming& t = plan->timing;
  for (int attempt = 0; attempt < 2; ++attempt) {
    double progress = 0;
    DeviceMemoryStats memory;
    const int64_t retries_before = allocator_.stats().num_alloc_retries;
    Status s =
        TryForwardLocked(b, in_bytes, out_bytes, act_mb, fx.leak_mb_per_batch, &progress, &memory);
    // Each allocator-level flush + retry (cudaFree of the cache, cudaMalloc
    // again) stalls the stream like an empty_cache.
    t.inference_ms += static_cast<double>(allocator_.stats().num_alloc_retries - retries_before) *
                      config_.memory.cache_flush_ms;
    *t.h2d_ms += CopyMs(in_bytes * b);
    t.inference_ms += ComputeMsLocked(b, size_scale, fx) * progress;
    if (s.ok()) {
      *t.d2h_ms += CopyMs(out_bytes * b);
      t.memory = memory;
      return Status::Ok();
    }
    if (s.code() != StatusCode::kResourceExhausted) return s;
    t.oom = true;
    if (attempt == 0) {  // torch.cuda.empty_cache() and the same batch again.
      allocator_.EmptyCache();
      UpdateCotenantsLocked(now_ns);  // a co-tenant may grab what we released.
      t.inference_ms += config_.memory.cache_flush_ms;
      ++t.alloc_retries;
    }
  }
  if (b == 1) {
    return ResourceExhaustedError(
        "simulated GPU out of memory: even a batch of 1 does not fit (about " +
        Fmt(config_.memory.activation_mb_per_image * size_scale) + " MiB of activations; " +
        Fmt(BytesToMb(MaxReservedBytesLocked())) + " MiB available to the allocator, other " +
        "processes hold " + Fmt(OtherProcessesMbLocked()) + " MiB)");
  }
  ++t.alloc_retries;  // split in halves.
  const int first = (b + 1) / 2;
  YS_RETURN_IF_ERROR(
      RunRecoveringLocked(first, in_bytes, out_bytes, act_mb, size_scale, fx, now_ns, plan));
  return RunRecoveringLocked(b - first, in_bytes, out_bytes, act_mb, size_scale, fx, now_ns, plan);
}

SimBatchPlan SimGpuModel::PlanBatch(int batch, int64_t input_bytes_per_image,
                                    int64_t output_bytes_per_image, double size_scale) {
  std::lock_guard<std::mutex> lock(mu_);
  SimBatchPlan plan;
  const int64_t now = clock_->NowNs();
  UpdateCotenantsLocked(now);
  const Effects fx = EffectsAt(SecondsAt(now));
  plan.timing.h2d_ms = 0.0;
  plan.timing.d2h_ms = 0.0;
  const double act_mb = config_.memory.activation_mb_per_image * size_scale;
  plan.status = RunRecoveringLocked(batch, input_bytes_per_image, output_bytes_per_image, act_mb,
                                    size_scale, fx, now, &plan);
  if (!plan.status.ok()) plan.timing.memory = MemoryStatsLocked();

  // Device timeline: batches of all instances execute one at a time.
  const double h2d_ms = *plan.timing.h2d_ms;
  const double total_ms = h2d_ms + plan.timing.inference_ms + *plan.timing.d2h_ms;
  const int64_t start = std::max(now, device_free_at_ns_);
  const int64_t kernels_begin = start + static_cast<int64_t>(h2d_ms * 1e6);
  const int64_t kernels_end = kernels_begin + static_cast<int64_t>(plan.timing.inference_ms * 1e6);
  plan.end_ns = start + static_cast<int64_t>(total_ms * 1e6);
  device_free_at_ns_ = plan.end_ns;
  if (kernels_end > kernels_begin) busy_.push_back({kernels_begin, kernels_end});
  copies_.push_back({kernels_begin, input_bytes_per_image * batch, 0});
  if (plan.status.ok()) copies_.push_back({plan.end_ns, 0, output_bytes_per_image * batch});
  // Keep two minutes of history for telemetry windows.
  const int64_t keep_from = now - 120'000'000'000LL;
  while (!busy_.empty() && busy_.front().end_ns < keep_from) busy_.pop_front();
  while (!copies_.empty() && copies_.front().at_ns < keep_from) copies_.pop_front();
  return plan;
}

void SimGpuModel::WaitUntil(int64_t end_ns) {
  int64_t now = clock_->NowNs();
  if (end_ns > now) clock_->SleepForNs(end_ns - now);
}

DeviceSample SimGpuModel::Sample(int64_t since_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowNs();
  UpdateCotenantsLocked(now);
  const Effects fx = EffectsAt(SecondsAt(now));
  const SimDeviceConfig& d = config_.device;
  DeviceSample s;
  s.device = "sim:0";
  s.gpu_id = 0;
  const int64_t window = now - since_ns;
  if (window > 0) {
    int64_t busy = 0;
    for (const Interval& iv : busy_) {
      int64_t b = std::max(iv.begin_ns, since_ns);
      int64_t e = std::min(iv.end_ns, now);
      if (e > b) busy += e - b;
    }
    double util = 100.0 * static_cast<double>(busy) / static_cast<double>(window);
    s.gpu_util = std::clamp(std::max(util, fx.contention_util_pct), 0.0, 100.0);
    int64_t tx = 0, rx = 0;
    for (const Copy& c : copies_) {
      if (c.at_ns > since_ns && c.at_ns <= now) {
        rx += c.h2d_bytes;  // host -> device: received by the GPU.
        tx += c.d2h_bytes;  // device -> host: transmitted by the GPU.
      }
    }
    const double seconds = static_cast<double>(window) / 1e9;
    s.pcie_tx_mbs = BytesToMb(tx) / seconds;
    s.pcie_rx_mbs = BytesToMb(rx) / seconds;
  }
  const double reserved_mb = BytesToMb(allocator_.reserved_bytes());
  s.mem_this_process_mb = d.context_mb + config_.memory.weights_mb + reserved_mb;
  s.mem_other_processes_mb = OtherProcessesMbLocked();
  s.mem_used_mb = *s.mem_this_process_mb + *s.mem_other_processes_mb;
  s.mem_total_mb = d.memory_mb;
  s.sm_clock_mhz = d.sm_clock_mhz * fx.clock_factor;
  const double load = s.gpu_util.value_or(0.0) / 100.0;
  s.power_w = d.idle_power_w + (d.max_power_w - d.idle_power_w) * load * fx.clock_factor;
  const double power_frac = d.max_power_w > d.idle_power_w
                                ? (*s.power_w - d.idle_power_w) / (d.max_power_w - d.idle_power_w)
                                : 0.0;
  const double target = d.idle_temp_c + (d.max_temp_c - d.idle_temp_c) * power_frac;
  const double dt = static_cast<double>(now - temp_at_ns_) / 1e9;
  if (dt > 0) {
    temp_c_ += (target - temp_c_) * (1.0 - std::exp(-dt / d.temp_time_constant_s));
    temp_at_ns_ = now;
  }
  s.temp_c = temp_c_;
  s.throttle_reasons = fx.throttle_reasons;
  return s;
}

}  // namespace yoloscope

#include "bench/engine_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace yoloscope {
namespace {

constexpr const char* kCsvHeader =
    "batch_size,latency_ms,p99_ms,mean_ms,per_image_ms,throughput_ips,peak_memory_mb,"
    "memory_kind,iterations";

std::vector<std::string> SplitComma(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(cell.begin());
    cells.push_back(cell);
  }
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

Status Finish(EngineCurve* c) {
  if (c->points.empty()) return InvalidArgumentError("the curve has no points");
  std::sort(c->points.begin(), c->points.end(),
            [](const CurvePoint& a, const CurvePoint& b) { return a.batch_size < b.batch_size; });
  for (size_t i = 0; i < c->points.size(); ++i) {
    CurvePoint& p = c->points[i];
    if (p.batch_size < 1 || !(p.p50_ms > 0)) {
      return InvalidArgumentError("curve points need batch_size >= 1 and latency_ms > 0");
    }
    if (i > 0 && p.batch_size == c->points[i - 1].batch_size) {
      return InvalidArgumentError("batch size " + std::to_string(p.batch_size) + " appears twice");
    }
    if (!(p.p99_ms > 0)) p.p99_ms = p.p50_ms;
    if (!(p.mean_ms > 0)) p.mean_ms = p.p50_ms;
    if (!(p.per_image_ms > 0)) p.per_image_ms = p.p50_ms / p.batch_size;
    if (!(p.throughput_ips > 0)) p.throughput_ips = p.batch_size * 1000.0 / p.mean_ms;
  }
  return Status::Ok();
}

}  // namespace

const CurvePoint* EngineCurve::Find(int b) const {
  for (const CurvePoint& p : points) {
    if (p.batch_size == b) return &p;
  }
  return nullptr;
}

std::string EngineCurve::ToCsv() const {
  std::string out;
  out += "# yoloscope bench --engine: batch latency curve (latency_ms = median per batch)\n";
  out += "# model: " + model + "\n# backend: " + backend + "\n# device: " + device + "\n";
  out += fmt::format("# input: {}x{}\n# threads: {}\n", input_w, input_h, threads);
  out += std::string(kCsvHeader) + "\n";
  for (const CurvePoint& p : points) {
    out += fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{}\n", p.batch_size, p.p50_ms,
                       p.p99_ms, p.mean_ms, p.per_image_ms, p.throughput_ips,
                       p.peak_memory_mb ? fmt::format("{:.1f}", *p.peak_memory_mb) : "",
                       p.memory_kind, p.iterations);
  }
  return out;
}

std::string EngineCurve::ToJson() const {
  nlohmann::json curve = nlohmann::json::array();
  for (const CurvePoint& p : points) {
    nlohmann::json j = {{"batch_size", p.batch_size},
                        {"latency_ms", p.p50_ms},
                        {"p99_ms", p.p99_ms},
                        {"mean_ms", p.mean_ms},
                        {"per_image_ms", p.per_image_ms},
                        {"throughput_ips", p.throughput_ips},
                        {"iterations", p.iterations}};
    if (p.peak_memory_mb) {
      j["peak_memory_mb"] = *p.peak_memory_mb;
      j["memory_kind"] = p.memory_kind;
    }
    curve.push_back(j);
  }
  nlohmann::json j = {{"tool", "yoloscope bench --engine"},
                      {"note", "latency_ms is the median latency of one batch"},
                      {"model", model},
                      {"backend", backend},
                      {"device", device},
                      {"input_w", input_w},
                      {"input_h", input_h},
                      {"threads", threads},
                      {"curve", curve}};
  return j.dump(2) + "\n";
}

Status EngineCurve::Save(const std::string& path) const {
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InternalError("cannot write " + path);
  out << (json ? ToJson() : ToCsv());
  out.close();
  if (!out) return InternalError("cannot write " + path);
  return Status::Ok();
}

StatusOr<EngineCurve> EngineCurve::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("curve file not found: " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto curve = Parse(text);
  if (!curve.ok()) return curve.status().WithContext(path);
  return curve;
}

StatusOr<EngineCurve> EngineCurve::Parse(const std::string& text) {
  EngineCurve c;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("curve") || !j["curve"].is_array()) {
      return InvalidArgumentError("not a curve JSON (needs a \"curve\" array)");
    }
    c.model = j.value("model", "");
    c.backend = j.value("backend", "");
    c.device = j.value("device", "");
    c.input_w = j.value("input_w", 0);
    c.input_h = j.value("input_h", 0);
    c.threads = j.value("threads", 0);
    for (const auto& o : j["curve"]) {
      if (!o.is_object() || !o.contains("batch_size") || !o.contains("latency_ms")) {
        return InvalidArgumentError("curve entries need batch_size and latency_ms");
      }
      CurvePoint p;
      p.batch_size = o["batch_size"].get<int>();
      p.p50_ms = o["latency_ms"].get<double>();
      p.p99_ms = o.value("p99_ms", 0.0);
      p.mean_ms = o.value("mean_ms", 0.0);
      p.per_image_ms = o.value("per_image_ms", 0.0);
      p.throughput_ips = o.value("throughput_ips", 0.0);
      p.iterations = o.value("iterations", 0);
      if (o.contains("peak_memory_mb") && o["peak_memory_mb"].is_number()) {
        p.peak_memory_mb = o["peak_memory_mb"].get<double>();
        p.memory_kind = o.value("memory_kind", "");
      }
      c.points.push_back(p);
    }
  } else {
    std::stringstream ss(text);
    std::string line;
    std::vector<std::string> header;
    while (std::getline(ss, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (line[0] == '#') {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(1, colon - 1);
        std::string value = line.substr(colon + 1);
        key.erase(0, key.find_first_not_of(' '));
        value.erase(0, value.find_first_not_of(' '));
        if (key == "model") c.model = value;
        if (key == "backend") c.backend = value;
        if (key == "device") c.device = value;
        if (key == "threads") c.threads = std::atoi(value.c_str());
        if (key == "input") std::sscanf(value.c_str(), "%dx%d", &c.input_w, &c.input_h);
        continue;
      }
      std::vector<std::string> cells = SplitComma(line);
      if (header.empty()) {
        header = cells;
        if (std::find(header.begin(), header.end(), "batch_size") == header.end() ||
            std::find(header.begin(), header.end(), "latency_ms") == header.end()) {
          return InvalidArgumentError("CSV header needs batch_size and latency_ms");
        }
        continue;
      }
      CurvePoint p;
      for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
        double v = 0;
        const std::string& h = header[i];
        const bool number = ParseDouble(cells[i], &v);
        if (h == "batch_size" && number) p.batch_size = static_cast<int>(v);
        if (h == "latency_ms" && number) p.p50_ms = v;
        if (h == "p99_ms" && number) p.p99_ms = v;
        if (h == "mean_ms" && number) p.mean_ms = v;
        if (h == "per_image_ms" && number) p.per_image_ms = v;
        if (h == "throughput_ips" && number) p.throughput_ips = v;
        if (h == "iterations" && number) p.iterations = static_cast<int>(v);
        if (h == "peak_memory_mb" && number) p.peak_memory_mb = v;
        if (h == "memory_kind") p.memory_kind = cells[i];
      }
      if (p.batch_size < 1 || !(p.p50_ms > 0)) {
        return InvalidArgumentError("bad curve row '" + line + "'");
      }
      c.points.push_back(p);
    }
  }
  YS_RETURN_IF_ERROR(Finish(&c));
  return c;
}

std::vector<double> EngineCurve::BatcherSeedUs(int max_batch_size) const {
  std::vector<double> seed(static_cast<size_t>(std::max(0, max_batch_size)), 0.0);
  for (const CurvePoint& p : points) {
    if (p.batch_size >= 1 && p.batch_size <= max_batch_size) {
      seed[static_cast<size_t>(p.batch_size - 1)] = p.p50_ms * 1000.0;
    }
  }
  return seed;
}

std::string EngineCurve::ToTable() const {
  std::string out = fmt::format("{:>6} {:>10} {:>10} {:>12} {:>12} {:>12} {:>7}\n", "batch",
                                "p50 ms", "p99 ms", "ms/image", "images/s", "peak MiB", "iters");
  for (const CurvePoint& p : points) {
    std::string mem = p.peak_memory_mb ? fmt::format("{:.0f}", *p.peak_memory_mb) : "-";
    if (p.peak_memory_mb && p.memory_kind == "rss_peak") mem += " rss";
    if (p.peak_memory_mb && p.memory_kind.rfind("device", 0) == 0) mem += " dev";
    out += fmt::format("{:>6} {:>10.3f} {:>10.3f} {:>12.3f} {:>12.1f} {:>12} {:>7}\n", p.batch_size,
                       p.p50_ms, p.p99_ms, p.per_image_ms, p.throughput_ips, mem, p.iterations);
  }
  return out;
}

std::string EngineCurve::ToChart(int width) const {
  double max_ips = 0, max_per_image = 0;
  for (const CurvePoint& p : points) {
    max_ips = std::max(max_ips, p.throughput_ips);
    max_per_image = std::max(max_per_image, p.per_image_ms);
  }
  auto bar = [width](double v, double max) {
    int n = max > 0 ? static_cast<int>(std::lround(v / max * width)) : 0;
    return std::string(static_cast<size_t>(std::max(n, v > 0 ? 1 : 0)), '#');
  };
  std::string out = "throughput (images/s)\n";
  for (const CurvePoint& p : points) {
    out += fmt::format("  b={:<4} {:<{}} {:.1f}\n", p.batch_size, bar(p.throughput_ips, max_ips),
                       width, p.throughput_ips);
  }
  out += "latency per image (ms, median batch latency / batch size)\n";
  for (const CurvePoint& p : points) {
    out += fmt::format("  b={:<4} {:<{}} {:.3f}\n", p.batch_size,
                       bar(p.per_image_ms, max_per_image), width, p.per_image_ms);
  }
  return out;
}

}  // namespace yoloscope

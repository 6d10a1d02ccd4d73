// ys_loggen: writes a large realistic yoloscope.v1 JSON Lines log for the
// analyzer's benchmark. See log_generator.h.
//
//   ys_loggen --size 2G --seed 7 --out /tmp/big.jsonl
//             --condition memory_squeeze@600+120 --condition queue_saturation@1200+60
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/loggen/log_generator.h"
#include "common/time_format.h"

namespace {

// "2G", "500M", "64k", "123" -> bytes (binary multiples).
bool ParseSize(const std::string& text, int64_t* bytes) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0) return false;
  double mult = 1;
  const std::string unit(end);
  if (unit == "k" || unit == "K" || unit == "KB" || unit == "KiB") {
    mult = 1024.0;
  } else if (unit == "m" || unit == "M" || unit == "MB" || unit == "MiB") {
    mult = 1024.0 * 1024;
  } else if (unit == "g" || unit == "G" || unit == "GB" || unit == "GiB") {
    mult = 1024.0 * 1024 * 1024;
  } else if (!unit.empty()) {
    return false;
  }
  *bytes = static_cast<int64_t>(v * mult);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using yoloscope::LogGeneratorConfig;
  CLI::App app{"ys_loggen: generate a realistic yoloscope.v1 request log (JSON Lines)"};
  LogGeneratorConfig config;
  std::string size, out = "-", start;
  std::vector<std::string> conditions;
  std::string models;
  app.add_option("--size", size, "stop after about this many bytes (e.g. 2G, 500M)");
  app.add_option("--requests", config.requests, "stop after this many requests (without --size)");
  app.add_option("--seed", config.seed, "random seed (same seed, same log)");
  app.add_option("--out,-o", out, "output file, - for stdout");
  app.add_option("--start", start, "simulated start time (RFC 3339), default 2026-01-01T00:00:00Z");
  app.add_option("--rps", config.rps, "mean arrival rate (requests/s)");
  app.add_option("--gpus", config.gpus, "number of GPUs");
  app.add_option("--models", models, "comma-separated model names (default yolov8n,yolov8s)");
  app.add_option("--max-batch", config.max_batch, "largest batch");
  app.add_option("--gpu-interval", config.gpu_sample_interval_s, "seconds between gpu samples");
  app.add_option("--condition", conditions,
                 "inject kind@start_s+duration_s: memory_squeeze, memory_leak, queue_saturation, "
                 "cpu_preprocess, throttling, gpu_contention, error_burst, cold_start");
  app.add_option("--malformed-every", config.malformed_every,
                 "add a malformed line every N records");
  app.add_option("--drop-every", config.drop_every, "set dropped_records on every N-th record");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!size.empty() && !ParseSize(size, &config.target_bytes)) {
    std::fprintf(stderr, "ys_loggen: bad --size '%s'\n", size.c_str());
    return 2;
  }
  if (!start.empty()) {
    auto us = yoloscope::ParseTimestampUs(start);
    if (!us.ok()) {
      std::fprintf(stderr, "ys_loggen: %s\n", us.status().ToString().c_str());
      return 2;
    }
    config.start_us = *us;
  }
  if (!models.empty()) {
    config.models.clear();
    size_t pos = 0;
    while (pos <= models.size()) {
      const size_t comma = models.find(',', pos);
      const std::string m =
          models.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!m.empty()) config.models.push_back(m);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  for (const std::string& c : conditions) {
    auto w = yoloscope::ParseLogCondition(c);
    if (!w.ok()) {
      std::fprintf(stderr, "ys_loggen: %s\n", w.status().ToString().c_str());
      return 2;
    }
    config.conditions.push_back(*w);
  }
  auto generator = yoloscope::LogGenerator::Create(config);
  if (!generator.ok()) {
    std::fprintf(stderr, "ys_loggen: %s\n", generator.status().ToString().c_str());
    return 2;
  }
  std::FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "ys_loggen: cannot open %s: %s\n", out.c_str(), std::strerror(errno));
    return 2;
  }
  yoloscope::LogGeneratorStats stats;
  yoloscope::Status status =
      (*generator)
          ->Generate(
              [&](std::string_view chunk) {
                if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
                  return yoloscope::InternalError(std::string("write failed: ") +
                                                  std::strerror(errno));
                }
                return yoloscope::Status::Ok();
              },
              &stats);
  if (f != stdout && std::fclose(f) != 0 && status.ok()) {
    status = yoloscope::InternalError(std::string("close failed: ") + std::strerror(errno));
  }
  if (!status.ok()) {
    std::fprintf(stderr, "ys_loggen: %s\n", status.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "ys_loggen: %lld bytes, %lld requests, %lld batches, %lld gpu samples, %lld "
               "malformed, simulated until %s\n",
               static_cast<long long>(stats.bytes), static_cast<long long>(stats.requests),
               static_cast<long long>(stats.batches), static_cast<long long>(stats.gpu_samples),
               static_cast<long long>(stats.malformed),
               yoloscope::FormatRfc3339Micros(stats.end_us).c_str());
  return 0;
}

// ys_read_bench: end-to-end LogReader throughput with sinks that only count
// (and touch one field so nothing is optimised away).
//
//   ys_read_bench --threads 2 /tmp/big.jsonl
//   /usr/bin/time -v ys_read_bench --threads 2 /tmp/big.jsonl   (peak RSS)
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/readers/log_reader.h"

namespace {

class CountingSink final : public yoloscope::RecordSink {
 public:
  void OnRecord(const yoloscope::LogRecord& record) override {
    ++records_;
    if (record.total_ms) total_ms_ += *record.total_ms;
  }
  int64_t records() const { return records_; }
  double total_ms() const { return total_ms_; }

 private:
  int64_t records_ = 0;
  double total_ms_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ys_read_bench: LogReader throughput with counting sinks"};
  yoloscope::ReadOptions options;
  std::vector<std::string> files;
  int repeat = 1;
  app.add_option("--threads", options.threads, "parsing threads (0 = all cores)");
  app.add_option("--input-format", options.input_format, "force a format");
  app.add_option("--repeat", repeat, "read the files this many times (best run reported)");
  app.add_option("files", files, "log files")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto reader = yoloscope::LogReader::Create(options);
  if (!reader.ok()) {
    std::fprintf(stderr, "ys_read_bench: %s\n", reader.status().ToString().c_str());
    return 2;
  }
  double best_s = 1e300;
  yoloscope::ReadStats best_stats;
  int64_t records = 0;
  double checksum = 0;
  for (int run = 0; run < repeat; ++run) {
    std::vector<std::unique_ptr<CountingSink>> sinks;
    yoloscope::ReadStats stats;
    const auto start = std::chrono::steady_clock::now();
    yoloscope::Status status = (*reader)->Read(
        files,
        [&](int) {
          sinks.push_back(std::make_unique<CountingSink>());
          return sinks.back().get();
        },
        &stats);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) {
      std::fprintf(stderr, "ys_read_bench: %s\n", status.ToString().c_str());
      return 2;
    }
    records = 0;
    checksum = 0;
    for (const auto& sink : sinks) {
      records += sink->records();
      checksum += sink->total_ms();
    }
    if (s < best_s) {
      best_s = s;
      best_stats = stats;
    }
  }
  std::printf(
      "threads=%d bytes=%lld records=%lld malformed=%lld seconds=%.3f GB/s=%.3f "
      "Mrecords/s=%.2f checksum=%.1f\n",
      (*reader)->num_threads(), static_cast<long long>(best_stats.bytes),
      static_cast<long long>(records), static_cast<long long>(best_stats.malformed), best_s,
      static_cast<double>(best_stats.bytes) / best_s / 1e9,
      static_cast<double>(records) / best_s / 1e6, checksum);
  return 0;
}

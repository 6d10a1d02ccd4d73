// ys_shipper_bench: the ClickHouse sink's own CPU cost (issue 17), without
// serving around it. A writer thread appends the lines of a request log to a
// fresh file at a given rate (as serve's log writer would), the real
// ClickHouseShipper follows the file and ships it to a ClickHouse whose
// tables exist (`yoloscope db init`), and the shipper thread's CPU time is
// reported per 10,000 records once every line is in.
//
//   ys_shipper_bench --uri clickhouse://127.0.0.1:8123/bench --log src.jsonl
//                    --rate 20000 [--block-lines 10000] [--poll-ms 200] [--out DIR]
//
// Prints one line: records, blocks, wall seconds, shipper CPU seconds, CPU
// microseconds per record and CPU milliseconds per 10k records.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fleet/clickhouse_shipper.h"

int main(int argc, char** argv) {
  using namespace yoloscope;
  CLI::App app{"ys_shipper_bench: the ClickHouse sink's CPU per record"};
  std::string uri, source, out_dir = "/tmp/ys_shipper_bench", replica = "bench";
  double rate = 20000;
  int64_t block_lines = 10'000;
  int poll_ms = 200;
  app.add_option("--uri", uri, "clickhouse://HOST:PORT/DB (tables made by `db init`)")->required();
  app.add_option("--log", source, "a request log (JSONL) whose lines are replayed")->required();
  app.add_option("--rate", rate, "lines per second appended (0: all at once)");
  app.add_option("--block-lines", block_lines, "the shipper's block_lines");
  app.add_option("--poll-ms", poll_ms, "the shipper's poll interval");
  app.add_option("--replica", replica, "the replica column (tell runs apart)");
  app.add_option("--out", out_dir, "where the followed log is written");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> lines;
  {
    std::ifstream in(source);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line + "\n");
    }
  }
  if (lines.empty()) {
    std::fprintf(stderr, "ys_shipper_bench: no lines in %s\n", source.c_str());
    return 2;
  }
  std::filesystem::create_directories(out_dir);
  const std::string log = out_dir + "/ship-" + replica + ".jsonl";
  std::filesystem::remove(log);
  std::filesystem::remove(log + ".clickhouse");
  std::ofstream(log, std::ios::trunc).close();

  ClickHouseShipperConfig config;
  config.uri = uri;
  config.log_path = log;
  config.origin.replica = replica;
  config.block_lines = block_lines;
  config.poll = std::chrono::milliseconds(poll_ms);
  config.warn = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  auto shipper = ClickHouseShipper::Create(config);
  if (!shipper.ok()) {
    std::fprintf(stderr, "ys_shipper_bench: %s\n", shipper.status().ToString().c_str());
    return 2;
  }
  // The shipper's CPU: the process's less this (the writer's) thread's; the
  // shipper thread is the only other one.
  auto cpu_s = [](clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  };
  const double cpu0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_s(CLOCK_THREAD_CPUTIME_ID);
  const auto start = std::chrono::steady_clock::now();
  (*shipper)->Start();
  {
    // The writer: whole lines, in 10 ms slices at `rate`.
    std::FILE* f = std::fopen(log.c_str(), "ab");
    size_t next = 0;
    while (next < lines.size()) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const size_t due =
          rate <= 0 ? lines.size() : std::min(lines.size(), static_cast<size_t>(elapsed * rate));
      for (; next < due; ++next) std::fwrite(lines[next].data(), 1, lines[next].size(), f);
      std::fflush(f);
      if (next < lines.size()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fclose(f);
  }
  const int64_t want = static_cast<int64_t>(lines.size());
  ClickHouseShipperStats s;
  for (;;) {
    s = (*shipper)->stats();
    if (s.rows_shipped + s.rows_already_present + s.malformed_lines >= want && s.lag_bytes == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (*shipper)->Stop();
  s = (*shipper)->stats();
  const double cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  std::printf(
      "%lld records, %lld blocks, %lld malformed, %.2f s wall, shipper CPU %.3f s = %.2f us/record "
      "= %.1f ms per 10k records\n",
      static_cast<long long>(want), static_cast<long long>(s.blocks_inserted),
      static_cast<long long>(s.malformed_lines), wall, cpu, 1e6 * cpu / static_cast<double>(want),
      1e7 * cpu / static_cast<double>(want));
  return 0;
}

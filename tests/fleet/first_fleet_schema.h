// FirstFleetSchemaStatements (tests only): the fleet tables as the first
// version of `yoloscope db init` made them, before the late columns
// (requests' decode_ms, h2d_ms, d2h_ms, mem_used_mb, mem_total_mb, gpu_util;
// batches' busy_ms). Written out here, not derived from ClickHouseSchema, so
// that the tests of upgrades and of writers into older tables keep meaning
// the old schema whatever the current one becomes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace yoloscope::testing {

// CREATE statements for database `db`; with a `cluster`, `<table>_local`
// MergeTree tables and Distributed `<table>`s over them.
inline std::vector<std::string> FirstFleetSchemaStatements(const std::string& db,
                                                           const std::string& cluster = "") {
  const std::string common =
      "day Date, ts DateTime, ts_us Int64, host String, replica String, block_id String, "
      "model String, gpu_id Int32, ";
  const std::pair<const char*, std::string> tables[] = {
      {"requests",
       "request_id String, status String, batch_id Int64, batch_size Int32, queue_len Int32, "
       "input_w Int32, input_h Int32, queue_ms Nullable(Float64), preprocess_ms "
       "Nullable(Float64), inference_ms Nullable(Float64), postprocess_ms Nullable(Float64), "
       "total_ms Nullable(Float64), "},
      {"batches",
       "batch_id Int64, batch_size Int32, instance Int32, status String, inference_ms "
       "Nullable(Float64), h2d_ms Nullable(Float64), d2h_ms Nullable(Float64), mem_used_mb "
       "Nullable(Float64), mem_total_mb Nullable(Float64), "},
      {"gpu",
       "gpu_util Nullable(Float64), mem_used_mb Nullable(Float64), mem_total_mb "
       "Nullable(Float64), mem_other_processes_mb Nullable(Float64), sm_clock_mhz "
       "Nullable(Float64), "},
      {"other", ""}};
  std::vector<std::string> out = {"CREATE DATABASE IF NOT EXISTS " + db};
  for (const auto& [table, columns] : tables) {
    const std::string local = cluster.empty() ? table : std::string(table) + "_local";
    out.push_back("CREATE TABLE " + db + "." + local + " (" + common + columns +
                  "record String) ENGINE = MergeTree() PARTITION BY day ORDER BY (model, gpu_id, "
                  "ts_us)");
    if (!cluster.empty()) {
      out.push_back("CREATE TABLE " + db + "." + table + " AS " + db + "." + local +
                    " ENGINE = Distributed(" + cluster + ", " + db + ", " + local +
                    ", cityHash64(block_id))");
    }
  }
  return out;
}

}  // namespace yoloscope::testing

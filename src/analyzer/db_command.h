// `yoloscope db`: the fleet database (docs/fleet.md).
//
// - DbInit creates the database and the tables of clickhouse_schema.h (on a
//   cluster: the local tables on every shard and Distributed tables over
//   them). Idempotent. Tables made by an older version get the columns
//   added since (ALTER TABLE ... ADD COLUMN, local tables before the
//   Distributed ones; their DEFAULTs compute the old rows' values from
//   `record`); a table that lacks one of the first schema's columns or has
//   a column of another type is refused (FailedPrecondition naming table
//   and column) before anything is altered.
// - DbLoad puts yoloscope.v1 JSONL logs (plain, gzip or zstd) into the tables,
//   in blocks whose ids depend only on (host, replica, file name, file size),
//   so loading the same file again inserts nothing twice. Lines that are not
//   records (malformed, blank) are counted and reported with their file and
//   line, never inserted.
//
// Thread-safety: one call at a time; both block on the network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct DbInitConfig {
  std::string uri;  // clickhouse://... (required)
};

struct DbInitResult {
  std::vector<std::string> columns_added;  // "db.table.column", in the order added
};

struct DbLoadConfig {
  std::string uri;                 // clickhouse://... (required)
  std::vector<std::string> files;  // JSONL logs ("-" = stdin); at least one
  std::string host;                // `host` column; default: this machine's name
  std::string replica;             // `replica` column; default: "default"
  int64_t block_rows = 50'000;     // rows per INSERT, >= 1
};

struct DbLoadResult {
  int64_t lines = 0;
  int64_t rows_inserted = 0;
  int64_t rows_already_present = 0;   // blocks found in the table already (not inserted again)
  int64_t malformed_lines = 0;        // not JSON objects: not inserted
  int64_t records_without_time = 0;   // no `ts`: not inserted
  std::vector<std::string> problems;  // the first few "FILE:LINE: why"
};

Status RunDbInit(const DbInitConfig& config, DbInitResult* result = nullptr);
StatusOr<DbLoadResult> RunDbLoad(const DbLoadConfig& config);

}  // namespace yoloscope

// ClickHouseLoader: puts yoloscope.v1 records into the fleet tables
// (clickhouse_schema.h) in blocks, each insert exactly once.
//
// Records are buffered per table and inserted as one INSERT ... FORMAT
// JSONEachRow of up to block_rows rows. Every block has an id that depends
// only on where its rows came from (config.block_prefix, the table and the
// block's number), and before a block is inserted the loader asks whether a
// block with that id is already in the table: a load that is run again
// (after a failure half-way, or by mistake) inserts nothing twice.
//
// Memory: at most block_rows rows per table (4 tables). Not thread-safe; the
// client must outlive the loader.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_schema.h"
#include "reqlog/log_record.h"

namespace yoloscope {

struct ClickHouseLoaderConfig {
  // Rows per INSERT. Must be >= 1.
  int64_t block_rows = 50'000;
  // Where the rows came from (host, replica columns).
  FleetRowOrigin origin;
  // Identifies the source of the rows (e.g. a hash of host, replica and file);
  // block ids are "<prefix>-<table>-<n>". Required.
  std::string block_prefix;
};

struct ClickHouseLoaderStats {
  int64_t rows_inserted = 0;
  int64_t blocks_inserted = 0;
  int64_t blocks_already_present = 0;  // skipped: a block with that id was in the table
  int64_t rows_already_present = 0;
  int64_t records_without_time = 0;  // no `ts`: no row (counted, not lost silently)
};

// FNV-1a of `s` as 16 hex digits: the stable part of block ids (same
// origin, same id, in every process and run).
std::string BlockIdHash(std::string_view s);

class ClickHouseLoader {
 public:
  static StatusOr<std::unique_ptr<ClickHouseLoader>> Create(const ClickHouseClient* client,
                                                            const ClickHouseLoaderConfig& config);

  // Adds one record whose JSON line as written is `line`; inserts its
  // table's block when full. An insert error is returned (the block is kept
  // and sent again by the next Add or Flush).
  Status Add(const LogRecord& record, std::string_view line);
  // Inserts every partial block.
  Status Flush();

  const ClickHouseLoaderStats& stats() const { return stats_; }

 private:
  struct Pending {
    std::string rows;
    int64_t count = 0;
    int64_t next_block = 0;
  };
  ClickHouseLoader(const ClickHouseClient* client, const ClickHouseLoaderConfig& config)
      : client_(client), config_(config) {}
  Status InsertBlock(const std::string& table, Pending* pending);
  std::string BlockId(const std::string& table, int64_t n) const;

  const ClickHouseClient* client_;  // not owned
  ClickHouseLoaderConfig config_;
  std::map<std::string, Pending, std::less<>> pending_;
  std::map<std::string, FleetTableColumns, std::less<>> columns_;  // read at the first Add
  ClickHouseLoaderStats stats_;
};

}  // namespace yoloscope

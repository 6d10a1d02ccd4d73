// ClickHouseShipper: serve's ClickHouse sink. It follows the request log that
// serve writes (the JSONL file is the spool) and ships its records to the
// fleet tables (clickhouse_schema.h) in blocks, on its own thread, so serving
// never waits for ClickHouse.
//
// Why follow the file rather than take records from the serving threads: the
// local log already has every guarantee (whole lines, SIGHUP reopen, counted
// drops on a full disk), so a ClickHouse outage costs nothing but lag. While
// ClickHouse is slow or down the records wait in the log file; when it
// returns they are back-filled from where shipping stopped.
//
// Exactly once: a block is the complete lines of [offset, end) of one file
// (device + inode); its id is derived from host, replica, inode, its first
// line, offset and end. Its extent is fixed at its first attempt and kept (in memory and in
// the checkpoint) until it is in, so a block sent again (an insert whose
// answer was lost, a restart from the checkpoint) has the same lines and the
// same id, and the shipper asks ClickHouse how many of its rows are there
// before re-sending it: all (nothing to do), none (send it), or some (an
// insert through a Distributed table that landed on one shard and failed on
// another: the missing lines are sent, found by their record text). The
// shipped position and the pending block's extent are kept in
// `<log>.clickhouse` (device, inode, offset[, end]) across restarts.
//
// Rotation: after the writer renames the file (its own size rotation, or
// logrotate + SIGHUP), the shipper finishes the file it has open (the old
// inode, now renamed) before it moves to the new file at the path.
//
// Columns: at start and after any failure the shipper reads which columns
// each table has (system.columns) and names only those in its inserts, so a
// table of an older schema (without the late columns, clickhouse_schema.h)
// keeps taking every record (the values stay in `record`, and the late
// columns' DEFAULTs compute them from it once `db init` adds them). A table
// missing one of the other columns, or with a column of another type, is a
// failure (warned, naming the table and the column, and retried).
//
// Lines that are not records (malformed) are counted and skipped.
// Thread-safety: Start/Stop from one owner; stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_schema.h"

namespace yoloscope {

struct ClickHouseShipperConfig {
  std::string uri;        // clickhouse://host:port/db (required; the tables must exist)
  std::string log_path;   // the request log serve writes (required)
  FleetRowOrigin origin;  // host (default: this machine's name), replica (default: "default")
  // Most lines per block; a block is also sent when no more complete lines
  // are there. >= 1. With insert_interval, up to this many lines per second
  // go in one insert per second; the block's lines and its RowBinary rows
  // (~15 MB and ~10 MB at 50,000 request lines) bound the shipper's memory.
  int64_t block_lines = 50'000;
  // How often the file is looked at when there is nothing to ship, and the
  // first retry delay after a failure (doubling up to max_backoff).
  std::chrono::milliseconds poll{200};
  // The pause after a block that took every line there was, so that a
  // steady stream is inserted about once per interval rather than as fast
  // as ClickHouse answers: each insert is a part per table for ClickHouse
  // to write and later merge (ClickHouse advises about one insert per
  // second), and on shared cores that work is most of the sink's cost.
  std::chrono::milliseconds insert_interval{1'000};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds timeout{10'000};  // per ClickHouse request
  // The shipper thread's nice value (0..19; 0 = serve's own priority). The
  // file is the spool, so shipping can wait: at a higher nice the thread
  // takes the CPU that serving leaves idle, and under saturation it falls
  // behind (lag_bytes grows, nothing is lost) instead of taking CPU from
  // the requests. Linux applies nice per thread.
  int nice = 10;
  // Failures are reported here (rate-limited by the caller if needed).
  std::function<void(const std::string&)> warn;
};

struct ClickHouseShipperStats {
  int64_t rows_shipped = 0;          // inserted by this process
  int64_t rows_already_present = 0;  // a re-sent block that was there already
  int64_t blocks_inserted = 0;
  int64_t insert_failures = 0;  // attempts that failed (retried)
  int64_t malformed_lines = 0;  // skipped
  int64_t lag_bytes = 0;        // written to the log, not yet shipped (the spool)
  bool healthy = true;          // false from a failed insert until one succeeds
  double cpu_seconds = 0;       // CPU time of the shipper thread so far (its cost to serving)
  int nice = 0;                 // the nice value the thread runs at (as set at its start)
};

class ClickHouseShipper {
 public:
  static StatusOr<std::unique_ptr<ClickHouseShipper>> Create(const ClickHouseShipperConfig& config);
  ~ClickHouseShipper();

  void Start();
  // Ships what is in the log (up to `drain` long, while ClickHouse answers;
  // a failing statement is retried 3 times, `poll` apart), then stops the
  // thread.
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5'000));

  ClickHouseShipperStats stats() const;

 private:
  explicit ClickHouseShipper(const ClickHouseShipperConfig& config,
                             std::unique_ptr<ClickHouseClient> client);
  void Run();
  // Ships the next block of the open file; false when there was nothing to
  // ship (or it failed: then *failed is set).
  bool ShipOnce(bool* failed);
  // Parses `line` (a padded copy) into record_ (valid until the next
  // call); the table it goes to.
  StatusOr<std::string_view> ParseRow(std::string_view line);
  // The columns of `table` as last read (columns_).
  const FleetTableColumns& Columns(std::string_view table) const;
  bool OpenCurrent();
  void SaveCheckpoint();
  void LoadCheckpoint();

  ClickHouseShipperConfig config_;
  std::unique_ptr<ClickHouseClient> client_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  ClickHouseShipperStats stats_;  // guarded by mu_

  // Shipper thread only.
  int fd_ = -1;
  uint64_t dev_ = 0, ino_ = 0;
  int64_t offset_ = 0;
  // The end of the block [offset_, pending_end_) being sent, fixed from its
  // first attempt until it is in (-1: none); kept in the checkpoint too.
  int64_t pending_end_ = -1;
  bool caught_up_ = false;   // the last block ended at the end of the file
  bool verify_next_ = true;  // ask whether the next block is there (after a start or a failure)
  bool columns_stale_ = true;  // read the tables' columns before the next block
  std::map<std::string, FleetTableColumns, std::less<>> columns_;
  std::string missing_warned_;      // the late columns last warned about ("" none)
  std::unique_ptr<char[]> buffer_;  // the block's bytes as read
  size_t buffer_size_ = 0;
  std::string line_;
  LogRecord record_;
  // A table's part of a block: its rows, and the lines they came from.
  struct TableBlock {
    std::string id;  // the block's id for this table (every row carries it)
    std::string body;
    std::vector<std::string_view> lines;
  };
};

}  // namespace yoloscope

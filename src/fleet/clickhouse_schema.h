// ClickHouseSchema: the tables a fleet's request logs live in, and the row of
// each table a yoloscope.v1 record becomes.
//
// Three tables per database, one per record kind: `requests`, `batches`,
// `gpu` (alert and unknown records go to `requests`' sibling `other`).
// Each row keeps the whole record as written (`record`, the JSON line), so
// reading a table back gives exactly the log's records; beside it, typed
// columns for the filters and the aggregation pushed into SQL (`day`, `ts`,
// `ts_us`, model, gpu, batch size, stage times, status), and the row's
// origin: `host`, `replica`, `block_id` (the insert block it came in, for
// de-duplication when a block is sent again).
//
// Schema versions: the "late" columns (requests' decode_ms, h2d_ms, d2h_ms,
// mem_used_mb, mem_total_mb, gpu_util; batches' busy_ms) came after the
// first schema. Each has a DEFAULT computed from `record`, so that rows of
// a table made before them (and rows of a writer that does not name them)
// read the value the record has. `db init` adds them to older tables
// (UpgradeStatements); the writers name the columns the table has
// (ReadColumns, FleetTableColumns), so an older table keeps taking rows
// (the values stay in `record`).
//
// Engines (what ClickHouse 18.16 supports): MergeTree PARTITION BY day
// ORDER BY (model, gpu_id, ts_us); on a cluster (uri.cluster) the MergeTree
// tables are `<table>_local` and `<table>` is a Distributed table over the
// cluster's `<table>_local`s, sharded by cityHash64(block_id): each insert
// block goes whole to one shard. (Without ZooKeeper, 18.16
// cannot run ON CLUSTER: the statements are run on every shard.) No DateTime64 (18.16 has
// none): `ts` is whole seconds, `ts_us` the exact microseconds.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_uri.h"
#include "reqlog/log_record.h"

namespace yoloscope {

struct FleetRowOrigin {
  std::string host;     // the machine that served the request
  std::string replica;  // the serve instance (several per host are allowed)
};

// One column of a table, as this version's schema has it.
struct ClickHouseColumn {
  std::string_view name;
  std::string_view type;  // as system.columns shows it ("Nullable(Float64)")
  bool late = false;      // added after the first schema (DEFAULT from `record`)
};

// Which of a table's late columns the table in ClickHouse has; the rows
// written for it (AppendRow, AppendRowBinary, ColumnList) carry exactly
// the table's other columns and these. Default: all (the current schema).
struct FleetTableColumns {
  std::string table;          // "requests", "batches", "gpu" or "other"
  uint32_t late_missing = 0;  // bit i: the table's i-th late column is not there
  bool HasLate(int i) const { return ((late_missing >> i) & 1u) == 0; }
  bool Has(std::string_view column) const;  // any column of Columns(table)
};

// table -> (column -> type), as system.columns has them.
using ClickHouseColumnTypes =
    std::map<std::string, std::map<std::string, std::string>, std::less<>>;

class ClickHouseSchema {
 public:
  // The tables, in creation order.
  static const std::vector<std::string>& Tables();
  // The table a record kind goes to.
  static std::string_view TableFor(RecordKind kind);
  // A table's columns in order (this version's schema), `record` last.
  static const std::vector<ClickHouseColumn>& Columns(std::string_view table);
  // Every column of `table` (the current schema).
  static FleetTableColumns AllColumns(std::string_view table);
  // CREATE DATABASE / TABLE statements (IF NOT EXISTS), for uri.database and
  // uri.cluster.
  static std::vector<std::string> CreateStatements(const ClickHouseUri& uri);
  // The columns of the tables of uri.database, from system.columns (every
  // table of the database, local and Distributed ones alike).
  static StatusOr<ClickHouseColumnTypes> ReadColumnTypes(const ClickHouseClient& client);
  // `table` (one of Tables(); a `_local` name is taken as its table) as it is
  // in `types`: which late columns it has. FailedPrecondition, naming the
  // table and the column, for a table without one of the other columns or
  // with a column of another type; NotFound for a table that is not there.
  static StatusOr<FleetTableColumns> MatchColumns(std::string_view database, std::string_view table,
                                                  const ClickHouseColumnTypes& types);
  // MatchColumns for every table of Tables() that the writers and `analyze`
  // use (on a cluster, the Distributed ones), read from ClickHouse.
  static StatusOr<std::map<std::string, FleetTableColumns, std::less<>>> ReadColumns(
      const ClickHouseClient& client);
  // The ALTER TABLE ... ADD COLUMN statements that bring the tables of
  // uri.database in `types` (after CreateStatements) to this schema: each
  // missing late column, with its DEFAULT from `record`, at its place
  // (AFTER), the local tables before the Distributed ones (a Distributed
  // table's column is read from the local tables). `added`, if not null,
  // gets "db.table.column" per statement. FailedPrecondition as
  // MatchColumns (a table that cannot be upgraded: nothing is run); a table
  // missing from `types` is NotFound. (18.16 has no ADD COLUMN IF NOT
  // EXISTS: only the missing ones are named.)
  static StatusOr<std::vector<std::string>> UpgradeStatements(const ClickHouseUri& uri,
                                                              const ClickHouseColumnTypes& types,
                                                              std::vector<std::string>* added);
  // The late columns `columns` lacks, "a, b" ("" when none).
  static std::string MissingLateColumns(const FleetTableColumns& columns);
  // Appends one JSONEachRow row (with '\n') for `record`, whose JSON line as
  // written is `line`, to `*out`, with the columns of `columns` (whose
  // table must be TableFor(record.kind)). False when the record has no time
  // (a row needs its day): the caller counts it.
  static bool AppendRow(const LogRecord& record, std::string_view line,
                        const FleetRowOrigin& origin, std::string_view block_id,
                        const FleetTableColumns& columns, std::string* out);
  // As above, with every column (the current schema).
  static bool AppendRow(const LogRecord& record, std::string_view line,
                        const FleetRowOrigin& origin, std::string_view block_id, std::string* out);
  // As AppendRow, from the record's JSON line alone (what serve's shipper
  // has): the line is parsed for the typed columns. `line` must have
  // kLinePadding readable bytes after it. InvalidArgument for a line that
  // is not a JSON object, or has no usable `ts`.
  static constexpr size_t kLinePadding = 64;
  static Status AppendRowFromLine(std::string_view line, const FleetRowOrigin& origin,
                                  std::string_view block_id, std::string* out);
  // The record of a JSON line, for AppendRow / AppendRowBinary: its string
  // views point into `line` or into this thread's parser and are valid
  // until the next ParseLine on the thread. `line` must have kLinePadding
  // readable bytes after it. InvalidArgument as for AppendRowFromLine.
  static Status ParseLine(std::string_view line, LogRecord* out);
  // One RowBinary row of TableFor(record.kind), with the columns of
  // ColumnList(columns) in order (serve's shipper: no text to format on our
  // side, none to parse on ClickHouse's). `columns.table` must be
  // TableFor(record.kind); `record.ts_us` must be set.
  static void AppendRowBinary(const LogRecord& record, std::string_view line,
                              const FleetRowOrigin& origin, std::string_view block_id,
                              const FleetTableColumns& columns, std::string* out);
  // "(day, ts, ..., record)": the columns of `columns`, for INSERT ... FORMAT
  // RowBinary / JSONEachRow.
  static std::string ColumnList(const FleetTableColumns& columns);
  // SELECT returning the records as JSON lines, one per row, ordered by
  // time, within uri.since / uri.until / uri.where. InvalidArgument for a
  // bad since/until.
  static StatusOr<std::string> SelectRecords(const ClickHouseUri& uri);
  // " WHERE ..." (or "") for uri.since / uri.until / uri.where, on the
  // columns every table has. InvalidArgument for a bad since/until.
  static StatusOr<std::string> WhereClause(const ClickHouseUri& uri);
};

}  // namespace yoloscope

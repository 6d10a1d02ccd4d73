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

#include <string>
#include <string_view>
#include <vector>

#include "fleet/clickhouse_uri.h"
#include "reqlog/log_record.h"

namespace yoloscope {

struct FleetRowOrigin {
  std::string host;     // the machine that served the request
  std::string replica;  // the serve instance (several per host are allowed)
};

class ClickHouseSchema {
 public:
  // The tables, in creation order.
  static const std::vector<std::string>& Tables();
  // The table a record kind goes to.
  static std::string_view TableFor(RecordKind kind);
  // CREATE DATABASE / TABLE statements (IF NOT EXISTS), for uri.database and
  // uri.cluster.
  static std::vector<std::string> CreateStatements(const ClickHouseUri& uri);
  // Appends one JSONEachRow row (with '\n') for `record`, whose JSON line as
  // written is `line`, to `*out`. False when the record has no time (a row
  // needs its day): the caller counts it.
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
  // ColumnList(table) in order (serve's shipper: no text to format on our
  // side, none to parse on ClickHouse's). `record.ts_us` must be set.
  static void AppendRowBinary(const LogRecord& record, std::string_view line,
                              const FleetRowOrigin& origin, std::string_view block_id,
                              std::string* out);
  // "(day, ts, ..., record)": a table's columns, for INSERT ... FORMAT RowBinary.
  static const std::string& ColumnList(std::string_view table);
  // SELECT returning the records as JSON lines, one per row, ordered by
  // time, within uri.since / uri.until / uri.where. InvalidArgument for a
  // bad since/until.
  static StatusOr<std::string> SelectRecords(const ClickHouseUri& uri);
  // " WHERE ..." (or "") for uri.since / uri.until / uri.where, on the
  // columns every table has. InvalidArgument for a bad since/until.
  static StatusOr<std::string> WhereClause(const ClickHouseUri& uri);
};

}  // namespace yoloscope

// ClickHousePushDown: `analyze clickhouse://...?pushdown=1` -- the report's
// aggregates computed by ClickHouse in SQL, only the reduced state sent back
// (a few hundred rows whatever the number of records), loaded into a
// LogAggregator that the Analyzer turns into the usual report.
//
// Pushed down (docs/fleet.md, "Push-down"): the record counts per kind, the
// requests by outcome (served / refused / failed, errors by status), the
// per-stage latency of served requests, the breakdowns by GPU, model and
// replica, the batch-size and queue-length distributions, the equal-work
// baselines (model x gpu x batch x input size class), and the time buckets
// behind the time series (per bucket: records, requests, errors,
// rejections, stage sums, coarse latency histograms, equal-work cells), at
// the resolution TimeBucketStore would reach. The histograms are computed
// with the analyzer's own bucket arithmetic (LatencyHistogram's IEEE-754
// bucket index, in SQL on the value's bits), so their quantiles are the
// analyzer's, not ClickHouse's quantile*() estimates.
//
// Not pushed down yet: the per-record finding candidates and their example
// request ids, device state per bucket, the slowest request per bucket,
// OOMs and allocation-retry counters, video streams: the rules are not run
// (the report says so in its skipped checks); pushdown=0 (the default)
// reads the records and runs them.
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <vector>

#include "analyzer/aggregate/log_aggregator.h"
#include "common/status.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {

class ClickHousePushDown {
 public:
  // Runs the aggregate statements for `uri` (its since/until/where apply)
  // and fills `agg`, which must be empty. The statements read typed
  // columns only; a `requests` table older than its late columns
  // (clickhouse_schema.h) has decode_ms, h2d_ms, d2h_ms and the device
  // fields read from `record` instead. `statements`, if not null, gets each
  // aggregate statement's SQL as sent. Errors as ClickHouseClient's;
  // FailedPrecondition / NotFound as ClickHouseSchema::ReadColumns.
  static Status Fill(const ClickHouseUri& uri, LogAggregator* agg,
                     std::vector<std::string>* statements = nullptr);

  // The SQL expression of LatencyHistogram::BucketIndex for a Float64
  // expression `ms` at `sub_bucket_bits` (exposed for tests).
  static std::string BucketSql(const std::string& ms, int sub_bucket_bits);
};

}  // namespace yoloscope

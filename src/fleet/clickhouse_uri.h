// ClickHouseUri: where a fleet's request logs live in ClickHouse, as given on
// the command line: clickhouse://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE][?OPTIONS]
//
// - PORT is ClickHouse's HTTP interface (default 8123); DATABASE defaults to
//   "yoloscope". USER defaults to "default" with an empty password; both may
//   be percent-encoded.
// - OPTIONS (for `analyze`): since=T and until=T (RFC 3339 or epoch seconds)
//   bound the records by time; where=EXPR adds a condition on the tables'
//   columns (docs/fleet.md lists them); cluster=NAME (for `db init`) creates
//   Distributed tables over that cluster's shards; pushdown=1 (for `analyze`)
//   computes the report's aggregates in SQL instead of reading the records
//   back (docs/fleet.md, "Push-down").
//
// Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

struct ClickHouseUri {
  std::string host;
  int port = 8123;
  std::string database = "yoloscope";
  std::string user = "default";
  std::string password;
  std::string since;    // as given; empty = unbounded
  std::string until;    // as given; empty = unbounded
  std::string where;    // an extra SQL condition; empty = none
  std::string cluster;  // empty = one server, plain MergeTree tables
  bool pushdown = false;  // analyze: aggregate in SQL (ClickHousePushDown)

  // InvalidArgument naming the part that is wrong ("clickhouse://h:99999/db:
  // port must be 1..65535").
  static StatusOr<ClickHouseUri> Parse(std::string_view uri);
  static bool Matches(std::string_view text) { return text.substr(0, 13) == "clickhouse://"; }

  // host:port/database (no credentials), for messages.
  std::string Describe() const;
};

}  // namespace yoloscope

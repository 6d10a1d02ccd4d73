#include "fleet/clickhouse_uri.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_schema.h"

namespace yoloscope {
namespace {

TEST(ClickHouseUriTest, ParsesEveryPart) {
  auto u = ClickHouseUri::Parse(
      "clickhouse://ops:p%40ss@ch-1.example:9123/fleet?since=2026-12-06T00:00:00Z&until=1765000000"
      "&where=model+%3D+%27yolo%27&cluster=prod&pushdown=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->user, "ops");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "ch-1.example");
  EXPECT_EQ(u->port, 9123);
  EXPECT_EQ(u->database, "fleet");
  EXPECT_EQ(u->since, "2026-12-06T00:00:00Z");
  EXPECT_EQ(u->until, "1765000000");
  EXPECT_EQ(u->where, "model = 'yolo'");
  EXPECT_EQ(u->cluster, "prod");
  EXPECT_TRUE(u->pushdown);
  EXPECT_FALSE(ClickHouseUri::Parse("clickhouse://h/db?pushdown=0")->pushdown);
  EXPECT_EQ(u->Describe(), "ch-1.example:9123/fleet");  // no credentials
}

TEST(ClickHouseUriTest, Defaults) {
  auto u = ClickHouseUri::Parse("clickhouse://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 8123);
  EXPECT_EQ(u->database, "yoloscope");
  EXPECT_EQ(u->user, "default");
  EXPECT_TRUE(u->password.empty());
  EXPECT_FALSE(u->pushdown);  // the records are read back unless asked
}

TEST(ClickHouseUriTest, MalformedUrisNameWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://h/db", "expected clickhouse://"},
      {"clickhouse://", "no host"},
      {"clickhouse://h:0/db", "port must be 1..65535"},
      {"clickhouse://h:99999/db", "port must be 1..65535"},
      {"clickhouse://h:12ab/db", "port must be 1..65535"},
      {"clickhouse://h/db;drop", "database must be a name"},
      {"clickhouse://h/db?foo=1", "unknown option 'foo'"},
      {"clickhouse://h/db?cluster=a-b", "cluster must be a name"},
      {"clickhouse://h/db?pushdown=yes", "pushdown must be 0 or 1"},
      {"clickhouse://@h/db", "empty user name"},
      {"clickhouse://u:%zz@h/db", "bad percent-encoding in the password"},
      {"clickhouse://h o/db", "bad character in host"},
  };
  for (const auto& [text, why] : cases) {
    auto u = ClickHouseUri::Parse(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(u.status().message().find(why), std::string::npos) << u.status().message();
    EXPECT_NE(u.status().message().find(text), std::string::npos) << u.status().message();
  }
}

TEST(ClickHouseClientTest, ServerErrorsBecomeStatusesThatSayWhatToDo) {
  auto uri = *ClickHouseUri::Parse("clickhouse://u@h:1/db");
  Status auth = ClickHouseErrorToStatus(
      500, "Code: 192, e.displayText() = DB::Exception: Unknown user u, e.what() = DB::Exception\n",
      uri);
  EXPECT_EQ(auth.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(auth.message().find("refused user 'u': Unknown user u"), std::string::npos)
      << auth.message();
  Status table = ClickHouseErrorToStatus(
      404,
      "Code: 60, e.displayText() = DB::Exception: Table db.requests doesn't exist., e.what() = "
      "DB::Exception",
      uri);
  EXPECT_EQ(table.code(), StatusCode::kNotFound);
  EXPECT_NE(table.message().find("yoloscope db init"), std::string::npos) << table.message();
  Status syntax = ClickHouseErrorToStatus(
      400, "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1", uri);
  EXPECT_EQ(syntax.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(syntax.message().find("code 62"), std::string::npos);
  EXPECT_EQ(ClickHouseQuote("a'b\\c"), "'a\\'b\\\\c'");
}

TEST(ClickHouseSchemaTest, SelectAppliesTimeBoundsAndConditionToEveryTable) {
  auto uri =
      *ClickHouseUri::Parse("clickhouse://h/db?since=2026-12-06T00:00:00Z&where=host+%3D+%27a%27");
  auto sql = ClickHouseSchema::SelectRecords(uri);
  ASSERT_TRUE(sql.ok());
  size_t bounded = 0;
  for (size_t p = 0;
       (p = sql->find("ts_us >= 1796515200000000 AND (host = 'a')", p)) != std::string::npos; ++p) {
    ++bounded;
  }
  EXPECT_EQ(bounded, ClickHouseSchema::Tables().size()) << *sql;
  EXPECT_NE(sql->find("ORDER BY ts_us FORMAT TabSeparatedRaw"), std::string::npos);
  auto bad = ClickHouseSchema::SelectRecords(*ClickHouseUri::Parse("clickhouse://h/db?until=soon"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("until=soon"), std::string::npos);
}

TEST(ClickHouseSchemaTest, RowCarriesTheRecordAndItsTypedColumns) {
  LogRecord r;
  r.kind = RecordKind::kRequest;
  r.ts_us = 1796515200123456;  // 2026-12-06 00:00:00.123456 UTC
  r.model = "yolo\"v8";
  r.gpu_id = 1;
  r.total_ms = 12.5;
  std::string out;
  const std::string line = R"({"event":"request","ts":"2026-12-06T00:00:00.123456Z"})";
  ASSERT_TRUE(ClickHouseSchema::AppendRow(r, line, {"host1", "r2"}, "blk-requests-0", &out));
  EXPECT_NE(out.find(R"("day":"2026-12-06","ts":"2026-12-06 00:00:00","ts_us":1796515200123456)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("model":"yolo\"v8","gpu_id":1)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("total_ms":12.5)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("queue_ms":null)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("record":"{\"event\":\"request\")"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  LogRecord no_time;
  EXPECT_FALSE(ClickHouseSchema::AppendRow(no_time, "{}", {}, "b", &out));
}

// The columns of tables as system.columns would list them: this version's,
// less those in `drop` ("name": that late column of any table;
// "table.name": that column of that table).
ClickHouseColumnTypes Shape(const std::vector<std::string>& tables,
                            const std::vector<std::string>& drop = {}) {
  ClickHouseColumnTypes types;
  for (const std::string& t : tables) {
    auto& cols = types[t];
    for (const ClickHouseColumn& c : ClickHouseSchema::Columns(t)) {
      const std::string name(c.name);
      auto dropped = [&](const std::string& d) {
        return (c.late && d == name) || d == t + "." + name;
      };
      if (std::none_of(drop.begin(), drop.end(), dropped)) cols[name] = std::string(c.type);
    }
  }
  return types;
}

TEST(ClickHouseSchemaTest, UpgradeAddsTheLateColumnsInPlaceLocalTablesFirst) {
  const std::vector<std::string> late = {"decode_ms",    "h2d_ms",   "d2h_ms", "mem_used_mb",
                                         "mem_total_mb", "gpu_util", "busy_ms"};
  // Current tables: nothing to do.
  auto none = ClickHouseSchema::UpgradeStatements(*ClickHouseUri::Parse("clickhouse://h/db"),
                                                  Shape(ClickHouseSchema::Tables()), nullptr);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  // Tables of the first schema, on a cluster: every late column, on the
  // local tables before the Distributed ones, each after its predecessor.
  std::vector<std::string> tables = ClickHouseSchema::Tables();
  for (const std::string& t : ClickHouseSchema::Tables()) tables.push_back(t + "_local");
  std::vector<std::string> added;
  auto alters = ClickHouseSchema::UpgradeStatements(
      *ClickHouseUri::Parse("clickhouse://h/db?cluster=c"), Shape(tables, late), &added);
  ASSERT_TRUE(alters.ok()) << alters.status().ToString();
  ASSERT_EQ(alters->size(), 14u);
  ASSERT_EQ(added.size(), 14u);
  EXPECT_EQ(added[0], "db.requests_local.decode_ms");
  EXPECT_EQ(added[6], "db.batches_local.busy_ms");
  EXPECT_EQ(added[7], "db.requests.decode_ms");
  EXPECT_EQ(added[13], "db.batches.busy_ms");
  EXPECT_EQ((*alters)[0].find(
                "ALTER TABLE db.requests_local ADD COLUMN decode_ms Nullable(Float64) DEFAULT "),
            0u)
      << (*alters)[0];
  EXPECT_NE((*alters)[0].find("DEFAULT if(visitParamHas(record, 'decode_ms'), "
                              "toNullable(visitParamExtractFloat(record, 'decode_ms')), NULL)"),
            std::string::npos)
      << (*alters)[0];
  EXPECT_NE((*alters)[0].find(" AFTER total_ms"), std::string::npos) << (*alters)[0];
  EXPECT_NE((*alters)[1].find(" AFTER decode_ms"), std::string::npos) << (*alters)[1];
  EXPECT_NE((*alters)[6].find(" AFTER mem_total_mb"), std::string::npos) << (*alters)[6];
  // Only what is missing (18.16 has no ADD COLUMN IF NOT EXISTS).
  auto one =
      ClickHouseSchema::UpgradeStatements(*ClickHouseUri::Parse("clickhouse://h/db"),
                                          Shape(ClickHouseSchema::Tables(), {"gpu_util"}), &added);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(added, std::vector<std::string>{"db.requests.gpu_util"});
  EXPECT_NE((*one)[0].find("ADD COLUMN gpu_util Nullable(Float64) DEFAULT"), std::string::npos);
}

TEST(ClickHouseSchemaTest, DriftThatCannotBeUpgradedIsRefusedByTableAndColumn) {
  // A table without a column of the first schema.
  auto missing = ClickHouseSchema::UpgradeStatements(
      *ClickHouseUri::Parse("clickhouse://h/db"),
      Shape(ClickHouseSchema::Tables(), {"decode_ms", "requests.status"}), nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("table db.requests has no column status String"),
            std::string::npos)
      << missing.status().message();
  // A column of another type.
  ClickHouseColumnTypes types = Shape(ClickHouseSchema::Tables());
  types["batches"]["busy_ms"] = "Float64";
  auto typed = ClickHouseSchema::MatchColumns("db", "batches", types);
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(typed.status().message().find("table db.batches: column busy_ms is Float64, the fleet "
                                          "schema's is Nullable(Float64)"),
            std::string::npos)
      << typed.status().message();
  // A table that is not there.
  types.erase("gpu");
  auto gone = ClickHouseSchema::MatchColumns("db", "gpu", types);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("yoloscope db init"), std::string::npos);
}

TEST(ClickHouseSchemaTest, RowsNameOnlyTheColumnsTheTableHas) {
  ClickHouseColumnTypes types =
      Shape(ClickHouseSchema::Tables(), {"h2d_ms", "gpu_util", "busy_ms"});
  auto requests = ClickHouseSchema::MatchColumns("db", "requests", types);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  EXPECT_EQ(ClickHouseSchema::MissingLateColumns(*requests), "h2d_ms, gpu_util");
  EXPECT_TRUE(requests->Has("decode_ms"));
  EXPECT_FALSE(requests->Has("h2d_ms"));
  EXPECT_TRUE(requests->Has("status"));
  const std::string list = ClickHouseSchema::ColumnList(*requests);
  EXPECT_NE(list.find("total_ms, decode_ms, d2h_ms, mem_used_mb, mem_total_mb, record)"),
            std::string::npos)
      << list;
  EXPECT_NE(ClickHouseSchema::ColumnList(ClickHouseSchema::AllColumns("batches"))
                .find("mem_total_mb, busy_ms, record)"),
            std::string::npos);

  LogRecord r;
  r.kind = RecordKind::kRequest;
  r.ts_us = 1796515200123456;
  r.decode_ms = 1.5;
  r.h2d_ms = 0.25;
  r.gpu_util = 40;
  std::string out;
  ASSERT_TRUE(ClickHouseSchema::AppendRow(r, "{}", {}, "b", *requests, &out));
  EXPECT_NE(out.find(R"("decode_ms":1.5)"), std::string::npos) << out;
  EXPECT_EQ(out.find("h2d_ms"), std::string::npos) << out;
  EXPECT_EQ(out.find("gpu_util"), std::string::npos) << out;
  out.clear();
  ASSERT_TRUE(ClickHouseSchema::AppendRow(r, "{}", {}, "b", &out));  // every column
  EXPECT_NE(out.find(R"("h2d_ms":0.25)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("gpu_util":40)"), std::string::npos) << out;
  // RowBinary: a missing column whose value the record has is 9 bytes less
  // (the null flag and the Float64).
  std::string all, fewer;
  ClickHouseSchema::AppendRowBinary(r, "{}", {}, "b", ClickHouseSchema::AllColumns("requests"),
                                    &all);
  ClickHouseSchema::AppendRowBinary(r, "{}", {}, "b", *requests, &fewer);
  EXPECT_EQ(all.size() - fewer.size(), 2u * 9u);
  LogRecord batch;
  batch.kind = RecordKind::kBatch;
  batch.ts_us = 1;
  batch.busy_ms = 3.5;
  all.clear();
  fewer.clear();
  ClickHouseSchema::AppendRowBinary(batch, "{}", {}, "b", ClickHouseSchema::AllColumns("batches"),
                                    &all);
  ClickHouseSchema::AppendRowBinary(
      batch, "{}", {}, "b", *ClickHouseSchema::MatchColumns("db", "batches", types), &fewer);
  EXPECT_EQ(all.size() - fewer.size(), 9u);
  // The line parser takes the late fields too.
  std::string line = R"({"event":"batch","ts":"2026-12-06T00:00:00Z","busy_ms":3.25})";
  const size_t n = line.size();
  line.append(ClickHouseSchema::kLinePadding, ' ');
  LogRecord parsed;
  ASSERT_TRUE(ClickHouseSchema::ParseLine(std::string_view(line.data(), n), &parsed).ok());
  EXPECT_EQ(parsed.busy_ms, 3.25);
}

}  // namespace
}  // namespace yoloscope

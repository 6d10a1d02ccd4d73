#include "fleet/clickhouse_uri.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace yoloscope

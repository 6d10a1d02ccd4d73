#include "analyzer/readers/table_parser.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

using Outcome = TableParser::Outcome;

class TableParserTest : public ::testing::Test {
 protected:
  void Make(InputFormat format, const std::map<std::string, std::string>& map = {}) {
    auto parser = TableParser::Create(format, map);
    ASSERT_TRUE(parser.ok()) << parser.status().ToString();
    parser_ = std::move(parser).value();
    line_ = 0;
  }
  Outcome Feed(const std::string& line) {
    lines_.push_back(line);  // keep the bytes alive while the record is inspected
    return parser_->FeedLine(lines_.back(), ++line_, &record_);
  }

  std::unique_ptr<TableParser> parser_;
  LogRecord record_;
  int64_t line_ = 0;
  std::deque<std::string> lines_;
};

TEST_F(TableParserTest, CsvWithQuotesUnitsAndNotes) {
  Make(InputFormat::kCsv);
  EXPECT_EQ(Feed("时间戳,请求ID,推理耗时(ms),显存占用,状态,备注"), Outcome::kHeader);
  ASSERT_EQ(Feed("2026-01-01 00:00:01.5,\"r,1\",12.5,3.9GB,成功,"), Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kRequest);
  EXPECT_EQ(record_.ts_us, 1767225601500000);
  EXPECT_EQ(record_.request_id, "r,1");
  EXPECT_EQ(record_.inference_ms, 12.5);
  EXPECT_DOUBLE_EQ(*record_.mem_used_mb, 3.9 * 1024);
  EXPECT_EQ(record_.status, "ok");
  EXPECT_FALSE(record_.oom.has_value());
  EXPECT_EQ(record_.line, 2);

  ASSERT_EQ(Feed("2026-01-01 00:00:02,\"say \"\"hi\"\"\",0.8 s,3980 (OOM!),失败,"),
            Outcome::kRecord);
  EXPECT_EQ(record_.request_id, "say \"hi\"");
  EXPECT_EQ(record_.inference_ms, 800.0);
  EXPECT_EQ(record_.mem_used_mb, 3980.0);
  EXPECT_EQ(record_.oom, true);
  EXPECT_EQ(record_.status, "失败");

  // A quoted field over two lines.
  EXPECT_EQ(Feed("2026-01-01 00:00:03,r3,5,1GB,ok,\"first"), Outcome::kNeedMore);
  ASSERT_EQ(Feed("second, OOM\""), Outcome::kRecord);
  EXPECT_EQ(record_.line, 4);
  EXPECT_EQ(record_.request_id, "r3");
  EXPECT_EQ(record_.oom, true);  // the note mentions OOM

  EXPECT_EQ(Feed("just text"), Outcome::kMalformed);
  EXPECT_EQ(parser_->why(), "expected 6 columns, got 1");
  EXPECT_EQ(Feed("2026-01-01 00:00:04,r4,1,1,ok,,extra"), Outcome::kMalformed);
  EXPECT_EQ(Feed(",,,,,"), Outcome::kSkip);
  EXPECT_EQ(Feed(""), Outcome::kSkip);

  ASSERT_EQ(Feed("2026-01-01 00:00:05,r5,fast,N/A,ok"), Outcome::kRecord);  // short row is fine
  EXPECT_TRUE(parser_->had_field_error());
  EXPECT_EQ(parser_->why(), "column '推理耗时(ms)': not a number: 'fast'");
  EXPECT_FALSE(record_.inference_ms.has_value());
  EXPECT_FALSE(record_.mem_used_mb.has_value());

  EXPECT_EQ(Feed("2026-01-01 00:00:06,r6,1,1,ok,\"never closed"), Outcome::kNeedMore);
  EXPECT_EQ(parser_->Finish(), Outcome::kMalformed);
}

TEST_F(TableParserTest, UnitMismatchIsAFieldError) {
  Make(InputFormat::kCsv);
  EXPECT_EQ(Feed("latency,mem"), Outcome::kHeader);
  ASSERT_EQ(Feed("85%,12ms"), Outcome::kRecord);
  EXPECT_TRUE(parser_->had_field_error());
  EXPECT_FALSE(record_.total_ms.has_value());
  EXPECT_FALSE(record_.mem_used_mb.has_value());
}

TEST_F(TableParserTest, TsvAndEpochTimestamps) {
  Make(InputFormat::kTsv);
  EXPECT_EQ(Feed("time (ms)\tid\tgpu\tlatency"), Outcome::kHeader);
  ASSERT_EQ(Feed("1767225600500\tx\tcuda:1\t3"), Outcome::kRecord);
  EXPECT_EQ(record_.ts_us, 1767225600500000);  // header unit: epoch milliseconds
  EXPECT_EQ(record_.gpu_id, 1);
  EXPECT_EQ(record_.total_ms, 3.0);
}

TEST_F(TableParserTest, MarkdownTables) {
  Make(InputFormat::kMarkdown);
  EXPECT_EQ(Feed("# Report"), Outcome::kSkip);
  EXPECT_EQ(Feed("Some text | with a pipe"), Outcome::kSkip);
  EXPECT_EQ(Feed("no rule here"), Outcome::kSkip);
  EXPECT_EQ(Feed("| ts | request id | latency [s] |"), Outcome::kSkip);
  EXPECT_EQ(Feed("|:---|---:|:-:|"), Outcome::kHeader);
  ASSERT_EQ(Feed("| 2026-01-01T00:00:00Z | a\\|b | 0.5 |"), Outcome::kRecord);
  EXPECT_EQ(record_.request_id, "a|b");
  EXPECT_EQ(record_.total_ms, 500.0);
  EXPECT_EQ(record_.line, 6);
  ASSERT_EQ(Feed("2026-01-01T00:00:01Z | c | 0.25"), Outcome::kRecord);  // no outer pipes
  EXPECT_EQ(record_.request_id, "c");
  EXPECT_EQ(Feed(""), Outcome::kSkip);  // ends the table
  EXPECT_EQ(Feed("| gpu util | memory used |"), Outcome::kSkip);
  EXPECT_EQ(Feed("|---|---|"), Outcome::kHeader);
  ASSERT_EQ(Feed("| 77% | 4 GiB |"), Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kGpu);  // telemetry-only table
  EXPECT_EQ(record_.gpu_util, 77.0);
  EXPECT_EQ(record_.mem_used_mb, 4096.0);
}

TEST_F(TableParserTest, NvidiaSmi) {
  Make(InputFormat::kNvidiaSmi);
  EXPECT_EQ(Feed("timestamp, index, utilization.gpu [%], memory.used [MiB], "
                 "clocks_throttle_reasons.active, clocks_throttle_reasons.hw_slowdown"),
            Outcome::kHeader);
  ASSERT_EQ(Feed("2026/01/01 12:00:00.123, 1, 85 %, 4096 MiB, 0x0000000000000044, Active"),
            Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kGpu);
  EXPECT_EQ(record_.ts_us, 1767268800123000);
  EXPECT_EQ(record_.gpu_id, 1);
  EXPECT_EQ(record_.gpu_util, 85.0);
  EXPECT_EQ(record_.mem_used_mb, 4096.0);
  EXPECT_EQ(record_.throttle_reasons, "sw_power_cap,hw_thermal_slowdown");  // mask wins
  ASSERT_EQ(Feed("2026/01/01 12:00:01.123, 1, [N/A], [Not Supported], [N/A], Not Active"),
            Outcome::kRecord);
  EXPECT_FALSE(record_.gpu_util.has_value());
  EXPECT_FALSE(record_.mem_used_mb.has_value());
  EXPECT_EQ(record_.throttle_reasons, "");
  EXPECT_NE(record_.throttle_reasons.data(), nullptr);  // known: none active
  EXPECT_FALSE(parser_->had_field_error());
}

TEST_F(TableParserTest, EventColumnAndMap) {
  Make(InputFormat::kCsv, {{"total_ms", "Dauer"}});
  EXPECT_EQ(Feed("type,Dauer,batch"), Outcome::kHeader);
  ASSERT_EQ(Feed("batch,5,8"), Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kBatch);
  EXPECT_EQ(record_.total_ms, 5.0);
  EXPECT_EQ(record_.batch_size, 8);
  EXPECT_TRUE(parser_->TakeWarnings().empty());
}

TEST_F(TableParserTest, WarnsAboutIgnoredColumns) {
  Make(InputFormat::kCsv);
  EXPECT_EQ(Feed("foo,bar"), Outcome::kHeader);
  const std::vector<std::string> w = parser_->TakeWarnings();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], "header at line 1: ignored columns: foo, bar");
  EXPECT_EQ(w[1], "header at line 1: no column matches a schema field (use --map field=column)");
}

}  // namespace
}  // namespace yoloscope

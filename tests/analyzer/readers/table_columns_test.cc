#include "analyzer/readers/table_columns.h"

#include <gtest/gtest.h>

#include <memory>

namespace yoloscope {
namespace {

class TableColumnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto columns = TableColumns::Create({});
    ASSERT_TRUE(columns.ok());
    columns_ = std::move(columns).value();
  }
  std::string_view FieldOf(std::string_view header) {
    const ColumnBinding b = columns_->MapCell(header);
    return b.role == ColumnRole::kField ? b.field->name : std::string_view("-");
  }
  ValueUnit UnitOf(std::string_view header) { return columns_->MapCell(header).header_unit; }

  std::unique_ptr<TableColumns> columns_;
};

TEST_F(TableColumnsTest, EnglishAndChineseAliases) {
  EXPECT_EQ(FieldOf("时间戳"), "ts");
  EXPECT_EQ(FieldOf("Timestamp"), "ts");
  EXPECT_EQ(FieldOf("time"), "ts");
  EXPECT_EQ(FieldOf("请求ID"), "request_id");
  EXPECT_EQ(FieldOf("Request ID"), "request_id");
  EXPECT_EQ(FieldOf("request_id"), "request_id");
  EXPECT_EQ(FieldOf("批大小"), "batch_size");
  EXPECT_EQ(FieldOf("Batch Size"), "batch_size");
  EXPECT_EQ(FieldOf("batch"), "batch_size");
  EXPECT_EQ(FieldOf("排队时间"), "queue_ms");
  EXPECT_EQ(FieldOf("等待时间"), "queue_ms");
  EXPECT_EQ(FieldOf("queue time"), "queue_ms");
  EXPECT_EQ(FieldOf("wait"), "queue_ms");
  EXPECT_EQ(FieldOf("解码耗时"), "decode_ms");
  EXPECT_EQ(FieldOf("预处理耗时"), "preprocess_ms");
  EXPECT_EQ(FieldOf("preprocess"), "preprocess_ms");
  EXPECT_EQ(FieldOf("推理耗时"), "inference_ms");
  EXPECT_EQ(FieldOf("Inference"), "inference_ms");
  EXPECT_EQ(FieldOf("infer"), "inference_ms");
  EXPECT_EQ(FieldOf("后处理耗时"), "postprocess_ms");
  EXPECT_EQ(FieldOf("总耗时"), "total_ms");
  EXPECT_EQ(FieldOf("Latency"), "total_ms");
  EXPECT_EQ(FieldOf("total"), "total_ms");
  EXPECT_EQ(FieldOf("GPU利用率"), "gpu_util");
  EXPECT_EQ(FieldOf("gpu util"), "gpu_util");
  EXPECT_EQ(FieldOf("GPU_Util"), "gpu_util");
  EXPECT_EQ(FieldOf("显存占用"), "mem_used_mb");
  EXPECT_EQ(FieldOf("显存"), "mem_used_mb");
  EXPECT_EQ(FieldOf("memory used"), "mem_used_mb");
  EXPECT_EQ(FieldOf("GPU memory"), "mem_used_mb");
  EXPECT_EQ(FieldOf("显存总量"), "mem_total_mb");
  EXPECT_EQ(FieldOf("状态"), "status");
  EXPECT_EQ(FieldOf("错误"), "error");
  EXPECT_EQ(FieldOf("  STATUS  "), "status");
  EXPECT_EQ(FieldOf("something else"), "-");
  EXPECT_EQ(FieldOf("utilization.memory [%]"), "-");  // memory-controller load, not gpu_util
}

TEST_F(TableColumnsTest, UnitsInHeaders) {
  EXPECT_EQ(FieldOf("推理耗时(ms)"), "inference_ms");
  EXPECT_EQ(UnitOf("推理耗时(ms)"), ValueUnit::kMs);
  EXPECT_EQ(FieldOf("latency [s]"), "total_ms");
  EXPECT_EQ(UnitOf("latency [s]"), ValueUnit::kS);
  EXPECT_EQ(FieldOf("mem (GiB)"), "mem_used_mb");
  EXPECT_EQ(UnitOf("mem (GiB)"), ValueUnit::kGb);
  EXPECT_EQ(UnitOf("总耗时（毫秒）"), ValueUnit::kMs);
  EXPECT_EQ(FieldOf("memory.used [MiB]"), "mem_used_mb");
  EXPECT_EQ(FieldOf("utilization.gpu [%]"), "gpu_util");
  // A unit suffix on an alias.
  EXPECT_EQ(FieldOf("queue_time_ms"), "queue_ms");
  EXPECT_EQ(UnitOf("queue_time_ms"), ValueUnit::kMs);
  EXPECT_EQ(FieldOf("latency_us"), "total_ms");
  EXPECT_EQ(UnitOf("latency_us"), ValueUnit::kUs);
  EXPECT_EQ(FieldOf("gpu_mem_gb"), "mem_used_mb");
  EXPECT_EQ(UnitOf("gpu_mem_gb"), ValueUnit::kGb);
  EXPECT_EQ(FieldOf("total_ms"), "total_ms");  // a schema name is never split
  EXPECT_EQ(UnitOf("total_ms"), ValueUnit::kNone);
}

TEST_F(TableColumnsTest, SpecialColumns) {
  EXPECT_EQ(columns_->MapCell("备注").role, ColumnRole::kNote);
  EXPECT_EQ(columns_->MapCell("Notes").role, ColumnRole::kNote);
  EXPECT_EQ(columns_->MapCell("event").role, ColumnRole::kEvent);
  const ColumnBinding b = columns_->MapCell("clocks_throttle_reasons.hw_slowdown");
  EXPECT_EQ(b.role, ColumnRole::kThrottleFlag);
  EXPECT_EQ(b.throttle_reason, "hw_slowdown");
  EXPECT_EQ(FieldOf("clocks_throttle_reasons.active"), "throttle_reasons");
}

TEST_F(TableColumnsTest, MapHeaderHonoursMapAndFirstClaim) {
  auto columns = TableColumns::Create({{"queue_ms", "Wartezeit"}, {"total_ms", "p"}});
  ASSERT_TRUE(columns.ok());
  std::vector<std::string> warnings;
  const std::vector<std::string_view> header = {"Wartezeit (s)", "wait", "latency", "latency",
                                                "foo"};
  const auto b = (*columns)->MapHeader(header, &warnings);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].field->name, "queue_ms");
  EXPECT_EQ(b[0].header_unit, ValueUnit::kS);
  EXPECT_EQ(b[1].role, ColumnRole::kIgnored);  // queue_ms already claimed by --map
  EXPECT_EQ(b[2].field->name, "total_ms");
  EXPECT_EQ(b[3].role, ColumnRole::kIgnored);  // duplicate
  EXPECT_EQ(b[4].role, ColumnRole::kIgnored);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "--map total_ms=p: no such column");
  EXPECT_EQ(warnings[1], "ignored columns: wait, latency, foo");
}

TEST_F(TableColumnsTest, MapRejectsUnknownFields) {
  auto columns = TableColumns::Create({{"latency", "x"}});
  EXPECT_FALSE(columns.ok());
  EXPECT_EQ(columns.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope

#include "analyzer/readers/jsonl_parser.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace yoloscope {
namespace {

class JsonlParserTest : public ::testing::Test {
 protected:
  void SetUp() override { Make({}); }

  void Make(const std::map<std::string, std::string>& key_map) {
    auto parser = JsonlParser::Create(key_map);
    ASSERT_TRUE(parser.ok()) << parser.status().ToString();
    parser_ = std::move(parser).value();
  }

  JsonlParser::Outcome Parse(const std::string& line) {
    buffer_ = line;
    buffer_.resize(line.size() + JsonlParser::kPadding, 'x');  // padding content is irrelevant
    return parser_->Parse(std::string_view(buffer_.data(), line.size()), buffer_.size(), &record_);
  }

  std::unique_ptr<JsonlParser> parser_;
  std::string buffer_;
  LogRecord record_;
};

TEST_F(JsonlParserTest, ReadsKindsAndFields) {
  ASSERT_EQ(Parse(R"({"event":"batch","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.5Z",)"
                  R"("batch_id":3,"batch_size":8,"inference_ms":12.5,"oom":false})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kBatch);
  EXPECT_EQ(record_.ts_us, 1767225600500000);
  EXPECT_EQ(record_.batch_id, 3);
  EXPECT_EQ(record_.batch_size, 8);
  EXPECT_EQ(record_.inference_ms, 12.5);
  EXPECT_EQ(record_.oom, false);
  EXPECT_FALSE(parser_->had_field_error());
  EXPECT_FALSE(parser_->foreign_schema());

  ASSERT_EQ(Parse(R"({"event":"gpu","gpu_id":1,"gpu_util":99})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kGpu);
  EXPECT_EQ(record_.gpu_util, 99.0);
  EXPECT_FALSE(record_.ts_us.has_value());

  ASSERT_EQ(Parse(R"({"event":"alert"})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kAlert);
  ASSERT_EQ(Parse(R"({"event":"header","schema":"yoloscope.v1"})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kOther);
  // Without "event": a request.
  ASSERT_EQ(Parse(R"({"request_id":"a","total_ms":3})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.kind, RecordKind::kRequest);
  EXPECT_EQ(record_.total_ms, 3.0);
}

TEST_F(JsonlParserTest, NullAndAbsentAreUnknown) {
  ASSERT_EQ(Parse(R"({"event":"request","gpu_id":null,"queue_ms":null,"status":null,"oom":null})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_FALSE(record_.gpu_id.has_value());
  EXPECT_FALSE(record_.queue_ms.has_value());
  EXPECT_FALSE(record_.oom.has_value());
  EXPECT_TRUE(record_.status.empty());
  EXPECT_FALSE(record_.total_ms.has_value());
  EXPECT_FALSE(parser_->had_field_error());
}

TEST_F(JsonlParserTest, LenientNumbersAndTimestamps) {
  ASSERT_EQ(Parse(R"({"ts":1767225600,"batch_size":4.0,"oom":1,"input_bytes":1e3})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.ts_us, 1767225600000000);
  EXPECT_EQ(record_.batch_size, 4);
  EXPECT_EQ(record_.oom, true);
  EXPECT_EQ(record_.input_bytes, 1000);
  ASSERT_EQ(Parse(R"({"ts":1767225600123456})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.ts_us, 1767225600123456);
  ASSERT_EQ(Parse(R"({"ts":"2026-01-01 08:00:00+08:00"})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.ts_us, 1767225600000000);
}

TEST_F(JsonlParserTest, WrongTypesAreFieldErrorsNotMalformed) {
  ASSERT_EQ(Parse(R"({"event":"request","request_id":"r","queue_ms":"slow","batch_size":2.5,)"
                  R"("total_ms":9})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_TRUE(parser_->had_field_error());
  EXPECT_EQ(parser_->why(), "field 'queue_ms': expected a number");
  EXPECT_FALSE(record_.queue_ms.has_value());
  EXPECT_FALSE(record_.batch_size.has_value());
  EXPECT_EQ(record_.total_ms, 9.0);
  EXPECT_EQ(record_.request_id, "r");

  ASSERT_EQ(Parse(R"({"ts":"yesterday","request_id":7})"), JsonlParser::Outcome::kRecord);
  EXPECT_TRUE(parser_->had_field_error());
  EXPECT_FALSE(record_.ts_us.has_value());
  EXPECT_TRUE(record_.request_id.empty());
}

TEST_F(JsonlParserTest, MalformedLines) {
  for (const char* bad : {"not json", "[1,2]", "{\"a\":1", "{\"total_ms\":1} {\"x\":2}",
                          "{\"total_ms\":1} trailing", "\"string\"", "42", "{\"total_ms\":1,,}"}) {
    EXPECT_EQ(Parse(bad), JsonlParser::Outcome::kMalformed) << bad;
    EXPECT_FALSE(parser_->why().empty()) << bad;
  }
}

TEST_F(JsonlParserTest, BlankLines) {
  EXPECT_EQ(Parse(""), JsonlParser::Outcome::kBlank);
  EXPECT_EQ(Parse("   \t\r"), JsonlParser::Outcome::kBlank);
}

TEST_F(JsonlParserTest, StringsAreUnescaped) {
  ASSERT_EQ(Parse(R"({"error":"a\"b\\c\nd \u4e2d\u6587","model":"yolo"})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.error, "a\"b\\c\nd 中文");
  EXPECT_EQ(record_.model, "yolo");
}

TEST_F(JsonlParserTest, UnknownAndNestedFieldsAreSkipped) {
  ASSERT_EQ(Parse(R"({"x":{"total_ms":999,"deep":[1,{"a":null}]},"total_ms":5,"y":[]})"),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.total_ms, 5.0);
  EXPECT_FALSE(parser_->had_field_error());
  // An escaped key is never a schema key.
  ASSERT_EQ(Parse(R"({"tot\u0061l_ms":5})"), JsonlParser::Outcome::kRecord);
  EXPECT_FALSE(record_.total_ms.has_value());
}

TEST_F(JsonlParserTest, ForeignSchemaIsFlagged) {
  ASSERT_EQ(Parse(R"({"schema":"yoloscope.v2","total_ms":1})"), JsonlParser::Outcome::kRecord);
  EXPECT_TRUE(parser_->foreign_schema());
  ASSERT_EQ(Parse(R"({"schema":"yoloscope.v1.3","total_ms":1})"), JsonlParser::Outcome::kRecord);
  EXPECT_FALSE(parser_->foreign_schema());
  ASSERT_EQ(Parse(R"({"schema":"yoloscope.v10","total_ms":1})"), JsonlParser::Outcome::kRecord);
  EXPECT_TRUE(parser_->foreign_schema());
}

TEST_F(JsonlParserTest, MapAddsKeys) {
  Make({{"total_ms", "latency"}, {"request_id", "rid"}});
  ASSERT_EQ(Parse(R"({"latency":12.5,"rid":"abc","queue_ms":1})"), JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.total_ms, 12.5);
  EXPECT_EQ(record_.request_id, "abc");
  EXPECT_EQ(record_.queue_ms, 1.0);
  EXPECT_FALSE(JsonlParser::Create({{"no_such_field", "x"}}).ok());
}

TEST_F(JsonlParserTest, ParsesInPlaceWithNeighbouringBytes) {
  // Two lines in one buffer: the first is parsed with the second as padding.
  const std::string two = "{\"total_ms\":1}\n{\"total_ms\":2}\n" + std::string(64, ' ');
  ASSERT_EQ(parser_->Parse(std::string_view(two.data(), 14), two.size(), &record_),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.total_ms, 1.0);
  ASSERT_EQ(parser_->Parse(std::string_view(two.data() + 15, 14), two.size() - 15, &record_),
            JsonlParser::Outcome::kRecord);
  EXPECT_EQ(record_.total_ms, 2.0);
}

}  // namespace
}  // namespace yoloscope

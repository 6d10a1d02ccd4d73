#include "analyzer/readers/triton_trace_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "analyzer/readers/record_collector.h"

namespace yoloscope {
namespace {

using testing_readers::CollectingSink;

TritonTraceParser::Result ParseText(const std::string& text, CollectingSink* sink) {
  auto parser = TritonTraceParser::Create();
  EXPECT_TRUE(parser.ok());
  std::string padded = text + std::string(TritonTraceParser::kPadding, ' ');
  return (*parser)->Parse(std::string_view(padded.data(), text.size()), padded.size(), "t.json",
                          sink);
}

TEST(TritonTraceParserTest, ReadsTheFixture) {
  CollectingSink sink;
  const std::string text =
      testing_readers::ReadFileToString(testing_readers::FixturePath("triton_trace.json"));
  ASSERT_FALSE(text.empty());
  const TritonTraceParser::Result result = ParseText(text, &sink);
  EXPECT_EQ(result.records, 4);
  EXPECT_EQ(result.malformed, 2);  // a bad "ns" and an entry without "id"
  const auto records = sink.records();
  ASSERT_EQ(records.size(), 4u);

  // id 1: one object per timestamp (recent Triton), monotonic ns.
  const LogRecord& a = records[0].record;
  EXPECT_EQ(a.kind, RecordKind::kRequest);
  EXPECT_EQ(a.request_id, "client-42");
  EXPECT_EQ(a.model, "yolov8n_onnx");
  EXPECT_EQ(a.backend, "triton");
  EXPECT_EQ(a.line, 2);
  EXPECT_TRUE(a.ts_monotonic);
  EXPECT_EQ(a.ts_us, 2356425054785);
  EXPECT_DOUBLE_EQ(*a.queue_ms, 0.095681);
  EXPECT_DOUBLE_EQ(*a.h2d_ms, 2.26571);
  EXPECT_DOUBLE_EQ(*a.inference_ms, 0.344855);
  EXPECT_DOUBLE_EQ(*a.d2h_ms, 0.043226);
  EXPECT_DOUBLE_EQ(*a.total_ms, 2.857301);
  EXPECT_FALSE(a.batch_size.has_value());
  EXPECT_TRUE(a.status.empty());  // Triton traces carry no status

  // id 2: the ensemble (no compute stages).
  const LogRecord& e = records[1].record;
  EXPECT_EQ(e.request_id, "2");
  EXPECT_EQ(e.model, "ensemble_yolo");
  EXPECT_DOUBLE_EQ(*e.total_ms, 10.0);
  EXPECT_FALSE(e.inference_ms.has_value());

  // id 3: the composing model; no COMPUTE_INPUT_END, so no input/infer split.
  const LogRecord& c = records[2].record;
  EXPECT_EQ(c.model, "yolov8n_onnx");
  EXPECT_DOUBLE_EQ(*c.queue_ms, 0.5);
  EXPECT_FALSE(c.inference_ms.has_value());
  EXPECT_DOUBLE_EQ(*c.total_ms, 7.5);

  // id 4: old single-object layout with lower-case names and wall-clock ns.
  const LogRecord& d = records[3].record;
  EXPECT_EQ(d.model, "yolov8s_trt");
  EXPECT_FALSE(d.ts_monotonic);
  EXPECT_EQ(d.ts_us, 1767225600000000);
  EXPECT_DOUBLE_EQ(*d.queue_ms, 20.0);
  EXPECT_DOUBLE_EQ(*d.h2d_ms, 0.5);
  EXPECT_DOUBLE_EQ(*d.inference_ms, 10.0);
  EXPECT_DOUBLE_EQ(*d.d2h_ms, 0.5);
  EXPECT_DOUBLE_EQ(*d.total_ms, 32.0);
  EXPECT_EQ(d.line, 18);
}

TEST(TritonTraceParserTest, TruncatedFileKeepsWhatWasRead) {
  CollectingSink sink;
  const std::string text =
      "[\n{\"id\":1,\"model_name\":\"m\",\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":"
      "1000000},"
      "{\"name\":\"REQUEST_END\",\"ns\":3000000}]},\n{\"id\":2,\"timestamps\":[{\"name\":\"REQ";
  const TritonTraceParser::Result result = ParseText(text, &sink);
  EXPECT_EQ(result.records, 1);
  EXPECT_GE(result.malformed, 1);
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_DOUBLE_EQ(*sink.records()[0]->total_ms, 2.0);
}

TEST(TritonTraceParserTest, NotAnArray) {
  CollectingSink sink;
  const TritonTraceParser::Result result = ParseText("{\"id\":1}", &sink);
  EXPECT_EQ(result.records, 0);
  EXPECT_EQ(result.malformed, 1);
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_NE(result.problems[0].second.find("expected a JSON array"), std::string::npos);
}

TEST(TritonTraceParserTest, NegativeSpansAreDropped) {
  CollectingSink sink;
  const TritonTraceParser::Result result = ParseText(
      "[{\"id\":1,\"timestamps\":[{\"name\":\"QUEUE_START\",\"ns\":5000000},"
      "{\"name\":\"COMPUTE_START\",\"ns\":4000000}]}]",
      &sink);
  EXPECT_EQ(result.records, 1);
  EXPECT_EQ(result.field_errors, 1);
  EXPECT_FALSE(sink.records()[0]->queue_ms.has_value());
}

}  // namespace
}  // namespace yoloscope

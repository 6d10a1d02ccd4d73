#include "analyzer/readers/jsonl_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/readers/reader_fields.h"
#include "reqlog/json_line_serializer.h"
#include "reqlog/log_records.h"

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

// serve's `config` record, as its serializer writes it, read back whole.
TEST_F(JsonlParserTest, ReadsTheConfigRecordServeWrites) {
  ConfigLogRecord c;
  c.ts_us = 1767225600000000;
  c.model = "yolov8n";
  c.backend = "onnxruntime";
  c.instances = 2;
  c.max_batch_size = 8;
  c.max_queue_delay_us = 2000;
  c.max_queue_size = 64;
  c.preprocess_workers = 3;
  c.postprocess_workers = 1;
  c.batch_policy = "adaptive";
  std::string line;
  AppendJsonLine(c, &line);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  ASSERT_EQ(Parse(line), JsonlParser::Outcome::kRecord) << line;
  EXPECT_EQ(record_.kind, RecordKind::kConfig) << line;
  EXPECT_EQ(record_.ts_us, c.ts_us);
  EXPECT_EQ(record_.model, "yolov8n");
  EXPECT_EQ(record_.backend, "onnxruntime");
  EXPECT_EQ(record_.instances, 2);
  EXPECT_EQ(record_.max_batch_size, 8);
  EXPECT_EQ(record_.max_queue_delay_us, 2000);
  EXPECT_EQ(record_.max_queue_size, 64);
  EXPECT_EQ(record_.preprocess_workers, 3);
  EXPECT_EQ(record_.postprocess_workers, 1);
  EXPECT_EQ(record_.batch_policy, "adaptive");
  EXPECT_FALSE(parser_->had_field_error());
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

// Every field of a record, doubles bit for bit (-0.0 and NaN included).
std::string Dump(const LogRecord& r) {
  std::ostringstream o;
  o << "kind=" << static_cast<int>(r.kind) << " ts=" << (r.ts_us ? std::to_string(*r.ts_us) : "-")
    << " mono=" << r.ts_monotonic;
  for (const ReaderField& f : AllReaderFields()) {
    if (f.string_member != nullptr) {
      o << ' ' << f.name << "=[" << r.*(f.string_member) << ']';
    } else if (f.int_member != nullptr) {
      const auto& v = r.*(f.int_member);
      o << ' ' << f.name << '=' << (v ? std::to_string(*v) : "-");
    } else if (f.double_member != nullptr) {
      const auto& v = r.*(f.double_member);
      uint64_t bits = 0;
      if (v) std::memcpy(&bits, &*v, sizeof(bits));
      o << ' ' << f.name << '=' << (v ? std::to_string(bits) : "-");
    } else if (f.bool_member != nullptr) {
      const auto& v = r.*(f.bool_member);
      o << ' ' << f.name << '=' << (v ? (*v ? "true" : "false") : "-");
    }
  }
  return o.str();
}

// The fast path (plain lines) must give exactly what simdjson alone gives:
// outcome, reason, flags and every field, on realistic lines and on
// thousands of mutations of them (escapes, blanks, broken numbers, nesting,
// truncation, non-ASCII, arbitrary padding bytes after the line).
TEST(JsonlParserFastPathTest, SameAsSimdjsonAlone) {
  const std::vector<std::string> seeds = {
      R"({"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.006433Z","request_id":"req-0000000001","model":"yolov8n","backend":"torch","device":"cuda:1","gpu_id":1,"input_w":4032,"input_h":3024,"input_bytes":2900000,"batch_id":1,"batch_size":4,"queue_len":0,"queue_ms":10,"decode_ms":4.89,"preprocess_ms":1.532,"h2d_ms":1.258,"inference_ms":39.388,"d2h_ms":0.419,"postprocess_ms":1.008,"total_ms":58.494,"detections":3,"status":"ok","gpu_util":0,"mem_used_mb":4240,"mem_total_mb":24564,"mem_reserved_mb":3760,"mem_allocated_mb":2920,"alloc_retries":0,"oom":false})",
      R"({"event":"batch","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.022855Z","batch_id":1,"batch_size":4,"model":"yolov8n","instance":0,"gpu_id":1,"h2d_ms":1.258,"inference_ms":39.388,"d2h_ms":0.419,"mem_used_mb":4240,"mem_total_mb":24564,"mem_reserved_mb":3760,"mem_allocated_mb":2920,"mem_inactive_split_mb":840,"alloc_retries":0,"oom":false})",
      R"({"event":"gpu","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.000000Z","gpu_id":0,"gpu_util":0,"mem_used_mb":480,"mem_total_mb":24564,"mem_other_processes_mb":0,"sm_clock_mhz":1980,"temp_c":62,"power_w":90,"pcie_tx_mbs":40,"pcie_rx_mbs":20,"throttle_reasons":""})",
      R"({"event":"stream","ts":1767225600.25,"stream":"cam1","frames_read":-12,"frames_dropped":0,"target_fps":29.97,"source_fps":3e1,"pts_ms":-0.0})",
      R"( { "ts" : 1767225600123 , "total_ms" : 1.5E+2 , "status" : "503" , "error" : null , "oom" : true , "x" : [1, {"y": 2}] } )",
      R"({"request_id":"a"b\u00e9","model":"mödel","total_ms":12345678901234567890,"queue_ms":0.30000000000000004,"decode_ms":2.2250738585072014e-308,"batch_size":4.0,"queue_len":"7","oom":1,"ts":"2026-01-01 00:00:00.5"})",
      R"({"schema":"yoloscope.v2","event":"alert","ts":"2026-13-01T00:00:00Z","gpu_id":9007199254740993,"inference_ms":1e400,"detections":-0,"extra":{"a":[true,false,null]}})",
      R"({"ts":"2026-01-01T23:59:60.1234567Z","total_ms":9007199254740993,"h2d_ms":123.456e-10,"d2h_ms":1e22,"postprocess_ms":1e23,"input_w":123456789012345678,"input_h":1234567890123456789,"gpu_util":-12.5})",
      R"({"total_ms":1}{"total_ms":2})",
      R"({"device":"cpu","status":"成功","total_ms":3,"model":"模型"})",
      R"({})",
  };
  // Number tokens (and a few non-numbers) put in place of values.
  std::vector<std::string> numbers;
  {
    std::istringstream words(
        "-0 0 1e2 1E+2 1.5e-3 123456789012345678 1234567890123456789 12345678901234567890 "
        "9007199254740993 0.1 - 01 1. .5 4.0 1e400 0.30000000000000004 123.456e-10 1e22 1e23 "
        "-12.5 0.000001 1e 1e+ --1 -01 1.0e-22 7.0000000000000000001 2 true null \"1\"");
    for (std::string w; words >> w;) numbers.push_back(w);
  }
  const std::string alphabet = " \t\r\n\\\"{}[],:.-+eE0123456789tfnulx\x01\x7f\x80\xc3\xa9";
  std::mt19937_64 rng(20261206);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };

  auto fast = JsonlParser::Create();
  auto slow = JsonlParser::Create();
  auto fast_map = JsonlParser::Create({{"total_ms", "latency"}, {"request_id", "id"}});
  auto slow_map = JsonlParser::Create({{"total_ms", "latency"}, {"request_id", "id"}});
  ASSERT_TRUE(fast.ok() && slow.ok() && fast_map.ok() && slow_map.ok());
  (*slow)->set_fast_path(false);
  (*slow_map)->set_fast_path(false);

  int lines = 0, records = 0;
  for (int round = 0; round < 40000; ++round) {
    std::string line = seeds[pick(seeds.size())];
    const int mutations =
        round < static_cast<int>(seeds.size()) ? 0 : 1 + static_cast<int>(pick(3));
    for (int m = 0; m < mutations && !line.empty(); ++m) {
      const size_t at = pick(line.size() + 1);
      switch (pick(6)) {
        case 0:
          line.insert(at, 1, alphabet[pick(alphabet.size())]);
          break;
        case 1:
          line.erase(std::min(at, line.size() - 1), 1 + pick(3));
          break;
        case 2:
          line[std::min(at, line.size() - 1)] = alphabet[pick(alphabet.size())];
          break;
        case 3: {  // a number somewhere after a colon
          const size_t colon = line.find(':', at);
          if (colon == std::string::npos) break;
          size_t end = colon + 1;
          while (end < line.size() && line[end] != ',' && line[end] != '}') ++end;
          line.replace(colon + 1, end - colon - 1, numbers[pick(numbers.size())]);
          break;
        }
        case 4:
          line.resize(at);
          break;
        case 5:
          line.insert(at, line.substr(pick(line.size()), pick(12)));
          break;
      }
    }
    const bool mapped = pick(4) == 0;
    JsonlParser& a = mapped ? **fast_map : **fast;
    JsonlParser& b = mapped ? **slow_map : **slow;
    // Padding of random bytes: the parsers must not read meaning into them.
    std::string buffer = line;
    for (size_t i = 0; i < JsonlParser::kPadding; ++i) buffer += alphabet[pick(alphabet.size())];
    const std::string_view text(buffer.data(), line.size());
    LogRecord ra, rb;
    const auto oa = a.Parse(text, buffer.size(), &ra);
    const std::string why_a(a.why());
    const bool error_a = a.had_field_error(), foreign_a = a.foreign_schema();
    const auto ob = b.Parse(text, buffer.size(), &rb);
    ++lines;
    ASSERT_EQ(oa, ob) << line;
    EXPECT_EQ(why_a, b.why()) << line;
    if (oa != JsonlParser::Outcome::kRecord) continue;
    ++records;
    EXPECT_EQ(error_a, b.had_field_error()) << line;
    EXPECT_EQ(foreign_a, b.foreign_schema()) << line;
    ASSERT_EQ(Dump(ra), Dump(rb)) << line;
  }
  EXPECT_GT(records, lines / 10);  // the mutations leave enough valid lines
}

}  // namespace
}  // namespace yoloscope

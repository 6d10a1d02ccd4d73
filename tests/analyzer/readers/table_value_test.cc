#include "analyzer/readers/table_value.h"

#include <gtest/gtest.h>

#include "analyzer/readers/table_transcoder.h"

namespace yoloscope {
namespace {

TEST(TableValueTest, SplitsNumberUnitAndNote) {
  TableValue v = ParseTableValue("12.5ms");
  EXPECT_EQ(v.number, 12.5);
  EXPECT_EQ(v.unit, ValueUnit::kMs);
  EXPECT_EQ(v.unit_text, "ms");
  EXPECT_TRUE(v.note.empty());

  v = ParseTableValue(" 0.8 s ");
  EXPECT_EQ(v.number, 0.8);
  EXPECT_EQ(v.unit, ValueUnit::kS);

  v = ParseTableValue("350us");
  EXPECT_EQ(v.number, 350.0);
  EXPECT_EQ(v.unit, ValueUnit::kUs);

  v = ParseTableValue("3.9GB");
  EXPECT_EQ(v.unit, ValueUnit::kGb);
  v = ParseTableValue("4096 MiB");
  EXPECT_EQ(v.unit, ValueUnit::kMb);
  v = ParseTableValue("85%");
  EXPECT_EQ(v.number, 85.0);
  EXPECT_EQ(v.unit, ValueUnit::kPercent);
  v = ParseTableValue("150.20 W");
  EXPECT_EQ(v.unit, ValueUnit::kWatts);
  v = ParseTableValue("12毫秒");
  EXPECT_EQ(v.unit, ValueUnit::kMs);

  v = ParseTableValue("3980 (OOM!)");
  EXPECT_EQ(v.number, 3980.0);
  EXPECT_EQ(v.unit, ValueUnit::kNone);
  EXPECT_EQ(v.note, "OOM!");

  v = ParseTableValue("12 ms (slow, p99)");
  EXPECT_EQ(v.number, 12.0);
  EXPECT_EQ(v.unit, ValueUnit::kMs);
  EXPECT_EQ(v.note, "slow, p99");

  v = ParseTableValue("7 requests");
  EXPECT_EQ(v.number, 7.0);
  EXPECT_EQ(v.unit, ValueUnit::kNone);
  EXPECT_EQ(v.note, "requests");

  v = ParseTableValue("-1.5e3");
  EXPECT_EQ(v.number, -1500.0);
  v = ParseTableValue("+2");
  EXPECT_EQ(v.number, 2.0);
  v = ParseTableValue(".5");
  EXPECT_EQ(v.number, 0.5);

  v = ParseTableValue("abc");
  EXPECT_FALSE(v.number.has_value());
  EXPECT_EQ(v.note, "abc");
  v = ParseTableValue("-");
  EXPECT_FALSE(v.number.has_value());
}

TEST(TableValueTest, ConvertsToSchemaUnits) {
  EXPECT_EQ(ConvertToFieldUnit(0.8, ValueUnit::kS, FieldUnit::kMs), 800.0);
  EXPECT_EQ(ConvertToFieldUnit(350, ValueUnit::kUs, FieldUnit::kMs), 0.35);
  EXPECT_EQ(ConvertToFieldUnit(2e6, ValueUnit::kNs, FieldUnit::kMs), 2.0);
  EXPECT_EQ(ConvertToFieldUnit(12, ValueUnit::kNone, FieldUnit::kMs), 12.0);
  // Memory is binary: 1 GB = 1024 MB.
  EXPECT_EQ(ConvertToFieldUnit(3.5, ValueUnit::kGb, FieldUnit::kMb), 3584.0);
  EXPECT_EQ(ConvertToFieldUnit(1048576, ValueUnit::kBytes, FieldUnit::kMb), 1.0);
  EXPECT_EQ(ConvertToFieldUnit(2, ValueUnit::kMb, FieldUnit::kBytes), 2097152.0);
  EXPECT_EQ(ConvertToFieldUnit(1.5, ValueUnit::kGhz, FieldUnit::kMhz), 1500.0);
  EXPECT_EQ(ConvertToFieldUnit(85, ValueUnit::kPercent, FieldUnit::kPercent), 85.0);
  EXPECT_FALSE(ConvertToFieldUnit(85, ValueUnit::kPercent, FieldUnit::kMs).has_value());
  EXPECT_FALSE(ConvertToFieldUnit(3, ValueUnit::kMs, FieldUnit::kMb).has_value());
  EXPECT_FALSE(ConvertToFieldUnit(3, ValueUnit::kMs, FieldUnit::kNone).has_value());
}

TEST(TableValueTest, ParsesUnitNames) {
  EXPECT_EQ(ParseValueUnit("MiB"), ValueUnit::kMb);
  EXPECT_EQ(ParseValueUnit("GiB"), ValueUnit::kGb);
  EXPECT_EQ(ParseValueUnit("MS"), ValueUnit::kMs);
  EXPECT_EQ(ParseValueUnit("µs"), ValueUnit::kUs);
  EXPECT_EQ(ParseValueUnit("毫秒"), ValueUnit::kMs);
  EXPECT_EQ(ParseValueUnit("秒"), ValueUnit::kS);
  EXPECT_EQ(ParseValueUnit("%"), ValueUnit::kPercent);
  EXPECT_EQ(ParseValueUnit("MHz"), ValueUnit::kMhz);
  EXPECT_EQ(ParseValueUnit("°C"), ValueUnit::kCelsius);
  EXPECT_EQ(ParseValueUnit("MB/s"), ValueUnit::kMbPerSec);
  EXPECT_EQ(ParseValueUnit("furlongs"), ValueUnit::kNone);
}

TEST(TableValueTest, MissingValues) {
  for (const char* m : {"", " ", "-", "N/A", "[N/A]", "[Not Supported]", "null", "NaN", "未知"}) {
    EXPECT_TRUE(IsMissingValue(m)) << m;
  }
  for (const char* v : {"0", "ok", "12ms"}) EXPECT_FALSE(IsMissingValue(v)) << v;
}

TEST(TableValueTest, SpotsOom) {
  for (const char* t : {"OOM!", "oom", "CUDA out of memory", "OutOfMemoryError", "OOMKilled",
                        "显存不足", "显存溢出", "torch.cuda.OutOfMemoryError"}) {
    EXPECT_TRUE(MentionsOom(t)) << t;
  }
  for (const char* t : {"room", "zoom in", "bloom filter", "ok", "timeout"}) {
    EXPECT_FALSE(MentionsOom(t)) << t;
  }
}

TEST(TableTranscoderTest, Utf8CheckAndGb18030) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("时间戳, été"));
  EXPECT_FALSE(IsValidUtf8("\xca\xb1\xbc\xe4"));  // "时间" in GBK
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xe6\x97"));          // cut short
  auto t = TableTranscoder::CreateGb18030();
  ASSERT_NE(t, nullptr);
  std::string out;
  ASSERT_TRUE(t->Convert("\xca\xb1\xbc\xe4,ok", &out));
  EXPECT_EQ(out, "时间,ok");
  EXPECT_FALSE(t->Convert("\x81", &out));  // an incomplete GB18030 sequence
}

}  // namespace
}  // namespace yoloscope

#include "common/time_format.h"

#include <gtest/gtest.h>

#include <string>

namespace yoloscope {
namespace {

TEST(TimeFormatTest, FormatsRfc3339WithMicros) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(1767225600123456), "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339Micros(951782400000000), "2000-02-29T00:00:00.000000Z");  // leap day
}

TEST(TimeFormatTest, RoundTrips) {
  for (int64_t us : {int64_t{0}, int64_t{1767225600123456}, int64_t{1798761599999999},
                     int64_t{951868799000001}}) {
    auto back = ParseTimestampUs(FormatRfc3339Micros(us));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, us);
  }
}

TEST(TimeFormatTest, ParsesCommonForms) {
  const int64_t base = 1767225600000000;  // 2026-01-01T00:00:00Z
  EXPECT_EQ(*ParseTimestampUs("2026-01-01 00:00:00"), base);
  EXPECT_EQ(*ParseTimestampUs("2026-01-01 00:00:00.250"), base + 250000);
  EXPECT_EQ(*ParseTimestampUs("2026-01-01T08:00:00+08:00"), base);
  EXPECT_EQ(*ParseTimestampUs("2025-12-31T19:00:00-05:00"), base);
  EXPECT_EQ(*ParseTimestampUs("1767225600"), base);            // seconds
  EXPECT_EQ(*ParseTimestampUs("1767225600.5"), base + 500000);  // fractional seconds
  EXPECT_EQ(*ParseTimestampUs("1767225600000"), base);         // ms
  EXPECT_EQ(*ParseTimestampUs("1767225600000000"), base);      // us
  EXPECT_EQ(*ParseTimestampUs("1767225600000000000"), base);   // ns
  EXPECT_EQ(*ParseTimestampUs("2026-01-01"), base);
}

TEST(TimeFormatTest, RejectsGarbage) {
  for (const char* bad : {"", "yesterday", "2026-13-01 00:00:00", "2026-01-01X00:00",
                          "2026-01-01T25:00:00Z", "2026-01-01T00:00:00Zjunk", "12:00"}) {
    EXPECT_FALSE(ParseTimestampUs(bad).ok()) << bad;
  }
}

// The writer's own form ("...T...Z") has a shortcut; the same instant written
// with a space and no zone takes the general path: both must agree.
TEST(TimeFormatTest, CanonicalFormAgreesWithTheGeneralPath) {
  TimestampCache cache;
  for (std::string canonical :
       {"2026-01-01T00:00:00.006433Z", "2000-02-29T23:59:59.999999Z", "1970-01-01T00:00:00Z",
        "2026-06-30T23:59:60.5Z", "2026-01-01T00:00:00.1234567891Z", "2026-01-01T12:34:56,25Z",
        "2026-01-01T12:34:56.z", "1900-03-01T01:02:03.000001Z", "9999-12-31T23:59:59.9Z"}) {
    std::string general = canonical;
    general[10] = ' ';
    general.pop_back();  // 'Z' / 'z'
    auto a = ParseTimestampUs(canonical);
    auto b = ParseTimestampUs(general);
    ASSERT_TRUE(a.ok()) << canonical << ": " << a.status().ToString();
    ASSERT_TRUE(b.ok()) << general << ": " << b.status().ToString();
    EXPECT_EQ(*a, *b) << canonical;
    int64_t us = 0;
    ASSERT_TRUE(ParseCanonicalTimestampUs(canonical, &us, &cache)) << canonical;
    EXPECT_EQ(us, *b) << canonical;
    // Again, now from the cached minute.
    ASSERT_TRUE(ParseCanonicalTimestampUs(canonical, &us, &cache)) << canonical;
    EXPECT_EQ(us, *b) << canonical;
  }
  // The cached minute with other seconds, and text in no canonical form.
  int64_t us = 0;
  ASSERT_TRUE(ParseCanonicalTimestampUs("9999-12-31T23:59:00Z", &us, &cache));
  EXPECT_EQ(us, *ParseTimestampUs("9999-12-31 23:59:00"));
  for (const char* other : {"9999-12-31T23:59:61Z", "9999-12-31T23:59:5Z", "9999-12-31T23:59:59",
                            "9999-12-31T23:59:59+01:00", "9999-12-31 23:59:59Z", "1767225600"}) {
    EXPECT_FALSE(ParseCanonicalTimestampUs(other, &us, &cache)) << other;
  }
  for (const char* bad : {"2026-13-01T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z",
                          "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z", "2026-01-01T00:00:00.5Zz",
                          "2026-01-01T00:00:0xZ", "2026-0a-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseTimestampUs(bad).ok()) << bad;
    EXPECT_FALSE(ParseCanonicalTimestampUs(bad, &us, &cache)) << bad;
  }
}

}  // namespace
}  // namespace yoloscope

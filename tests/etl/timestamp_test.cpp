#include "seqrec/etl/timestamp.h"

#include <gtest/gtest.h>

#include "seqrec/common/error.h"

namespace seqrec::etl {

TEST(TimestampTest, ParsesEpochSecondsAndMilliseconds) {
  EXPECT_EQ(parse_timestamp_ms("1704067200", TimestampFormat::kAuto), 1704067200000);
  EXPECT_EQ(parse_timestamp_ms("1704067200123", TimestampFormat::kAuto), 1704067200123);
  EXPECT_EQ(parse_timestamp_ms("1704067200.5", TimestampFormat::kSeconds), 1704067200500);
  EXPECT_EQ(parse_timestamp_ms("1500", TimestampFormat::kMilliseconds), 1500);
}

TEST(TimestampTest, ParsesIso8601WithZonesAndFractions) {
  EXPECT_EQ(parse_timestamp_ms("2024-01-01", TimestampFormat::kAuto), 1704067200000);
  EXPECT_EQ(parse_timestamp_ms("2024-01-01T00:00:01Z", TimestampFormat::kAuto), 1704067201000);
  EXPECT_EQ(parse_timestamp_ms("2024-01-01 00:00:01.250", TimestampFormat::kIso8601), 1704067201250);
  EXPECT_EQ(parse_timestamp_ms("2024-01-01T02:00:00+02:00", TimestampFormat::kAuto), 1704067200000);
  EXPECT_EQ(parse_timestamp_ms("2014-04-07T10:51:09.277Z", TimestampFormat::kAuto), 1396867869277);
}

TEST(TimestampTest, RejectsGarbage) {
  EXPECT_FALSE(parse_timestamp_ms("", TimestampFormat::kAuto));
  EXPECT_FALSE(parse_timestamp_ms("yesterday", TimestampFormat::kAuto));
  EXPECT_FALSE(parse_timestamp_ms("2024-13-01", TimestampFormat::kAuto));
  EXPECT_FALSE(parse_timestamp_ms("12abc", TimestampFormat::kSeconds));
  EXPECT_FALSE(parse_timestamp_ms("1704067200", TimestampFormat::kIso8601));
  EXPECT_THROW(parse_timestamp_format("weeks"), InvalidInput);
}

TEST(TimestampTest, DaysFromCivilMatchesKnownDates) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2008, 4, 1), 13970);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
}

TEST(TimestampTest, CivilFromDaysInvertsDaysFromCivil) {
  const CivilDate epoch = civil_from_days(0);
  EXPECT_EQ(epoch.year, 1970);
  EXPECT_EQ(epoch.month, 1u);
  EXPECT_EQ(epoch.day, 1u);
  const CivilDate uci = civil_from_days(days_from_civil(2008, 8, 13));
  EXPECT_EQ(uci.year, 2008);
  EXPECT_EQ(uci.month, 8u);
  EXPECT_EQ(uci.day, 13u);
  const CivilDate leap = civil_from_days(days_from_civil(2000, 2, 29));
  EXPECT_EQ(leap.month, 2u);
  EXPECT_EQ(leap.day, 29u);
  for (int64_t d = -800000; d <= 800000; d += 997) {
    const CivilDate c = civil_from_days(d);
    ASSERT_EQ(days_from_civil(c.year, c.month, c.day), d) << d;
  }
}

}  // namespace seqrec::etl

TEST(TimestampTest, FormattedTimestampsReadBackInTheirOwnFormat) {
  using seqrec::etl::format_timestamp;
  using seqrec::etl::parse_timestamp_ms;
  using seqrec::etl::TimestampFormat;
  EXPECT_EQ(format_timestamp(1704067669000, TimestampFormat::kSeconds), "1704067669");
  EXPECT_EQ(format_timestamp(1704067669500, TimestampFormat::kSeconds), "1704067669.500");
  EXPECT_EQ(format_timestamp(1704067669500, TimestampFormat::kMilliseconds), "1704067669500");
  EXPECT_EQ(format_timestamp(1704067669000, TimestampFormat::kAuto), "1704067669");  // auto reads it back as seconds
  EXPECT_EQ(format_timestamp(1704067669500, TimestampFormat::kAuto), "1704067669500");
  EXPECT_EQ(format_timestamp(1704067669000, TimestampFormat::kIso8601), "2024-01-01T00:07:49Z");
  EXPECT_EQ(format_timestamp(-1500, TimestampFormat::kIso8601), "1969-12-31T23:59:58.500Z");
  for (int64_t ms : {int64_t{0}, int64_t{1704067669000}, int64_t{1704067669123}, int64_t{951782400000}})
    for (auto format : {TimestampFormat::kSeconds, TimestampFormat::kMilliseconds, TimestampFormat::kIso8601, TimestampFormat::kAuto})
      EXPECT_EQ(parse_timestamp_ms(format_timestamp(ms, format), format), ms) << ms << " as " << seqrec::etl::to_string(format);
}

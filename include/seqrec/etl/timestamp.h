#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seqrec::etl {

/// Timestamps outside 1970-01-01 .. 2199-12-31 are bad values (a wrong unit, a sentinel), never stored.
inline constexpr int64_t kLatestTimestampMs = 7258118400000;  // 2200-01-01T00:00:00Z
inline bool timestamp_in_range(int64_t ms) { return ms >= 0 && ms < kLatestTimestampMs; }

/// How a timestamp column is written.
enum class TimestampFormat { kAuto, kSeconds, kMilliseconds, kIso8601 };

TimestampFormat parse_timestamp_format(const std::string& name);
std::string to_string(TimestampFormat format);

/// Parses one timestamp into milliseconds since the Unix epoch (UTC); nullopt when it is not one.
/// kAuto: integers above 1e11 are milliseconds, other numbers seconds, anything with '-' ISO-8601
/// ("2014-04-01", "2014-04-01T10:22:05.123Z", "2014-04-01 10:22:05+02:00").
std::optional<int64_t> parse_timestamp_ms(std::string_view text, TimestampFormat format);

/// Writes milliseconds since the epoch back in `format`, so that parse_timestamp_ms(.., format) reads the same value:
/// kSeconds as seconds (with .mmm when not whole), kMilliseconds as is, kIso8601 as UTC "YYYY-MM-DDTHH:MM:SS[.mmm]Z",
/// kAuto as seconds when whole (auto reads numbers below 1e11 as seconds), else milliseconds.
std::string format_timestamp(int64_t ms, TimestampFormat format);

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

/// The civil date of a day count, the inverse of days_from_civil.
struct CivilDate {
  int64_t year;
  unsigned month, day;
};
CivilDate civil_from_days(int64_t days);

constexpr int64_t kMillisPerDay = 86400000;

}  // namespace seqrec::etl

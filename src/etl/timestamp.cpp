#include "seqrec/etl/timestamp.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "seqrec/common/error.h"

namespace seqrec::etl {

TimestampFormat parse_timestamp_format(const std::string& name) {
  if (name == "auto") return TimestampFormat::kAuto;
  if (name == "s" || name == "seconds") return TimestampFormat::kSeconds;
  if (name == "ms" || name == "milliseconds") return TimestampFormat::kMilliseconds;
  if (name == "iso" || name == "iso8601") return TimestampFormat::kIso8601;
  throw InvalidInput("--timestamp-format must be auto, s, ms or iso; got '" + name + "'");
}

std::string to_string(TimestampFormat format) {
  switch (format) {
    case TimestampFormat::kAuto: return "auto";
    case TimestampFormat::kSeconds: return "s";
    case TimestampFormat::kMilliseconds: return "ms";
    case TimestampFormat::kIso8601: return "iso";
  }
  return "auto";
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm: exact for every proleptic Gregorian date.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate civil_from_days(int64_t days) {
  // Howard Hinnant's civil_from_days, the inverse of days_from_civil above.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

std::string format_timestamp(int64_t ms, TimestampFormat format) {
  const int64_t seconds = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000), millis = ms - seconds * 1000;
  switch (format) {
    case TimestampFormat::kMilliseconds: return std::to_string(ms);
    case TimestampFormat::kIso8601: {
      const int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400), in_day = seconds - days * 86400;
      const CivilDate date = civil_from_days(days);
      char buf[48];
      std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(date.year), date.month,
                    date.day, static_cast<long long>(in_day / 3600), static_cast<long long>(in_day / 60 % 60),
                    static_cast<long long>(in_day % 60));
      std::string out = buf;
      if (millis != 0) {
        std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(millis));
        out += buf;
      }
      return out + "Z";
    }
    case TimestampFormat::kSeconds:
    case TimestampFormat::kAuto:
      if (millis == 0) return std::to_string(seconds);
      if (format == TimestampFormat::kAuto) return std::to_string(ms);
      char buf[48];  // exact: milliseconds of any real date are far below 2^53
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms) / 1000.0);
      return buf;
  }
  return std::to_string(ms);
}

namespace {

bool read_int(std::string_view s, size_t& pos, size_t digits, int64_t& out) {
  if (pos + digits > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += digits;
  return true;
}

std::optional<int64_t> parse_iso(std::string_view s) {
  size_t p = 0;
  int64_t y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
  if (!read_int(s, p, 4, y) || p >= s.size() || s[p++] != '-' || !read_int(s, p, 2, mo) || p >= s.size() ||
      s[p++] != '-' || !read_int(s, p, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    ++p;
    if (!read_int(s, p, 2, h) || p >= s.size() || s[p++] != ':' || !read_int(s, p, 2, mi)) return std::nullopt;
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!read_int(s, p, 2, se)) return std::nullopt;
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        int64_t scale = 100;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          ms += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
        }
      }
    }
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (p < s.size()) {
    if (s[p] == 'Z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      int sign = s[p++] == '-' ? -1 : 1;
      int64_t oh, om = 0;
      if (!read_int(s, p, 2, oh)) return std::nullopt;
      if (p < s.size() && s[p] == ':') ++p;
      if (p < s.size() && !read_int(s, p, 2, om)) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    }
  }
  if (p != s.size()) return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi - offset_minutes) * 60000 + se * 1000 + ms;
}

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<int64_t> parse_timestamp_ms(std::string_view text, TimestampFormat format) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  if (format == TimestampFormat::kIso8601) return parse_iso(text);
  bool looks_iso = text.size() >= 10 && text[4] == '-';
  if (format == TimestampFormat::kAuto && looks_iso) return parse_iso(text);
  auto v = parse_number(text);
  if (!v) return std::nullopt;
  bool millis = format == TimestampFormat::kMilliseconds || (format == TimestampFormat::kAuto && std::fabs(*v) > 1e11);
  return static_cast<int64_t>(std::llround(millis ? *v : *v * 1000.0));
}

}  // namespace seqrec::etl

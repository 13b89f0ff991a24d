// `seqrec etl export-csv`: a sessions folder back to text, one row per session.
#include <ostream>

#include "seqrec/etl/workflow.h"

namespace seqrec::etl {

namespace {
std::string quote(const std::string& s, char delimiter) {
  if (s.find(delimiter) == std::string::npos && s.find('"') == std::string::npos && s.find('\n') == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
}  // namespace

int64_t export_sessions_csv(const std::filesystem::path& sessions_dir, std::ostream& out, const Workflow* workflow,
                            char delimiter, char list_sep) {
  SessionTable t = read_sessions(sessions_dir);
  const Vocabulary* vocab = workflow ? &workflow->items() : nullptr;
  // Timestamps go back in the unit the workflow read them in (sessions hold milliseconds).
  const TimestampFormat unit = workflow ? workflow->options().columns.timestamp_format : TimestampFormat::kAuto;
  out << "session_id" << delimiter << "item_id" << delimiter << "timestamp" << delimiter << "day";
  for (const auto& c : t.columns) out << delimiter << quote(c.name, delimiter);
  out << '\n';
  std::string cell;
  for (int64_t r = 0; r < t.size(); ++r) {
    out << quote(t.session_ids[r], delimiter) << delimiter;
    cell.clear();
    for (int64_t i = t.offsets[r]; i < t.offsets[r + 1]; ++i) {
      if (i > t.offsets[r]) cell += list_sep;
      const int64_t id = t.items[i];
      cell += vocab && id < vocab->cardinality() ? vocab->decode(id) : std::to_string(id);
    }
    out << quote(cell, delimiter) << delimiter;
    cell.clear();
    for (int64_t i = t.offsets[r]; i < t.offsets[r + 1]; ++i) {
      if (i > t.offsets[r]) cell += list_sep;
      cell += format_timestamp(t.timestamps[i], unit);
    }
    out << cell << delimiter << t.days[r];
    for (const auto& c : t.columns) {
      cell.clear();
      const int64_t n = c.length(r);
      for (int64_t i = 0; i < n; ++i) {
        if (i) cell += list_sep;
        if (c.is_float()) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(c.floats_of(r)[i]));
          cell += buf;
        } else {
          cell += std::to_string(c.ints_of(r)[i]);
        }
      }
      out << delimiter << quote(cell, delimiter);
    }
    out << '\n';
  }
  return t.size();
}

}  // namespace seqrec::etl

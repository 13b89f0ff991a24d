#include "seqrec/etl/event_reader.h"
#include "seqrec/etl/parquet.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <thread>

#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {

/// How many skip reasons a read keeps for its summary (the count covers them all).
constexpr size_t kMaxSkipReasonsKept = 5;

/// A row (or field) as error messages quote it: at most 200 characters, then "...".
std::string row_excerpt(std::string_view text) {
  return text.size() > 200 ? std::string(text.substr(0, 200)) + "..." : std::string(text);
}

/// Human name of a delimiter for messages: "comma", "tab", ...
std::string delimiter_name(char d) {
  switch (d) {
    case ',': return "comma";
    case ';': return "semicolon";
    case '\t': return "tab";
    case '|': return "pipe";
    default: return std::string("'") + d + "'";
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const Choices<InputFormat>& input_formats() {
  static const Choices<InputFormat> choices = {
      {"auto", InputFormat::kAuto}, {"csv", InputFormat::kCsv}, {"tsv", InputFormat::kTsv}, {"jsonl", InputFormat::kJsonl}, {"parquet", InputFormat::kParquet}};
  return choices;
}

const Choices<BadRowPolicy>& bad_row_policies() {
  static const Choices<BadRowPolicy> choices = {
      {"error", BadRowPolicy::kError}, {"skip", BadRowPolicy::kSkip}, {"quarantine", BadRowPolicy::kQuarantine}};
  return choices;
}

namespace {

InputFormat resolve_format(InputFormat format, const std::string& path) {
  if (format != InputFormat::kAuto) return format;
  std::string p = path;
  if (ends_with(p, ".gz")) p.resize(p.size() - 3);
  if (ends_with(p, ".jsonl") || ends_with(p, ".json") || ends_with(p, ".ndjson")) return InputFormat::kJsonl;
  if (ends_with(p, ".tsv")) return InputFormat::kTsv;
  return InputFormat::kCsv;
}

/// A file read through zlib: gzip-compressed and plain files alike.
class TextSource {
 public:
  explicit TextSource(const std::string& path) : path_(path) {
    SEQREC_CHECK(std::filesystem::exists(path), "input file '", path, "' does not exist");
    file_ = gzopen(path.c_str(), "rb");
    SEQREC_CHECK(file_ != nullptr, "cannot open '", path, "' for reading");
    gzbuffer(file_, 1 << 18);
  }
  ~TextSource() { gzclose(file_); }
  TextSource(const TextSource&) = delete;
  TextSource& operator=(const TextSource&) = delete;
  /// Appends up to `n` bytes to `buffer`; returns how many were read (0 at the end).
  size_t read(std::string& buffer, size_t n) {
    const size_t old = buffer.size();
    buffer.resize(old + n);
    int got = gzread(file_, buffer.data() + old, static_cast<unsigned>(n));
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(file_, &err);
      throw InvalidInput(path_ + ": cannot read: " + msg + " (a damaged gzip file?)");
    }
    buffer.resize(old + static_cast<size_t>(got));
    if (got == 0) {
      // zlib reports the end of a truncated stream as the end of data: its error state says which it was.
      int err = Z_OK;
      const char* msg = gzerror(file_, &err);
      if (err != Z_OK && err != Z_STREAM_END)
        throw InvalidInput(path_ + ": the gzip data ends early or is damaged (" + msg + "); is the file truncated?");
    }
    return static_cast<size_t>(got);
  }

 private:
  std::string path_;
  gzFile file_;
};

/// Splits a delimited line into fields; quoted fields ("a,b", "" escapes) are unescaped into `scratch`.
bool split_line(std::string_view line, char delimiter, std::vector<std::string_view>& fields, std::vector<std::string>& scratch) {
  fields.clear();
  if (line.find('"') == std::string_view::npos) {
    size_t start = 0;
    while (true) {
      const void* hit = std::memchr(line.data() + start, delimiter, line.size() - start);
      if (!hit) {
        fields.push_back(line.substr(start));
        return true;
      }
      size_t end = static_cast<const char*>(hit) - line.data();
      fields.push_back(line.substr(start, end - start));
      start = end + 1;
    }
  }
  scratch.clear();
  std::string field;
  bool quoted = false, was_quoted = false;
  std::vector<std::pair<bool, size_t>> parts;  // (from scratch?, index)
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == delimiter) {
      scratch.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  scratch.push_back(std::move(field));
  for (const auto& s : scratch) fields.emplace_back(s);
  return true;
}

/// What one thread made of a piece of a chunk.
struct Piece {
  Frame frame;
  int64_t lines = 0;  ///< lines in the piece, blank ones included
  struct Bad {
    int64_t line;  ///< 0-based within the piece
    std::string reason;  ///< what is wrong, naming the column ("column 'timestamp': cannot parse ...")
    std::string row;
    int field = 0;  ///< 1-based field of a delimited row that is wrong; 0 = the row as a whole
  };
  std::vector<Bad> bad;
};

void truncate(Frame& frame, size_t rows) {
  for (auto& c : frame.columns) {
    c.resize_values(rows);
    if (!c.nulls.empty()) c.nulls.resize(rows);
  }
}

void append_null(Column& c) {
  const size_t n = c.num_values();
  c.resize_values(n + 1);
  c.set_null(n, true);
}

struct Layout {
  std::string path;
  InputFormat format = InputFormat::kCsv;
  char delimiter = ',';
  std::vector<std::string> header;
  std::vector<int> index;  ///< per spec column: its field index (csv)
};

void parse_piece(std::string_view text, const InputSpec& spec, const Layout& layout, bool stop_at_first_bad, Piece& piece) {
  piece.frame = empty_input_frame(spec);
  std::vector<std::string_view> fields;
  std::vector<std::string> scratch;
  std::string problem;
  int bad_field = 0;
  const size_t width = layout.header.size();
  const bool jsonl = layout.format == InputFormat::kJsonl;
  size_t pos = 0, rows = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const int64_t line_index = piece.lines++;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    problem.clear();
    bad_field = 0;
    if (jsonl) {
      json row;
      try {
        row = json::parse(line);
      } catch (const json::exception& e) {
        problem = std::string("not valid JSON: ") + e.what();
      }
      if (problem.empty() && !row.is_object()) problem = "expected a JSON object per line";
      for (size_t k = 0; k < spec.columns.size() && problem.empty(); ++k) {
        const auto& col = spec.columns[k];
        auto it = row.find(col.name);
        for (size_t a = 0; a < col.aliases.size() && it == row.end(); ++a) it = row.find(col.aliases[a]);
        std::string value;
        if (it != row.end() && !it->is_null()) {
          if (it->is_string()) value = it->get<std::string>();
          else if (it->is_number_integer() || it->is_number_unsigned()) value = it->dump();
          else if (it->is_number()) value = it->dump();
          else if (it->is_boolean()) value = it->get<bool>() ? "1" : "0";
          else problem = "field '" + col.name + "' must be a string, a number or null, got " + it->dump();
        }
        if (problem.empty() && !append_text_value(value, col, piece.frame.columns[k], &problem))
          problem = "field '" + col.name + "': " + problem;
      }
    } else if (!split_line(line, layout.delimiter, fields, scratch)) {
      problem = "unterminated quoted field";
    } else if (fields.size() != width) {
      problem = "expected " + std::to_string(width) + " " + delimiter_name(layout.delimiter) +
                "-separated fields as in the header, found " + std::to_string(fields.size());
    } else {
      for (size_t k = 0; k < spec.columns.size() && problem.empty(); ++k) {
        const int idx = layout.index[k];
        if (!append_text_value(fields[idx], spec.columns[k], piece.frame.columns[k], &problem)) {
          problem = "column '" + spec.columns[k].name + "': " + problem;
          bad_field = idx + 1;
        }
      }
    }
    if (!problem.empty()) {
      truncate(piece.frame, rows);
      piece.bad.push_back({line_index, problem, std::string(line), bad_field});
      if (stop_at_first_bad) return;
      continue;
    }
    ++rows;
  }
}

std::string quarantine_escape(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '\t' ? ' ' : c == '\n' ? ' ' : c;
  return out;
}

}  // namespace

const InputColumn* InputSpec::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

json InputSpec::to_json() const {
  json cols = json::array();
  for (const auto& c : columns) {
    json j = {{"name", c.name}, {"type", to_string(c.dtype)}};
    if (c.dtype == DType::kTimestamp) j["format"] = etl::to_string(c.format);
    if (c.required) j["required"] = true;
    cols.push_back(j);
  }
  return {{"format", choice_name(input_formats(), format)},
          {"delimiter", delimiter == 0 ? std::string("auto") : std::string(1, delimiter)},
          {"columns", cols},
          {"on_bad_row", choice_name(bad_row_policies(), on_bad_row)}};
}

InputSpec InputSpec::from_json(const json& j, const std::string& where) {
  SEQREC_CHECK(j.is_object(), where, ": \"input\" must be an object with \"columns\"");
  InputSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const std::vector<std::string> known = {"format", "delimiter", "columns", "on_bad_row"};
    SEQREC_CHECK(std::find(known.begin(), known.end(), it.key()) != known.end(),
                 unknown_key_message(where, "input." + it.key(), it.key(), known));
  }
  s.format = parse_choice(input_formats(), j.value("format", std::string("auto")), where + ": input.format");
  std::string d = j.value("delimiter", std::string("auto"));
  if (d == "auto") s.delimiter = 0;
  else if (d == "tab" || d == "\t") s.delimiter = '\t';
  else if (d == "comma") s.delimiter = ',';
  else if (d == "semicolon") s.delimiter = ';';
  else if (d == "pipe") s.delimiter = '|';
  else {
    SEQREC_CHECK(d.size() == 1, where, ": delimiter must be auto, comma, tab, semicolon, pipe or one character, got '", d, "'");
    s.delimiter = d[0];
  }
  s.on_bad_row = parse_choice(bad_row_policies(), j.value("on_bad_row", std::string("error")), where + ": input.on_bad_row");
  SEQREC_CHECK(j.contains("columns"), where, ": input needs \"columns\": {\"session_id\": \"string\", ...}");
  auto add = [&](const std::string& name, const json& v) {
    InputColumn c;
    c.name = name;
    if (v.is_string()) {
      c.dtype = parse_dtype(v.get<std::string>());
    } else {
      SEQREC_CHECK(v.is_object() && v.contains("type"), where, ": column '", name,
                   "' must be a type (\"string\") or {\"type\": ..., \"format\": ..., \"required\": ...}");
      for (auto key = v.begin(); key != v.end(); ++key) {
        static const std::vector<std::string> known = {"name", "type", "format", "required"};
        SEQREC_CHECK(std::find(known.begin(), known.end(), key.key()) != known.end(),
                     unknown_key_message(where, "input.columns." + name + "." + key.key(), key.key(), known));
      }
      c.dtype = parse_dtype(v.at("type").get<std::string>());
      if (v.contains("format")) c.format = parse_timestamp_format(v.at("format").get<std::string>());
      c.required = v.value("required", false);
    }
    s.columns.push_back(c);
  };
  const auto& cols = j.at("columns");
  if (cols.is_object()) {
    for (auto it = cols.begin(); it != cols.end(); ++it) add(it.key(), it.value());
  } else {
    SEQREC_CHECK(cols.is_array(), where, ": input columns must be an object or a list");
    for (const auto& c : cols) {
      SEQREC_CHECK(c.is_object() && c.contains("name"), where, ": each input column needs a \"name\"");
      add(c.at("name").get<std::string>(), c);
    }
  }
  SEQREC_CHECK(!s.columns.empty(), where, ": input lists no columns");
  return s;
}

Frame empty_input_frame(const InputSpec& spec) {
  Frame f;
  for (const auto& c : spec.columns) {
    Column col(c.name, c.dtype);
    if (c.dtype == DType::kTimestamp) col.add_tag("time");
    f.columns.push_back(std::move(col));
  }
  return f;
}

namespace {

constexpr size_t kMaxFieldBytes = 65536;                // an id or a label, never a document

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    if ((n == 2 && c < 0xC2) || (n == 4 && c > 0xF4)) return false;  // overlong forms, past U+10FFFF
    i += n;
  }
  return true;
}

// Text that no id or label should be: stated, so it is never stored silently.
bool string_problem(std::string_view text, std::string* problem) {
  if (text.size() > kMaxFieldBytes)
    *problem = "a value of " + std::to_string(text.size()) + " bytes (the limit is " + std::to_string(kMaxFieldBytes) + ")";
  else if (text.find('\0') != std::string_view::npos)
    *problem = "a NUL byte in the value";
  else if (!valid_utf8(text))
    *problem = "the value is not valid UTF-8";
  else
    return false;
  return true;
}

}  // namespace

bool append_text_value(std::string_view text, const InputColumn& spec, Column& column, std::string* problem) {
  if (text.empty()) {
    if (spec.required) {
      *problem = "empty value in a required column";
      return false;
    }
    append_null(column);
    return true;
  }
  switch (spec.dtype) {
    case DType::kString:
      if (string_problem(text, problem)) return false;
      column.strings.emplace_back(text);
      break;
    case DType::kInt64: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) {
        *problem = "cannot parse '" + row_excerpt(text) + "' as an integer";
        return false;
      }
      column.ints.push_back(v);
      break;
    }
    case DType::kFloat64: {
      double v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) {
        *problem = "cannot parse '" + row_excerpt(text) + "' as a number";
        return false;
      }
      column.floats.push_back(v);
      break;
    }
    case DType::kTimestamp: {
      auto ts = parse_timestamp_ms(text, spec.format);
      if (!ts) {
        *problem = "cannot parse '" + row_excerpt(text) + "' as a timestamp (format " + to_string(spec.format) +
                   ": epoch seconds, milliseconds or ISO-8601)";
        return false;
      }
      if (!timestamp_in_range(*ts)) {
        *problem = "timestamp '" + row_excerpt(text) + "' is outside 1970-01-01 .. 2199-12-31 (check its unit)";
        return false;
      }
      column.ints.push_back(*ts);
      break;
    }
  }
  if (!column.nulls.empty()) column.nulls.push_back(0);
  return true;
}

namespace {

/// Reads the header line of a delimited file into `layout` (delimiter, names, each spec column's field), leaving the
/// rest of what was read in `buffer`.
void read_header(TextSource& source, std::string& buffer, const InputSpec& spec, Layout& layout) {
  const std::string& path = layout.path;
  size_t nl;
  while ((nl = buffer.find('\n')) == std::string::npos && source.read(buffer, 1 << 16) > 0) {}
  SEQREC_CHECK(!buffer.empty(), path, ": the file is empty; expected a header row and events");
  if (nl == std::string::npos) nl = buffer.size();
  std::string header_line = buffer.substr(0, nl);
  buffer.erase(0, std::min(nl + 1, buffer.size()));
  if (!header_line.empty() && header_line.back() == '\r') header_line.pop_back();
  if (header_line.size() >= 3 && header_line.compare(0, 3, "\xEF\xBB\xBF") == 0) header_line.erase(0, 3);
  layout.delimiter = layout.format == InputFormat::kTsv ? '\t' : spec.delimiter;
  if (layout.delimiter == 0) {
    layout.delimiter = ',';
    size_t best = 0;
    for (char c : {',', ';', '\t', '|'}) {
      size_t n = std::count(header_line.begin(), header_line.end(), c);
      if (n > best) best = n, layout.delimiter = c;
    }
  }
  std::vector<std::string_view> fields;
  std::vector<std::string> scratch;
  split_line(header_line, layout.delimiter, fields, scratch);
  for (auto f : fields) layout.header.emplace_back(f);
  for (const auto& c : spec.columns) {
    auto it = std::find(layout.header.begin(), layout.header.end(), c.name);
    for (size_t a = 0; a < c.aliases.size() && it == layout.header.end(); ++a)
      it = std::find(layout.header.begin(), layout.header.end(), c.aliases[a]);
    if (it == layout.header.end()) {
      std::string have, also;
      for (const auto& h : layout.header) have += (have.empty() ? "'" : ", '") + h + "'";
      for (const auto& a : c.aliases) also += (also.empty() ? " (nor '" : "', '") + a;
      if (!also.empty()) also += "')";
      throw InvalidInput(path + ":1: no column named '" + c.name + "'" + also + " in the header (" +
                         delimiter_name(layout.delimiter) + "-separated); columns are: " + have);
    }
    layout.index.push_back(static_cast<int>(it - layout.header.begin()));
  }
}

/// Splits a chunk of whole lines into one piece per thread (ending at line ends) and parses them side by side.
std::vector<Piece> parse_chunk(std::string_view text, const InputSpec& spec, const Layout& layout, int threads, bool strict) {
  std::vector<std::string_view> parts;
  const size_t want = text.size() < (1 << 16) ? 1 : static_cast<size_t>(threads);
  size_t start = 0;
  for (size_t p = 0; p < want && start < text.size(); ++p) {
    size_t end = p + 1 == want ? text.size() : std::min(text.size(), start + text.size() / want);
    if (end < text.size()) {
      size_t nl = text.find('\n', end);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    parts.push_back(text.substr(start, end - start));
    start = end;
  }
  std::vector<Piece> pieces(parts.size());
  if (parts.size() == 1) {
    parse_piece(parts[0], spec, layout, strict, pieces[0]);
    return pieces;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(parts.size());
  for (size_t p = 0; p < parts.size(); ++p)
    workers.emplace_back([&, p] {
      try {
        parse_piece(parts[p], spec, layout, strict, pieces[p]);
      } catch (...) {
        errors[p] = std::current_exception();
      }
    });
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return pieces;
}

/// What happens to a piece's bad rows: the first one throws (on_bad_row=error), else each is counted and, for
/// quarantine, appended to the rejects file. `first_line`: the file line of the piece's first line.
class BadRows {
 public:
  BadRows(const std::string& path, const InputSpec& spec, const ReaderOptions& options, const Layout& layout)
      : path_(path), spec_(spec), options_(options), jsonl_(layout.format == InputFormat::kJsonl) {}

  void handle(const Piece& piece, int64_t first_line, ReadStats& stats) {
    for (const auto& bad : piece.bad) {
      const int64_t line = first_line + bad.line;
      // file:line[:field]: reason, the form compilers use, so editors jump to the spot.
      const std::string where =
          path_ + ":" + std::to_string(line) + (bad.field > 0 ? ":" + std::to_string(bad.field) : std::string());
      const std::string reason = where + ": " + bad.reason;
      if (spec_.on_bad_row == BadRowPolicy::kError)
        throw InvalidInput(reason + "; row: '" + row_excerpt(bad.row) +
                           "' (use --on-bad-row=skip or quarantine to count and set bad rows aside)");
      ++stats.rows_skipped;
      if (stats.first_skip_reasons.size() < kMaxSkipReasonsKept) stats.first_skip_reasons.push_back(reason);
      if (spec_.on_bad_row == BadRowPolicy::kQuarantine) quarantine(line, bad, stats);
    }
  }

 private:
  void quarantine(int64_t line, const Piece::Bad& bad, ReadStats& stats) {
    SEQREC_CHECK(!options_.quarantine.empty(), "on_bad_row=quarantine needs a rejects file");
    if (!rejects_.is_open()) {
      const bool fresh = !std::filesystem::exists(options_.quarantine);
      if (options_.quarantine.has_parent_path()) std::filesystem::create_directories(options_.quarantine.parent_path());
      rejects_.open(options_.quarantine, std::ios::app);
      SEQREC_CHECK(rejects_, "cannot open '", options_.quarantine.string(), "' for writing rejects");
      if (fresh) rejects_ << "file\tline\tfield\treason\trow\n";
    }
    rejects_ << quarantine_escape(path_) << '\t' << line << '\t' << (bad.field > 0 ? std::to_string(bad.field) : "") << '\t'
             << quarantine_escape(bad.reason)
             << '\t' << quarantine_escape(bad.row) << '\n';
    ++stats.rows_quarantined;
    stats.quarantine_file = options_.quarantine.string();
  }

  const std::string& path_;
  const InputSpec& spec_;
  const ReaderOptions& options_;
  const bool jsonl_;
  std::ofstream rejects_;
};

}  // namespace

void read_frames(const std::string& path, const InputSpec& spec, const ReaderOptions& options, ReadStats& stats,
                 const std::function<void(Frame&&)>& consume) {
  // A .parquet file or a folder of them is Parquet whatever text format the workflow names for its other inputs.
  if (spec.format == InputFormat::kParquet || is_parquet_input(path)) {
    read_parquet_frames(path, spec, options, stats, consume);
    return;
  }
  TextSource source(path);
  Layout layout;
  layout.path = path;
  layout.format = resolve_format(spec.format, path);
  std::string buffer;
  int64_t line_number = 0;  // lines consumed before the current chunk
  if (layout.format != InputFormat::kJsonl) {
    read_header(source, buffer, spec, layout);
    line_number = 1;
  }
  const int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  const size_t chunk = static_cast<size_t>(std::max<int64_t>(options.chunk_bytes, 1 << 12));
  BadRows bad_rows(path, spec, options, layout);
  bool eof = false;
  while (true) {
    while (buffer.size() < chunk && !eof) eof = source.read(buffer, chunk) == 0;
    if (buffer.empty()) break;
    // A chunk ends at the last line end within chunk_bytes (or, for a longer line, at that line's end).
    size_t cut = buffer.size() <= chunk && eof ? buffer.size() : buffer.rfind('\n', std::min(buffer.size(), chunk) - 1);
    if (cut == std::string::npos) cut = buffer.find('\n', chunk);
    if (cut == std::string::npos && eof) cut = buffer.size();
    if (cut == std::string::npos) {
      // One line longer than a chunk: keep reading until its end.
      eof = source.read(buffer, chunk) == 0;
      continue;
    }
    if (cut < buffer.size()) ++cut;
    for (auto& piece : parse_chunk(std::string_view(buffer.data(), cut), spec, layout, threads, spec.on_bad_row == BadRowPolicy::kError)) {
      bad_rows.handle(piece, line_number + 1, stats);
      line_number += piece.lines;
      stats.rows_read += piece.frame.rows() + static_cast<int64_t>(piece.bad.size());
      if (piece.frame.rows() > 0) consume(std::move(piece.frame));
    }
    // Blank trailing lines were counted in the pieces; the "\n" that ended the chunk must not add one.
    buffer.erase(0, cut);
  }
}

}  // namespace seqrec::etl

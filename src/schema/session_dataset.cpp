#include "seqrec/schema/session_dataset.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::schema {

using nlohmann::json;

namespace {
constexpr int kSessionsVersion = 2;

template <typename T>
void append_binary(const std::filesystem::path& path, const T* data, size_t count) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  SEQREC_CHECK(out, "cannot open '", path.string(), "' for writing");
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(T)));
  SEQREC_CHECK(out.good(), "failed writing '", path.string(), "' (disk full?)");
}

template <typename T>
std::vector<T> read_binary(const std::filesystem::path& path, size_t expected) {
  require_exists(path, "sessions column file");
  auto bytes = std::filesystem::file_size(path);
  SEQREC_CHECK(bytes == expected * sizeof(T), path.string(), ": expected ", expected * sizeof(T), " bytes, found ", bytes,
               "; the dataset is damaged, re-run seqrec etl");
  std::vector<T> out(expected);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
  SEQREC_CHECK(in.good() || expected == 0, "failed reading '", path.string(), "'");
  return out;
}

std::string extra_file(size_t k) { return "extra-" + std::to_string(k); }

/// Offsets of `offsets[1..]` shifted by `base`: the rows appended after `base` values.
std::vector<int64_t> rebased_tail(const std::vector<int64_t>& offsets, int64_t base) {
  std::vector<int64_t> out;
  out.reserve(offsets.size());
  for (size_t i = 1; i < offsets.size(); ++i) out.push_back(base + offsets[i]);
  return out;
}

size_t values_of(const SessionTable::Column& c) { return c.is_float() ? c.floats.size() : c.ints.size(); }
}  // namespace

const SessionTable::Column* SessionTable::column(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

void SessionTable::append(const std::string& session_id, const std::vector<int64_t>& session_items,
                          const std::vector<int64_t>& session_timestamps) {
  SEQREC_ASSERT(session_items.size() == session_timestamps.size());
  SEQREC_ASSERT(columns.empty(), "per-session append of a table with extra columns");
  session_ids.push_back(session_id);
  items.insert(items.end(), session_items.begin(), session_items.end());
  timestamps.insert(timestamps.end(), session_timestamps.begin(), session_timestamps.end());
  offsets.push_back(static_cast<int64_t>(items.size()));
  days.push_back(session_timestamps.empty() ? 0 : session_timestamps.front() / 86400000);
}

SessionTable SessionTable::take(const std::vector<int64_t>& rows) const {
  SessionTable t;
  t.item_cardinality = item_cardinality;
  for (const auto& c : columns) {
    Column e = c;
    e.ints.clear();
    e.floats.clear();
    e.offsets.assign(c.is_list ? 1 : 0, 0);
    t.columns.push_back(std::move(e));
  }
  for (int64_t r : rows) {
    t.session_ids.push_back(session_ids[r]);
    t.items.insert(t.items.end(), items.begin() + offsets[r], items.begin() + offsets[r + 1]);
    t.timestamps.insert(t.timestamps.end(), timestamps.begin() + offsets[r], timestamps.begin() + offsets[r + 1]);
    t.offsets.push_back(static_cast<int64_t>(t.items.size()));
    t.days.push_back(days[r]);
    for (size_t k = 0; k < columns.size(); ++k) {
      const Column& c = columns[k];
      Column& o = t.columns[k];
      const int64_t b = c.is_list ? c.offsets[r] : r, e = c.is_list ? c.offsets[r + 1] : r + 1;
      if (c.is_float()) o.floats.insert(o.floats.end(), c.floats.begin() + b, c.floats.begin() + e);
      else o.ints.insert(o.ints.end(), c.ints.begin() + b, c.ints.begin() + e);
      if (c.is_list) o.offsets.push_back(static_cast<int64_t>(values_of(o)));
    }
  }
  return t;
}

void SessionTable::append(const SessionTable& other) {
  if (size() == 0 && columns.empty()) {
    *this = other;
    return;
  }
  SEQREC_ASSERT(columns.size() == other.columns.size(), "appending sessions with other columns");
  auto tail = rebased_tail(other.offsets, offsets.back());
  offsets.insert(offsets.end(), tail.begin(), tail.end());
  session_ids.insert(session_ids.end(), other.session_ids.begin(), other.session_ids.end());
  items.insert(items.end(), other.items.begin(), other.items.end());
  timestamps.insert(timestamps.end(), other.timestamps.begin(), other.timestamps.end());
  days.insert(days.end(), other.days.begin(), other.days.end());
  for (size_t k = 0; k < columns.size(); ++k) {
    Column& c = columns[k];
    const Column& o = other.columns[k];
    if (c.is_list) {
      auto t = rebased_tail(o.offsets, c.offsets.back());
      c.offsets.insert(c.offsets.end(), t.begin(), t.end());
    }
    c.ints.insert(c.ints.end(), o.ints.begin(), o.ints.end());
    c.floats.insert(c.floats.end(), o.floats.begin(), o.floats.end());
  }
}

SessionWriter::SessionWriter(std::filesystem::path dir) : dir_(std::move(dir)) {
  tmp_ = dir_;
  tmp_ += ".tmp";
  std::filesystem::remove_all(tmp_);
  std::filesystem::create_directories(tmp_);
}

SessionWriter::~SessionWriter() {
  if (!finished_) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }
}

void SessionWriter::append(const SessionTable& t) {
  if (!started_) {
    started_ = true;
    shape_ = t.take({});
    const int64_t zero = 0;
    append_binary(tmp_ / "session_id.offsets.bin", &zero, 1);
    append_binary(tmp_ / "item_id.offsets.bin", &zero, 1);
    for (size_t k = 0; k < t.columns.size(); ++k)
      if (t.columns[k].is_list) append_binary(tmp_ / (extra_file(k) + ".offsets.bin"), &zero, 1);
  }
  SEQREC_ASSERT(t.columns.size() == shape_.columns.size(), "sessions appended with other columns");
  if (t.size() == 0) return;
  std::string id_bytes;
  std::vector<int64_t> id_offsets;
  for (const auto& s : t.session_ids) {
    id_bytes += s;
    id_offsets.push_back(id_bytes_ + static_cast<int64_t>(id_bytes.size()));
  }
  append_binary(tmp_ / "session_id.values.bin", id_bytes.data(), id_bytes.size());
  append_binary(tmp_ / "session_id.offsets.bin", id_offsets.data(), id_offsets.size());
  auto item_offsets = rebased_tail(t.offsets, values_);
  append_binary(tmp_ / "item_id.values.bin", t.items.data(), t.items.size());
  append_binary(tmp_ / "item_id.offsets.bin", item_offsets.data(), item_offsets.size());
  append_binary(tmp_ / "timestamp.values.bin", t.timestamps.data(), t.timestamps.size());
  append_binary(tmp_ / "day.bin", t.days.data(), t.days.size());
  auto track = [&](const std::string& name, int64_t len) {
    auto [it, inserted] = lengths_.emplace(name, std::make_pair(len, len));
    it->second.first = std::min(it->second.first, len);
    it->second.second = std::max(it->second.second, len);
  };
  for (int64_t r = 0; r < t.size(); ++r) track("item_id", t.length(r));
  for (size_t k = 0; k < t.columns.size(); ++k) {
    const auto& c = t.columns[k];
    const std::string stem = extra_file(k);
    if (c.is_list) {
      auto o = rebased_tail(c.offsets, column_values_[c.name]);
      append_binary(tmp_ / (stem + ".offsets.bin"), o.data(), o.size());
      for (int64_t r = 0; r < t.size(); ++r) track(c.name, c.length(r));
    }
    if (c.is_float()) append_binary(tmp_ / (stem + ".values.bin"), c.floats.data(), c.floats.size());
    else append_binary(tmp_ / (stem + ".values.bin"), c.ints.data(), c.ints.size());
    column_values_[c.name] += static_cast<int64_t>(values_of(c));
  }
  shape_.item_cardinality = std::max(shape_.item_cardinality, t.item_cardinality);
  id_bytes_ += static_cast<int64_t>(id_bytes.size());
  values_ += static_cast<int64_t>(t.items.size());
  rows_ += t.size();
}

void SessionWriter::finish(const SessionTable& like) {
  if (!started_) append(like.take({}));
  // Files of columns that never received a value still have to exist (empty).
  for (const char* f : {"session_id.values.bin", "item_id.values.bin", "timestamp.values.bin", "day.bin"})
    append_binary<char>(tmp_ / f, nullptr, 0);
  json columns = {{{"name", "session_id"}, {"dtype", "string"}, {"is_list", false}},
                  {{"name", "item_id"}, {"dtype", "int64"}, {"is_list", true}},
                  {{"name", "timestamp"}, {"dtype", "int64"}, {"is_list", true}, {"offsets", "item_id"}},
                  {{"name", "day"}, {"dtype", "int64"}, {"is_list", false}}};
  for (size_t k = 0; k < shape_.columns.size(); ++k) {
    const auto& c = shape_.columns[k];
    append_binary<char>(tmp_ / (extra_file(k) + ".values.bin"), nullptr, 0);
    columns.push_back({{"name", c.name},
                       {"dtype", c.dtype},
                       {"is_list", c.is_list},
                       {"file", extra_file(k)},
                       {"values", column_values_[c.name]},
                       {"tags", c.tags},
                       {"cardinality", c.cardinality}});
  }
  json manifest = {{"format", "seqrec-sessions"},
                   {"version", kSessionsVersion},
                   {"rows", rows_},
                   {"values", values_},
                   {"session_id_bytes", id_bytes_},
                   {"item_cardinality", shape_.item_cardinality},
                   {"columns", columns},
                   {"files", folder_checksums(tmp_, "manifest.json")}};
  write_text_file_atomic(tmp_ / "manifest.json", manifest.dump(2) + "\n");
  std::filesystem::remove_all(dir_);
  std::filesystem::rename(tmp_, dir_);
  finished_ = true;
}

void write_sessions(const SessionTable& t, const std::filesystem::path& dir) {
  SessionWriter writer(dir);
  writer.append(t);
  writer.finish(t);
}

namespace {

// A damaged offsets file must never index past its values: 0 first, never decreasing, `values` last.
void check_offsets(const std::vector<int64_t>& offsets, size_t values, const std::filesystem::path& file) {
  SEQREC_CHECK(!offsets.empty() && offsets.front() == 0, file.string(), ": the first offset is ",
               offsets.empty() ? -1 : offsets.front(), ", not 0; the dataset is damaged, re-run seqrec etl");
  for (size_t r = 1; r < offsets.size(); ++r)
    SEQREC_CHECK(offsets[r] >= offsets[r - 1] && offsets[r] <= static_cast<int64_t>(values), file.string(), ": offset ", r,
                 " (", offsets[r], ") is out of order or past the ", values, " values; the dataset is damaged, re-run seqrec etl");
  SEQREC_CHECK(offsets.back() == static_cast<int64_t>(values), file.string(), ": the offsets end at ", offsets.back(),
               " but there are ", values, " values; the dataset is damaged, re-run seqrec etl");
}

// Ids must lie in the column's domain 0..cardinality-1 (when the manifest gives one).
void check_ids(const std::vector<int64_t>& ids, int64_t cardinality, const std::filesystem::path& file) {
  if (cardinality <= 0) return;
  for (size_t i = 0; i < ids.size(); ++i)
    SEQREC_CHECK(ids[i] >= 0 && ids[i] < cardinality, file.string(), ": value ", i, " is id ", ids[i], ", outside 0..",
                 cardinality - 1, "; the dataset is damaged, re-run seqrec etl");
}

}  // namespace

SessionTable read_sessions(const std::filesystem::path& dir) {
  auto manifest_path = dir / "manifest.json";
  SEQREC_CHECK(std::filesystem::exists(manifest_path), "'", dir.string(),
               "' is not a sessions folder (no manifest.json); run seqrec etl first");
  json m;
  try {
    m = json::parse(read_text_file(manifest_path));
  } catch (const json::exception& e) {
    throw InvalidInput(manifest_path.string() + ": not valid JSON: " + e.what());
  }
  SEQREC_CHECK(m.value("format", "") == "seqrec-sessions", manifest_path.string(), ": not a seqrec sessions manifest");
  SEQREC_CHECK(m.value("version", 0) <= kSessionsVersion, manifest_path.string(), ": format version ", m.value("version", 0),
               " is newer than this seqrec reads (", kSessionsVersion, "); upgrade seqrec");
  if (m.contains("files"))  // folders written before checksums still open
    verify_folder_checksums(dir, m.at("files").get<std::map<std::string, std::string>>(), "sessions folder",
                            "re-run seqrec etl");
  const size_t rows = m.at("rows").get<size_t>();
  const size_t values = m.at("values").get<size_t>();
  const size_t id_bytes = m.at("session_id_bytes").get<size_t>();

  SessionTable t;
  auto bytes = read_binary<char>(dir / "session_id.values.bin", id_bytes);
  auto id_offsets = read_binary<int64_t>(dir / "session_id.offsets.bin", rows + 1);
  check_offsets(id_offsets, id_bytes, dir / "session_id.offsets.bin");
  t.session_ids.reserve(rows);
  for (size_t r = 0; r < rows; ++r) t.session_ids.emplace_back(bytes.data() + id_offsets[r], id_offsets[r + 1] - id_offsets[r]);
  t.offsets = read_binary<int64_t>(dir / "item_id.offsets.bin", rows + 1);
  t.items = read_binary<int64_t>(dir / "item_id.values.bin", values);
  t.timestamps = read_binary<int64_t>(dir / "timestamp.values.bin", values);
  t.days = read_binary<int64_t>(dir / "day.bin", rows);
  t.item_cardinality = m.value("item_cardinality", int64_t{0});
  check_offsets(t.offsets, values, dir / "item_id.offsets.bin");
  check_ids(t.items, t.item_cardinality, dir / "item_id.values.bin");
  for (const auto& jc : m.at("columns")) {
    if (!jc.contains("file")) continue;  // the four built-in columns
    SessionTable::Column c;
    c.name = jc.at("name").get<std::string>();
    c.dtype = jc.at("dtype").get<std::string>();
    SEQREC_CHECK(c.dtype == "int64" || c.dtype == "float32", manifest_path.string(), ": column '", c.name,
                 "' has unknown dtype '", c.dtype, "'");
    c.is_list = jc.at("is_list").get<bool>();
    c.tags = jc.value("tags", std::vector<std::string>{});
    c.cardinality = jc.value("cardinality", int64_t{0});
    const std::string stem = jc.at("file").get<std::string>();
    const size_t n = jc.at("values").get<size_t>();
    if (c.is_float()) c.floats = read_binary<float>(dir / (stem + ".values.bin"), n);
    else c.ints = read_binary<int64_t>(dir / (stem + ".values.bin"), n);
    if (c.is_list) {
      c.offsets = read_binary<int64_t>(dir / (stem + ".offsets.bin"), rows + 1);
      check_offsets(c.offsets, n, dir / (stem + ".offsets.bin"));
    } else {
      SEQREC_CHECK(n == rows, dir.string(), ": column '", c.name, "' has ", n, " values for ", rows, " rows");
    }
    if (!c.is_float()) check_ids(c.ints, c.cardinality, dir / (stem + ".values.bin"));
    t.columns.push_back(std::move(c));
  }
  return t;
}

}  // namespace seqrec::schema

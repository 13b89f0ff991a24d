#include "seqrec/etl/session_dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
constexpr int kSessionsVersion = 1;

template <typename T>
void write_binary(const std::filesystem::path& path, const T* data, size_t count) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
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
}  // namespace

void SessionTable::append(const std::string& session_id, const std::vector<int64_t>& session_items,
                          const std::vector<int64_t>& session_timestamps) {
  SEQREC_ASSERT(session_items.size() == session_timestamps.size());
  session_ids.push_back(session_id);
  items.insert(items.end(), session_items.begin(), session_items.end());
  timestamps.insert(timestamps.end(), session_timestamps.begin(), session_timestamps.end());
  offsets.push_back(static_cast<int64_t>(items.size()));
  days.push_back(session_timestamps.empty() ? 0 : session_timestamps.front() / 86400000);
}

void write_sessions(const SessionTable& t, const std::filesystem::path& dir) {
  write_directory_atomic(dir, [&](const std::filesystem::path& tmp) {
    std::vector<int64_t> id_offsets{0};
    std::string id_bytes;
    for (const auto& s : t.session_ids) {
      id_bytes += s;
      id_offsets.push_back(static_cast<int64_t>(id_bytes.size()));
    }
    write_binary(tmp / "session_id.values.bin", id_bytes.data(), id_bytes.size());
    write_binary(tmp / "session_id.offsets.bin", id_offsets.data(), id_offsets.size());
    write_binary(tmp / "item_id.values.bin", t.items.data(), t.items.size());
    write_binary(tmp / "item_id.offsets.bin", t.offsets.data(), t.offsets.size());
    write_binary(tmp / "timestamp.values.bin", t.timestamps.data(), t.timestamps.size());
    write_binary(tmp / "day.bin", t.days.data(), t.days.size());
    json manifest = {{"format", "seqrec-sessions"},
                     {"version", kSessionsVersion},
                     {"rows", t.size()},
                     {"values", t.items.size()},
                     {"session_id_bytes", id_bytes.size()},
                     {"columns",
                      {{{"name", "session_id"}, {"dtype", "string"}, {"is_list", false}},
                       {{"name", "item_id"}, {"dtype", "int64"}, {"is_list", true}},
                       {{"name", "timestamp"}, {"dtype", "int64"}, {"is_list", true}, {"offsets", "item_id"}},
                       {{"name", "day"}, {"dtype", "int64"}, {"is_list", false}}}}};
    write_text_file_atomic(tmp / "manifest.json", manifest.dump(2) + "\n");
  });
}

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
  const size_t rows = m.at("rows").get<size_t>();
  const size_t values = m.at("values").get<size_t>();
  const size_t id_bytes = m.at("session_id_bytes").get<size_t>();

  SessionTable t;
  auto bytes = read_binary<char>(dir / "session_id.values.bin", id_bytes);
  auto id_offsets = read_binary<int64_t>(dir / "session_id.offsets.bin", rows + 1);
  t.session_ids.reserve(rows);
  for (size_t r = 0; r < rows; ++r) t.session_ids.emplace_back(bytes.data() + id_offsets[r], id_offsets[r + 1] - id_offsets[r]);
  t.offsets = read_binary<int64_t>(dir / "item_id.offsets.bin", rows + 1);
  t.items = read_binary<int64_t>(dir / "item_id.values.bin", values);
  t.timestamps = read_binary<int64_t>(dir / "timestamp.values.bin", values);
  t.days = read_binary<int64_t>(dir / "day.bin", rows);
  SEQREC_CHECK(t.offsets.front() == 0 && t.offsets.back() == static_cast<int64_t>(values), dir.string(),
               ": item_id offsets do not match the values; the dataset is damaged, re-run seqrec etl");
  return t;
}

}  // namespace seqrec::etl

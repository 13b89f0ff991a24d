#include "seqrec/schema/schema.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/schema/pbtxt.h"

namespace seqrec::schema {

using nlohmann::json;

namespace {
constexpr int kSchemaVersion = 1;
}

bool ColumnSchema::has_tag(const std::string& tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

const ColumnSchema* Schema::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

const ColumnSchema& Schema::column(const std::string& name) const {
  const ColumnSchema* c = find(name);
  SEQREC_CHECK(c != nullptr, "schema has no column '", name, "'");
  return *c;
}

const ColumnSchema& Schema::item_column() const {
  // Merlin tags every item feature (category, brand) with `item`; the id column also carries `id`.
  for (const auto& c : columns)
    if (c.has_tag("item") && c.has_tag("id")) return c;
  for (const auto& c : columns)
    if (c.has_tag("item")) return c;
  throw InvalidInput("schema has no column tagged 'item': the next-item model needs one");
}

std::string Schema::fingerprint() const {
  // FNV-1a over the fields a model depends on: names, kinds and cardinalities.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const std::string& s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  for (const auto& c : columns) {
    mix(c.name);
    mix(c.dtype);
    mix(c.is_list ? "list" : "scalar");
    mix(std::to_string(c.cardinality));
    if (c.first_value_id != kDefaultFirstValueId) mix("first " + std::to_string(c.first_value_id));  // older fingerprints stay valid
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

json Schema::to_json() const {
  json cols = json::array();
  for (const auto& c : columns) {
    json j = {{"name", c.name}, {"dtype", c.dtype}, {"is_list", c.is_list}, {"tags", c.tags}};
    if (c.cardinality > 0) j["int_domain"] = {{"min", 0}, {"max", c.cardinality - 1}};
    if (c.cardinality > 0) j["first_value_id"] = c.first_value_id;
    if (c.is_list) j["value_count"] = {{"min", c.min_length}, {"max", c.max_length}};
    if (c.embedding_size > 0) j["embedding_size"] = c.embedding_size;
    cols.push_back(j);
  }
  return {{"format", "seqrec-schema"}, {"version", kSchemaVersion}, {"columns", cols}};
}

Schema Schema::from_json(const json& j) {
  SEQREC_CHECK(j.value("format", "") == "seqrec-schema", "not a seqrec schema (missing \"format\": \"seqrec-schema\")");
  int version = j.value("version", 0);
  SEQREC_CHECK(version <= kSchemaVersion, "schema version ", version, " is newer than this seqrec supports (",
               kSchemaVersion, "); upgrade seqrec");
  Schema s;
  for (const auto& jc : j.at("columns")) {
    ColumnSchema c;
    c.name = jc.at("name").get<std::string>();
    c.dtype = jc.at("dtype").get<std::string>();
    c.is_list = jc.value("is_list", false);
    c.tags = jc.value("tags", std::vector<std::string>{});
    if (jc.contains("int_domain")) c.cardinality = jc["int_domain"].at("max").get<int64_t>() + 1;
    c.first_value_id = jc.value("first_value_id", kDefaultFirstValueId);
    if (jc.contains("value_count")) {
      c.min_length = jc["value_count"].at("min").get<int64_t>();
      c.max_length = jc["value_count"].at("max").get<int64_t>();
    }
    c.embedding_size = jc.value("embedding_size", int64_t{0});
    s.columns.push_back(std::move(c));
  }
  return s;
}

void Schema::save(const std::filesystem::path& path) const { write_text_file_atomic(path, to_json().dump(2) + "\n"); }

Schema Schema::load(const std::filesystem::path& path) {
  if (path.extension() == ".pbtxt") return load_pbtxt(path);
  std::string text = read_text_file(path);
  try {
    return from_json(json::parse(text));
  } catch (const json::exception& e) {
    throw InvalidInput("cannot read schema '" + path.string() + "': " + e.what());
  } catch (const InvalidInput& e) {
    throw InvalidInput("schema '" + path.string() + "': " + e.what());
  }
}

std::filesystem::path Schema::folder_schema_path(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "schema.json") && std::filesystem::exists(dir / "schema.pbtxt")) return dir / "schema.pbtxt";
  return dir / "schema.json";
}

Schema Schema::load_folder(const std::filesystem::path& dir) {
  const auto path = folder_schema_path(dir);
  SEQREC_CHECK(std::filesystem::exists(path), "'", dir.string(), "' holds neither schema.json nor schema.pbtxt; give the "
               "folder an ETL wrote (seqrec etl run --out ...)");
  return load(path);
}

}  // namespace seqrec::schema

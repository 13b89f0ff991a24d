#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace seqrec::schema {

/// Ids 0 (padding), 1 (null) and 2 (OOV) are reserved; real values start here unless Categorify hashes OOV values
/// into more buckets (ColumnSchema::first_value_id).
inline constexpr int64_t kDefaultFirstValueId = 3;

/// One output column of the sessions dataset (DESIGN.md §2).
struct ColumnSchema {
  std::string name;
  std::string dtype;              ///< "int64", "float32" or "string"
  bool is_list = false;           ///< one list per session (values + offsets)
  std::vector<std::string> tags;  ///< item, id, categorical, continuous, list, session, time, target
  int64_t cardinality = 0;        ///< categorical only: ids are 0 .. cardinality-1; 0 = not categorical
  /// categorical only: the first id of a real value; ids below it are reserved (0 padding, 1 null, 2 OOV, and
  /// with Categorify num_buckets > 1 the hashed-OOV buckets 2 .. first_value_id-1): never a target, never ranked.
  int64_t first_value_id = kDefaultFirstValueId;
  int64_t min_length = 0;         ///< lists only: value_count min
  int64_t max_length = 0;         ///< lists only: value_count max
  int64_t embedding_size = 0;     ///< a hint for the model; 0 = let the model decide

  bool has_tag(const std::string& tag) const;
};

/// The contract between ETL and the model: what each column is.
class Schema {
 public:
  std::vector<ColumnSchema> columns;

  const ColumnSchema& column(const std::string& name) const;
  const ColumnSchema* find(const std::string& name) const;
  /// The single column tagged `item` (the next-item target); throws when there is none.
  const ColumnSchema& item_column() const;
  /// A short stable digest of the columns, stored in checkpoints to refuse a model from another schema.
  std::string fingerprint() const;

  nlohmann::json to_json() const;
  static Schema from_json(const nlohmann::json& j);
  void save(const std::filesystem::path& path) const;
  static Schema load(const std::filesystem::path& path);
  /// The schema of a data folder: `<dir>/schema.json`, else NVTabular's `<dir>/schema.pbtxt`.
  static Schema load_folder(const std::filesystem::path& dir);
  /// The file load_folder reads (schema.json, else schema.pbtxt; schema.json when neither exists).
  static std::filesystem::path folder_schema_path(const std::filesystem::path& dir);
};

}  // namespace seqrec::schema

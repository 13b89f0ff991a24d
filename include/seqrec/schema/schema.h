#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace seqrec::schema {

/// One output column of the sessions dataset (DESIGN.md §2).
struct ColumnSchema {
  std::string name;
  std::string dtype;              ///< "int64", "float32" or "string"
  bool is_list = false;           ///< one list per session (values + offsets)
  std::vector<std::string> tags;  ///< item, id, categorical, continuous, list, session, time, target
  int64_t cardinality = 0;        ///< categorical only: ids are 0 .. cardinality-1; 0 = not categorical
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
};

}  // namespace seqrec::schema

#include "seqrec/model/schema_features.h"

#include <algorithm>
#include <sstream>

#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::model {

namespace {
bool is_categorical(const schema::ColumnSchema& c) { return c.has_tag("categorical") || c.cardinality > 0; }
bool is_continuous(const schema::ColumnSchema& c) { return c.has_tag("continuous") || c.dtype == "float32"; }

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream in(text);
  for (std::string name; std::getline(in, name, ',');) {
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

const schema::ColumnSchema& find_column(const schema::Schema& schema, const std::string& name, const std::string& role) {
  if (const auto* c = schema.find(name)) return *c;
  std::vector<std::string> known;
  for (const auto& c : schema.columns) known.push_back(c.name);
  const std::string nearest = nearest_key(name, known);
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw InvalidInput(role + " '" + name + "' is not a column of the data's schema" +
                     (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)") + "; it has: " + list);
}

/// `feature` with everything the schema decides about its column.
FeatureConfig typed_from_schema(FeatureConfig feature, const schema::ColumnSchema& column) {
  if (column.dtype == "float32") {
    feature.type = FeatureType::kContinuous;
    feature.cardinality = 0;
  } else if (column.dtype == "int64" && is_categorical(column)) {
    SEQREC_CHECK(column.cardinality > 0, "feature '", column.name, "' is categorical but the schema gives it no cardinality "
                 "(int_domain.max in schema.pbtxt, int_domain or cardinality in schema.json); categorify it in the "
                 "workflow, or leave it out with --features");
    feature.type = FeatureType::kCategorical;
    feature.cardinality = column.cardinality;
  } else {
    throw InvalidInput("feature '" + column.name + "' is " + column.dtype + (is_continuous(column) ? " tagged continuous" : "") +
                       "; the input block takes categorical int64 ids or continuous float32 values (Categorify it, or "
                       "cast it to float in the workflow)");
  }
  feature.session_level = !column.is_list;
  if (feature.dim == 0 && column.embedding_size > 0 && feature.type == FeatureType::kCategorical)
    feature.dim = column.embedding_size;
  return feature;
}
}  // namespace

bool is_side_feature(const schema::ColumnSchema& column, const schema::ColumnSchema& item) {
  // Item-tagged columns other than the item id (a category-list tagged item) are item metadata: inputs too.
  if (column.name == item.name || column.has_tag("id") || column.has_tag("time")) return false;
  return (column.dtype == "int64" && is_categorical(column)) || column.dtype == "float32";
}

std::vector<std::string> features_from_schema(ModelConfig& config, const schema::Schema& schema, const std::string& selection) {
  std::vector<std::string> notes;
  const auto& item = schema.item_column();
  std::vector<std::string> targets;
  for (const auto& t : config.tasks) {
    const auto& column = find_column(schema, t.target, "task target");
    SEQREC_CHECK(!column.is_list, "task target '", t.target, "' is a list column; a session-level task needs one value per "
                 "session (aggregate it with first, last, max, ... in the Groupby)");
    targets.push_back(t.target);
  }
  std::vector<std::string> names;
  if (selection == "none") {
    config.input.features.clear();
    return notes;
  }
  if (selection == "auto" || selection.empty()) {
    if (!config.input.features.empty()) {
      for (const auto& f : config.input.features) names.push_back(f.name);
    } else {
      for (const auto& c : schema.columns) {
        if (std::find(targets.begin(), targets.end(), c.name) != targets.end()) continue;
        if (is_side_feature(c, item)) {
          names.push_back(c.name);
        } else if (c.name != item.name && !c.has_tag("id") && !c.has_tag("time") && (c.has_tag("categorical") || c.has_tag("continuous"))) {
          notes.push_back("column '" + c.name + "' (" + c.dtype + ") is tagged as a feature but is neither categorical int64 "
                          "nor float32: left out of the model's inputs");
        }
      }
    }
  } else {
    names = split_names(selection);
    SEQREC_CHECK(!names.empty(), "--features must be auto, none or a comma-separated list of columns, got '", selection, "'");
  }
  std::vector<FeatureConfig> features;
  for (const auto& name : names) {
    const auto& column = find_column(schema, name, "feature");
    SEQREC_CHECK(column.name != item.name, "feature '", name, "' is the item column; the item embedding already reads it");
    SEQREC_CHECK(std::find(targets.begin(), targets.end(), name) == targets.end(), "feature '", name,
                 "' is a task's target; a model cannot read what it predicts");
    FeatureConfig base;
    base.name = name;
    for (const auto& f : config.input.features)
      if (f.name == name) base = f;
    features.push_back(typed_from_schema(base, column));
  }
  config.input.features = std::move(features);
  return notes;
}

}  // namespace seqrec::model

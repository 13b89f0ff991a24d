#pragma once
#include <string>
#include <vector>

#include "seqrec/model/model_config.h"
#include "seqrec/schema/schema.h"

namespace seqrec::model {

/// Whether `column` can feed the input block as a side feature: a list or session-level column tagged categorical
/// (int64) or continuous (float32) that is not the item id, an id or a time column.
bool is_side_feature(const schema::ColumnSchema& column, const schema::ColumnSchema& item);

/// Transformers4Rec's `TabularSequenceFeatures.from_schema`, for a ModelConfig: fills config.input.features from the
/// data's schema. `selection` is "auto" (the features the config lists, or every side feature of the schema when it
/// lists none), "none" (item ids only) or a comma-separated list of column names. Each feature takes its type,
/// cardinality, session_level and (when its dim is 0) embedding size hint from the schema; the config's per-feature
/// options (dim, encoding, bins, layer_norm) stay. Task targets are never inputs. Throws InvalidInput for a named
/// column the schema lacks (with the nearest name), a categorical column without a cardinality, or a column that is
/// neither categorical int64 nor continuous float32. Returns notes for the user (columns auto left out, and why).
std::vector<std::string> features_from_schema(ModelConfig& config, const schema::Schema& schema, const std::string& selection);

}  // namespace seqrec::model

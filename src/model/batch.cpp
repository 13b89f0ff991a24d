#include "seqrec/model/batch.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <cmath>

#include "seqrec/common/error.h"
#include "seqrec/model/model_config.h"

namespace seqrec::model {

BatchColumns BatchColumns::of(const ModelConfig& config) {
  BatchColumns c;
  for (const auto& f : config.input.features)
    c.features.push_back({f.name, f.type == FeatureType::kCategorical ? f.cardinality : 0});
  for (const auto& t : config.tasks) c.task_targets.push_back(t.target);
  return c;
}

void BatchColumns::merge(const BatchColumns& other) {
  for (const auto& f : other.features)
    if (std::none_of(features.begin(), features.end(), [&](const BatchColumn& have) { return have.name == f.name; }))
      features.push_back(f);
  for (const auto& t : other.task_targets)
    if (std::find(task_targets.begin(), task_targets.end(), t) == task_targets.end()) task_targets.push_back(t);
}

at::Tensor to_device(const at::Tensor& host, c10::Device device) {
  if (device.is_cpu()) return host;
  // A GPU batch goes through pinned memory, so the copy is asynchronous and overlaps the previous step's kernels;
  // the pinned allocator keeps the block until the copy on the stream has finished.
  auto pinned = at::empty(host.sizes(), host.options().pinned_memory(true));
  pinned.copy_(host);
  return pinned.to(device, /*non_blocking=*/true);
}

namespace {
template <typename T>
at::Tensor to_tensor(std::vector<T>& data, std::vector<int64_t> shape, c10::Device device) {
  constexpr auto type = std::is_same_v<T, float> ? at::kFloat : at::kLong;
  return to_device(at::from_blob(data.data(), shape, type).clone(), device);
}

const schema::SessionTable::Column& side_column(const schema::SessionTable& table, const std::string& name, const char* role) {
  const auto* column = table.column(name);
  if (column == nullptr) {
    std::string have;
    for (const auto& c : table.columns) have += (have.empty() ? "" : ", ") + c.name;
    throw InvalidInput(std::string("the model's ") + role + " '" + name + "' is not a column of the sessions (they hold: " +
                       (have.empty() ? "item ids only" : have) + "); run the ETL that made the model's data");
  }
  return *column;
}

/// One feature's values for `slices`: [B, L] for a list, [B] for a session scalar, checked as add_side_columns says.
template <typename T>
at::Tensor gather(const schema::SessionTable& table, const schema::SessionTable::Column& column, const BatchColumn& feature,
                  const std::vector<SessionSlice>& slices, int64_t L, c10::Device device) {
  const int64_t B = static_cast<int64_t>(slices.size());
  std::vector<T> values(column.is_list ? B * L : B, T(0));
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = slices[b];
    const T* source;
    if constexpr (std::is_same_v<T, float>) source = column.floats_of(s.row); else source = column.ints_of(s.row);
    int64_t begin = 0, count = 1;
    if (column.is_list) {
      SEQREC_CHECK(column.length(s.row) == table.length(s.row), "feature column '", column.name, "' has ",
                   column.length(s.row), " values in session '", table.session_ids[s.row], "' but the session has ",
                   table.length(s.row), " items; a list feature must stay aligned with the items (ListSlice and "
                   "DropRepeats it with them)");
      begin = s.begin;
      count = s.end - s.begin;
    }
    for (int64_t j = 0; j < count; ++j) {
      const T v = source[begin + j];
      if constexpr (std::is_same_v<T, float>) {
        SEQREC_CHECK(std::isfinite(v), "continuous feature '", column.name, "' holds ", v, " in session '",
                     table.session_ids[s.row], "'; fill or drop missing values in the workflow (FillMedian, Dropna)");
      } else {
        SEQREC_CHECK(v >= 0 && v < feature.cardinality, "categorical feature '", column.name, "' holds id ", v,
                     " in session '", table.session_ids[s.row], "' but the model knows ids 0..", feature.cardinality - 1,
                     "; the data and the model come from different workflows");
      }
      values[(column.is_list ? b * L : b) + j] = v;
    }
  }
  return column.is_list ? to_tensor(values, {B, L}, device) : to_tensor(values, {B}, device);
}
}  // namespace

void add_side_columns(const schema::SessionTable& table, const std::vector<SessionSlice>& slices, int64_t L,
                      const BatchColumns& columns, c10::Device device, FeatureMap& features, FeatureMap* task_targets) {
  for (const auto& f : columns.features) {
    const auto& column = side_column(table, f.name, "input feature");
    const bool is_float = column.is_float();
    SEQREC_CHECK(is_float == (f.cardinality == 0), "feature '", f.name, "' is ", is_float ? "continuous (float32)" : "int64",
                 " in the sessions but ", f.cardinality == 0 ? "continuous" : "categorical", " in the model");
    features[f.name] = is_float ? gather<float>(table, column, f, slices, L, device) : gather<int64_t>(table, column, f, slices, L, device);
  }
  if (task_targets == nullptr) return;
  const int64_t B = static_cast<int64_t>(slices.size());
  for (const auto& name : columns.task_targets) {
    const auto& column = side_column(table, name, "task target");
    SEQREC_CHECK(!column.is_list, "task target '", name, "' is a list column; a session-level task needs one value per "
                 "session (aggregate it with 'first', 'last', 'max', ... in the Groupby)");
    std::vector<float> values(B);
    for (int64_t b = 0; b < B; ++b) {
      values[b] = column.is_float() ? *column.floats_of(slices[b].row) : static_cast<float>(*column.ints_of(slices[b].row));
      SEQREC_CHECK(std::isfinite(values[b]), "task target '", name, "' holds ", values[b], " in session '",
                   table.session_ids[slices[b].row], "'");
    }
    (*task_targets)[name] = to_tensor(values, {B}, device);
  }
}

PrefixBatch make_prefix_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t max_length,
                              bool hold_out_last, c10::Device device, const BatchColumns& columns) {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t L = 1;
  for (int64_t r : rows) L = std::max(L, std::min(max_length, table.length(r) - (hold_out_last ? 1 : 0)));
  std::vector<int64_t> items(B * L, 0), lengths(B, 0), targets(B, 0);
  std::vector<SessionSlice> slices(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = table.items_of(rows[b]);
    int64_t n = table.length(rows[b]);
    if (hold_out_last) {
      SEQREC_ASSERT(n >= 1);
      targets[b] = s[n - 1];
      --n;
    }
    const int64_t keep = std::min(n, max_length);
    std::copy(s + n - keep, s + n, items.begin() + b * L);
    lengths[b] = keep;
    slices[b] = {rows[b], n - keep, n};
  }
  PrefixBatch batch{to_tensor(items, {B, L}, device), to_tensor(lengths, {B}, device), to_tensor(targets, {B}, device), {}};
  add_side_columns(table, slices, L, columns, device, batch.features, nullptr);
  return batch;
}

TrainingBatch make_training_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t sequence_length,
                                  c10::Device device, const BatchColumns& columns) {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t L = 1;
  for (int64_t r : rows) L = std::max(L, std::min(sequence_length, table.length(r)));
  std::vector<int64_t> items(B * L, 0);
  std::vector<SessionSlice> slices(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = table.items_of(rows[b]);
    const int64_t n = table.length(rows[b]);
    const int64_t keep = std::min(n, sequence_length);
    std::copy(s + n - keep, s + n, items.begin() + b * L);
    slices[b] = {rows[b], n - keep, n};
  }
  TrainingBatch batch{to_tensor(items, {B, L}, device), {}, {}};
  add_side_columns(table, slices, L, columns, device, batch.features, &batch.task_targets);
  return batch;
}

}  // namespace seqrec::model

#pragma once
#include <c10/core/Device.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "seqrec/schema/session_dataset.h"

namespace seqrec::model {

struct ModelConfig;

/// Side-feature tensors by column name: [B, L] (int64 categorical ids or float32 values) for list columns,
/// [B] for session-level scalars (broadcast along the sequence). Session-task targets use the same map ([B] float).
using FeatureMap = std::unordered_map<std::string, at::Tensor>;

/// One side column a model reads from a sessions table.
struct BatchColumn {
  std::string name;
  int64_t cardinality = 0;  ///< categorical: ids must lie in 0 .. cardinality-1; 0 = continuous (float32)
};

/// The side columns a batch carries for a model: its input features and its session-task targets.
struct BatchColumns {
  std::vector<BatchColumn> features;
  std::vector<std::string> task_targets;

  /// What `config` reads (its input.features, its tasks' targets).
  static BatchColumns of(const ModelConfig& config);
  /// This plus the columns of `other` not already here (an ensemble's members may read different features).
  void merge(const BatchColumns& other);
  bool empty() const { return features.empty() && task_targets.empty(); }
};

/// Sessions with the last item held out: the evaluation and prediction input.
struct PrefixBatch {
  at::Tensor items;    ///< [B, L] int64, right-padded with 0; the last max_length items before the target
  at::Tensor lengths;  ///< [B] int64, >= 1 (0 only for a session of one item under `hold_out_last`)
  at::Tensor targets;  ///< [B] int64, the held-out last item (0 when not held out)
  FeatureMap features; ///< the side features of the same positions as `items` (never the target's own)
};

/// Training sequences and what goes with them.
struct TrainingBatch {
  at::Tensor items;         ///< [B, L] int64 right-padded with 0; the model decides what to predict from them
  FeatureMap features;      ///< side features aligned with `items`
  FeatureMap task_targets;  ///< session-task targets, [B] float32
};

/// One slice of a session: positions [begin, end) of row `row`.
struct SessionSlice {
  int64_t row = 0, begin = 0, end = 0;
};

/// Builds a PrefixBatch from `rows` of `table`. With `hold_out_last` the last item is the target
/// (sessions of length >= 2); without it, the whole session is the input (prediction).
PrefixBatch make_prefix_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t max_length,
                              bool hold_out_last, c10::Device device, const BatchColumns& columns = {});

/// Training sequences: the last `sequence_length` items of each session, [B, L] int64 right-padded with 0, with the
/// side columns `columns` asks for.
TrainingBatch make_training_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t sequence_length,
                                  c10::Device device, const BatchColumns& columns = {});

/// Adds to `features` the side features of `slices` ([B, L] right-padded lists, [B] session scalars) and, when
/// `task_targets` is given, the task targets. Throws InvalidInput naming the column and session for a column the
/// table lacks, a list not aligned with the items, an id outside the feature's cardinality or a non-finite value.
void add_side_columns(const schema::SessionTable& table, const std::vector<SessionSlice>& slices, int64_t L,
                      const BatchColumns& columns, c10::Device device, FeatureMap& features, FeatureMap* task_targets);

/// Moves a host tensor to `device` (through pinned memory for a GPU, so the copy overlaps running kernels).
at::Tensor to_device(const at::Tensor& host, c10::Device device);

}  // namespace seqrec::model

#pragma once
#include <c10/core/Device.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "seqrec/schema/session_dataset.h"

namespace seqrec::model {

/// Sessions with the last item held out: the evaluation and prediction input.
struct PrefixBatch {
  at::Tensor items;    ///< [B, L] int64, right-padded with 0; the last max_length items before the target
  at::Tensor lengths;  ///< [B] int64, >= 1 (0 only for a session of one item under `hold_out_last`)
  at::Tensor targets;  ///< [B] int64, the held-out last item (0 when not held out)
};

/// Builds a PrefixBatch from `rows` of `table`. With `hold_out_last` the last item is the target
/// (sessions of length >= 2); without it, the whole session is the input (prediction).
PrefixBatch make_prefix_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t max_length,
                              bool hold_out_last, c10::Device device);

/// Training sequences: the last `sequence_length` items of each session, [B, L] int64 right-padded with 0.
/// The model decides what to predict from them (shifted targets, masks, ...).
at::Tensor make_training_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t sequence_length,
                               c10::Device device);

}  // namespace seqrec::model

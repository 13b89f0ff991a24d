#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace seqrec::model {

/// The four training objectives of Transformers4Rec (DESIGN.md §3).
enum class MaskingScheme { kClm, kMlm, kPlm, kRtd };

/// "clm" | "mlm" | "plm" | "rtd"; throws InvalidInput otherwise.
MaskingScheme parse_masking_scheme(const std::string& name);

/// What a masking scheme gives the model for one batch. Padding is item id 0 and never masked; a position is
/// padding when its id is 0 and it is not `masked` (an appended [MASK] position has id 0 and is masked).
struct MaskedBatch {
  at::Tensor inputs;          ///< [B, L] int64 item ids fed to the input block
  at::Tensor masked;          ///< [B, L] bool: the input block replaces these by the learnable [MASK] embedding
  at::Tensor targets;         ///< [B, L] int64: the item to predict at each position, 0 = no loss there
  at::Tensor perm_mask;       ///< plm only: [B, L, L] bool, true where query i must not see key j (i's own
                              ///< position included for masked i: the content stream adds itself back)
  at::Tensor target_mapping;  ///< plm only: [B, P, L] float, row p one-hot at the p-th masked position (or all 0)
  at::Tensor mapped_targets;  ///< plm only: [B, P] int64, the item at each mapped position (0 for an empty row)

  /// [B, L] bool: padding positions (id 0 and not masked).
  at::Tensor padding() const;
};

/// Causal LM: predict items[t+1] from items[..t]. items: [B, L+1] -> inputs [B, L], targets [B, L].
MaskedBatch mask_clm(const at::Tensor& items);

/// BERT4Rec-style masking: each real item masked with `probability`; in every session of >= 2 items at least one
/// item is masked and at least one kept (a one-item session has its item masked). Targets are the masked items.
MaskedBatch mask_mlm(const at::Tensor& items, double probability);

/// XLNet permutation LM over sessions: spans of 1..max_span_length items, each in a context of
/// span / probability items, are the targets (>= 1 masked and 1 kept per session of >= 2 items); a random
/// factorisation order over the masked items gives the permutation mask; the target mapping selects them.
MaskedBatch mask_plm(const at::Tensor& items, double probability, int64_t max_span_length);

/// Inference for mlm/plm/rtd: appends a [MASK] position after each session's last item. items [B, L],
/// lengths [B] -> inputs [B, L+1] with masked[b][lengths[b]] true; plm fields are set so that only the
/// appended position is predicted and no position sees it.
MaskedBatch mask_last_for_inference(const at::Tensor& items, const at::Tensor& lengths, bool permutation);

/// ELECTRA's replaced-token detection inputs.
struct RtdBatch {
  at::Tensor corrupted;  ///< [B, L] int64: items with the masked positions replaced by `replacements`
  at::Tensor labels;     ///< [B, L] float: 1 where the corrupted item differs from the original, else 0
  at::Tensor weights;    ///< [B, L] float: 1 on real (non-padding) positions, 0 on padding
};

/// Replaces the masked positions of `items` by `replacements` ([B, L] int64; other positions ignored).
/// A replacement equal to the original item is labelled 0 ("original"), as in ELECTRA.
RtdBatch make_rtd_batch(const at::Tensor& items, const at::Tensor& masked, const at::Tensor& replacements);

/// Replacements drawn uniformly from the batch's real items, ids >= first_item_id (rtd_sample_from_batch): [B, L] int64.
at::Tensor sample_replacements_from_batch(const at::Tensor& items, int64_t first_item_id);

}  // namespace seqrec::model

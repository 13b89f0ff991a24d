#include "seqrec/model/sequence_model.h"

#include <torch/nn/functional/loss.h>
#include <torch/serialize/input-archive.h>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"
#include "seqrec/model/electra.h"

namespace seqrec::model {

namespace F = torch::nn::functional;

namespace {
void throw_if_invalid(const ModelConfig& config) {
  auto problems = config.problems();
  if (problems.empty()) return;
  std::string msg = "invalid model config:";
  for (const auto& p : problems) msg += "\n  - " + p;
  throw InvalidInput(msg);
}
}  // namespace

SequenceModelImpl::SequenceModelImpl(const ModelConfig& config) : config_(config), resolved_(config.resolved()) {
  throw_if_invalid(config_);
  scheme_ = parse_masking_scheme(resolved_.masking.scheme);
  input = register_module("input", InputBlock(resolved_));
  body = register_module("body", make_body(resolved_));
  head = register_module("head", NextItemHead(resolved_, input->item_embedding));
  if (!resolved_.tasks.empty()) {
    tasks = register_module("tasks", torch::nn::ModuleList());
    for (const auto& t : resolved_.tasks) tasks->push_back(SessionTaskHead(t, resolved_.d_model));
  }
}

int64_t SequenceModelImpl::training_sequence_length() const {
  // clm shifts by one; the masked schemes score max_length items plus an appended [MASK] at inference, so they
  // train on max_length + 1 positions too (else the last position embedding would never be trained).
  return resolved_.max_length + 1;
}

torch::Tensor SequenceModelImpl::encode(const MaskedBatch& batch, const FeatureMap& features, const torch::Tensor& query_rows) {
  SEQREC_CHECK(batch.inputs.dim() == 2, "model input must be [batch, length], got ", batch.inputs.sizes());
  SEQREC_CHECK(batch.inputs.size(1) <= resolved_.max_length + 1, "sequence length ", batch.inputs.size(1),
               " exceeds the model's max_length ", resolved_.max_length);
  BodyInput in;
  in.hidden = input(batch.inputs, batch.masked, features);
  in.padding = batch.padding();
  in.causal = scheme_ == MaskingScheme::kClm;
  in.perm_mask = batch.perm_mask;
  in.target_mapping = batch.target_mapping;
  in.query_rows = query_rows;
  return body->forward(in);
}

torch::Tensor SequenceModelImpl::item_loss(const torch::Tensor& hidden, const torch::Tensor& targets) {
  // Null and OOV targets (hashed buckets included) cannot be predicted (their logits are -inf): ignored like padding.
  auto keep = targets.ge(resolved_.first_item_id);
  auto rows = hidden.reshape({-1, hidden.size(-1)}).index({keep.reshape({-1})});
  return head->loss(rows, targets.masked_select(keep));
}

torch::Tensor SequenceModelImpl::training_loss(const TrainingBatch& training) {
  const auto& items = training.items;
  const auto& features = training.features;
  const auto& task_targets = training.task_targets;
  MaskedBatch batch;
  switch (scheme_) {
    case MaskingScheme::kClm: batch = mask_clm(items); break;
    case MaskingScheme::kPlm:
      batch = mask_plm(items, resolved_.masking.plm_probability, resolved_.masking.max_span_length);
      break;
    default: batch = mask_mlm(items, resolved_.masking.mlm_probability); break;
  }
  FeatureMap shifted = features;
  if (scheme_ == MaskingScheme::kClm)  // the inputs are items[:, :-1]; list features follow them
    for (auto& [name, values] : shifted)
      if (values.dim() == 2) values = values.slice(1, 0, values.size(1) - 1);
  auto hidden = encode(batch, shifted);
  auto loss = resolved_.head.weight *
              item_loss(hidden, scheme_ == MaskingScheme::kPlm ? batch.mapped_targets : batch.targets);
  if (scheme_ == MaskingScheme::kRtd) loss = loss + rtd_loss(batch, shifted, hidden);
  if (tasks) {
    SEQREC_CHECK(scheme_ != MaskingScheme::kPlm, "session-level tasks need a masking scheme other than plm");
    auto padding = batch.padding();
    for (size_t i = 0; i < tasks->size(); ++i) {
      auto task = tasks[i]->as<SessionTaskHead>();
      auto it = task_targets.find(task->task().target);
      SEQREC_CHECK(it != task_targets.end(), "task target column '", task->task().target, "' is not in the batch");
      if (task->task().type == TaskType::kBinary)
        SEQREC_CHECK((it->second.eq(0) | it->second.eq(1)).all().item<bool>(), "binary task target '", task->task().target,
                     "' holds a value other than 0 or 1; use a regression task or make the column 0/1 in the workflow");
      loss = loss + task->task().weight * task->loss(hidden, padding, it->second);
    }
  }
  return loss;
}

torch::Tensor SequenceModelImpl::rtd_loss(const MaskedBatch& batch, const FeatureMap& features, const torch::Tensor& main_hidden) {
  auto electra = std::dynamic_pointer_cast<ElectraBodyImpl>(body);
  SEQREC_ASSERT(electra);
  BodyInput in;
  in.hidden = input(batch.inputs, batch.masked, features);
  in.padding = batch.padding();
  // The generator: an mlm of its own (the discriminator's loss when tied), whose samples replace the masked items.
  auto generated = electra->generator ? electra->generate(in) : main_hidden;
  auto loss = torch::zeros({}, main_hidden.options());
  if (electra->generator) loss = loss + resolved_.masking.rtd_generator_weight * item_loss(generated, batch.targets);
  torch::Tensor replacements;
  {
    torch::NoGradGuard no_grad;
    if (resolved_.masking.rtd_sample_from_batch) {
      replacements = sample_replacements_from_batch(batch.inputs, resolved_.first_item_id);
    } else {
      auto probabilities = torch::softmax(head->logits(generated.detach()), -1);
      replacements = torch::multinomial(probabilities.reshape({-1, probabilities.size(-1)}), 1, false, step_generator()).view(batch.inputs.sizes());
    }
  }
  auto rtd = make_rtd_batch(batch.inputs, batch.masked, replacements);
  BodyInput corrupted;
  corrupted.hidden = input(rtd.corrupted, torch::Tensor(), features);
  corrupted.padding = batch.padding();
  auto logits = electra->replaced_logits(electra->forward(corrupted));
  auto bce = F::binary_cross_entropy_with_logits(logits, rtd.labels, F::BinaryCrossEntropyWithLogitsFuncOptions()
                                                                          .weight(rtd.weights).reduction(torch::kSum)) /
             rtd.weights.sum().clamp_min(1.0);
  return loss + resolved_.masking.rtd_discriminator_weight * bce;
}

torch::Tensor SequenceModelImpl::next_item_hidden(const PrefixBatch& prefix) {
  const auto& items = prefix.items;
  const auto& lengths = prefix.lengths;
  if (scheme_ == MaskingScheme::kClm) {
    MaskedBatch batch;
    batch.inputs = items;
    batch.masked = torch::zeros_like(items, items.options().dtype(torch::kBool));
    const auto last = (lengths - 1).clamp_min(0);
    auto hidden = encode(batch, prefix.features, last);
    if (hidden.size(1) == 1) return hidden.squeeze(1);  // the body computed only the last positions
    return hidden.gather(1, last.view({-1, 1, 1}).expand({hidden.size(0), 1, hidden.size(2)})).squeeze(1);
  }
  // The appended [MASK] position has no features of its own: the input block pads them, then masks the whole vector.
  auto batch = mask_last_for_inference(items, lengths, scheme_ == MaskingScheme::kPlm);
  auto hidden = encode(batch, prefix.features);
  if (scheme_ == MaskingScheme::kPlm) return hidden.squeeze(1);
  auto position = lengths.clamp(0, items.size(1)).view({-1, 1, 1}).expand({hidden.size(0), 1, hidden.size(2)});
  return hidden.gather(1, position).squeeze(1);
}

torch::Tensor SequenceModelImpl::next_item_scores(const PrefixBatch& batch) {
  auto scores = head->logits(next_item_hidden(batch));
  return resolved_.head.repeat_bonus != 0 ? head->add_repeat_bonus(scores, batch.items, batch.lengths) : scores;
}

std::pair<torch::Tensor, torch::Tensor> SequenceModelImpl::next_item_top_k(const PrefixBatch& batch, int64_t k) {
  auto hidden = next_item_hidden(batch);
  return resolved_.head.repeat_bonus != 0 ? head->top_k_with_repeats(hidden, batch.items, batch.lengths, k)
                                          : head->top_k(hidden, k);
}

std::vector<torch::Tensor> SequenceModelImpl::task_logits(const PrefixBatch& prefix) {
  std::vector<torch::Tensor> out;
  if (!tasks) return out;
  MaskedBatch batch;
  batch.inputs = prefix.items;
  batch.masked = torch::zeros_like(prefix.items, prefix.items.options().dtype(torch::kBool));
  auto hidden = encode(batch, prefix.features);
  for (const auto& task : *tasks) out.push_back(task->as<SessionTaskHead>()->forward(hidden, batch.padding()));
  return out;
}

std::vector<torch::Tensor> SequenceModelImpl::task_outputs(const PrefixBatch& batch) {
  auto out = task_logits(batch);
  for (size_t i = 0; i < out.size(); ++i)
    if (resolved_.tasks[i].type == TaskType::kBinary) out[i] = torch::sigmoid(out[i]);
  return out;
}

void SequenceModelImpl::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive probe;
  if (resolved_.architecture != Architecture::kGpt2 || archive.try_read("input", probe)) {
    torch::nn::Module::load(archive);
    return;
  }
  // seqrec 0.1 wrote a flat GPT-2: item_embedding, position_embedding, blocks, ln_final, reserved_bias.
  torch::serialize::InputArchive part;
  archive.read("item_embedding", part);
  input->item_embedding->load(part);
  for (const auto& child : body->named_children()) {
    if (!archive.try_read(child.key(), part)) continue;
    child.value()->load(part);
  }
  archive.read("reserved_bias", head->reserved_bias, /*is_buffer=*/true);
}

}  // namespace seqrec::model

#include "seqrec/model/head.h"

#include <c10/core/GradMode.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>

#include <cmath>
#include <limits>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"
#include "seqrec/model/packed_items.h"

namespace seqrec::model {

namespace F = torch::nn::functional;

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

NextItemHeadImpl::NextItemHeadImpl(const ModelConfig& c, torch::nn::Embedding item_embedding)
    : config_(c.head), num_items_(c.num_items), first_item_id_(c.first_item_id), item_embedding_(std::move(item_embedding)) {
  const int64_t E = item_embedding_->weight.size(1);
  if (c.head.weight_tying) {
    if (E != c.d_model) projection = register_module("projection", torch::nn::Linear(c.d_model, E));
  } else {
    output = register_module("output", torch::nn::Linear(torch::nn::LinearOptions(c.d_model, c.num_items).bias(false)));
  }
  for (auto& p : parameters()) {
    torch::NoGradGuard no_grad;
    p.dim() > 1 ? torch::nn::init::normal_(p, 0.0, 0.02) : p.zero_();
  }
  if (c.head.output_bias) bias = register_parameter("bias", torch::zeros({c.num_items}));
  reserved_bias = register_buffer("reserved_bias", torch::zeros({c.num_items}));
  reserved_bias.slice(0, 0, first_item_id_).fill_(kNegInf);
}

torch::Tensor NextItemHeadImpl::project(const torch::Tensor& hidden) { return projection ? projection(hidden) : hidden; }

torch::Tensor NextItemHeadImpl::unit(const torch::Tensor& vectors) const {
  return config_.normalize ? F::normalize(vectors, F::NormalizeFuncOptions().dim(-1).eps(1e-12)) : vectors;
}

torch::Tensor NextItemHeadImpl::item_vectors(const torch::Tensor& ids) {
  return unit(output ? torch::embedding(output->weight, ids) : item_embedding_(ids));
}

torch::Tensor NextItemHeadImpl::logits(const torch::Tensor& hidden) {
  auto scores = config_.normalize
                    ? torch::matmul(unit(output ? hidden : project(hidden)),
                                    unit(output ? output->weight : item_embedding_->weight).t())
                    : output ? output(hidden) : torch::matmul(project(hidden), item_embedding_->weight.t());
  if (bias.defined()) scores = scores + bias;
  return scores / config_.temperature + reserved_bias;
}

std::pair<torch::Tensor, torch::Tensor> NextItemHeadImpl::top_k(const torch::Tensor& hidden, int64_t k) {
  if (hidden.device().is_cpu() && hidden.scalar_type() == torch::kFloat && !c10::GradMode::is_enabled()) {
    const torch::Tensor vectors = output ? output->weight : item_embedding_->weight;
    const torch::Tensor linear_bias = output && output->bias.defined() ? output->bias : torch::Tensor();
    std::vector<std::pair<const void*, int64_t>> sources;
    for (const auto& t : {vectors, linear_bias, bias})
      sources.emplace_back(t.defined() ? t.data_ptr() : nullptr, t.defined() ? t._version() : 0);
    std::shared_ptr<const PackedItems> packed;
    {
      std::lock_guard<std::mutex> lock(*packed_mutex_);
      if (!packed_.items || packed_.sources != sources) {
        torch::Tensor bias_sum = linear_bias;
        if (bias.defined()) bias_sum = bias_sum.defined() ? bias_sum + bias : bias;
        packed_ = {sources, std::make_shared<PackedItems>(unit(vectors), bias_sum, /*first=*/first_item_id_)};
      }
      packed = packed_.items;
    }
    return packed->top_k(unit(output ? hidden : project(hidden)), static_cast<float>(config_.temperature), k);
  }
  auto scores = logits(hidden);
  auto [values, ids] = scores.topk(std::min(k, scores.size(1) - first_item_id_), /*dim=*/1);
  return {values, ids};
}

torch::Tensor NextItemHeadImpl::candidate_logits(const torch::Tensor& hidden, const torch::Tensor& candidates) {
  auto h = unit(output ? hidden : project(hidden));
  auto vectors = item_vectors(candidates);  // [C, E] or [M, C, E]
  auto scores = candidates.dim() == 1 ? torch::matmul(h, vectors.t()) : torch::matmul(vectors, h.unsqueeze(-1)).squeeze(-1);
  if (bias.defined()) scores = scores + bias.index_select(0, candidates.reshape({-1})).view(candidates.sizes());
  return scores / config_.temperature;
}

torch::Tensor NextItemHeadImpl::sampled_softmax_loss(const torch::Tensor& hidden, const torch::Tensor& targets,
                                                     const torch::Tensor& negatives, const torch::Tensor& log_q,
                                                     const torch::Tensor& target_log_q) {
  // Every logit of the sampled softmax is corrected by its log expected count, the positive's too (Yi et al.,
  // RecSys'19; TensorFlow's sampled_softmax_loss with remove_accidental_hits).
  auto positive = candidate_logits(hidden, targets.unsqueeze(1)) - target_log_q.view({-1, 1});  // [M, 1]
  auto negative = candidate_logits(hidden, negatives) - log_q.view({1, -1});                   // [M, S]
  // A sampled negative that is the target itself ("accidental hit") must not push the target down.
  negative = negative.masked_fill(negatives.view({1, -1}).eq(targets.view({-1, 1})), kNegInf);
  auto log_p = torch::log_softmax(torch::cat({positive, negative}, 1), 1);
  auto nll = -log_p.select(1, 0);
  if (config_.label_smoothing == 0.0) return nll.mean();
  // Smoothing spreads over the real candidates only: a masked hit has log p = -inf.
  auto valid = ~torch::isinf(log_p);
  auto spread = -log_p.masked_fill(~valid, 0.0).sum(1) / valid.sum(1).to(log_p.dtype());
  return ((1.0 - config_.label_smoothing) * nll + config_.label_smoothing * spread).mean();
}

torch::Tensor NextItemHeadImpl::loss(const torch::Tensor& hidden, const torch::Tensor& targets) {
  if (targets.numel() == 0) return hidden.sum() * 0.0;
  if (config_.loss == HeadLoss::kBce) {
    // SASRec: each positive against num_negatives uniform negatives, accidental hits ignored.
    auto negatives = torch::randint(first_item_id_, num_items_, {targets.size(0), config_.num_negatives}, step_generator(), targets.options());
    auto positive = candidate_logits(hidden, targets.unsqueeze(1)).squeeze(1);
    auto negative = candidate_logits(hidden, negatives);
    auto keep = negatives.ne(targets.unsqueeze(1)).to(negative.dtype());
    auto neg_loss = (F::softplus(negative) * keep).sum(1);  // -log(1 - sigmoid(x)) = softplus(x)
    return (F::softplus(-positive) + neg_loss).mean();
  }
  if (config_.sampled_softmax) {
    if (config_.in_batch_negatives) {
      // The other targets of the batch are the negatives; logQ is each one's share of the batch.
      auto [unique, inverse, counts] = torch::_unique2(targets, /*sorted=*/false, /*return_inverse=*/true, /*return_counts=*/true);
      const auto share = (counts.to(hidden.dtype()) / targets.size(0)).log();
      return sampled_softmax_loss(hidden, targets, unique, share, share.index_select(0, inverse));
    }
    auto [negatives, log_q] = sample_log_uniform(num_items_, first_item_id_, config_.num_negatives, targets.device());
    const auto target_log_q = log_uniform_log_q(targets, num_items_, first_item_id_, config_.num_negatives);
    return sampled_softmax_loss(hidden, targets, negatives, log_q.to(hidden.dtype()), target_log_q.to(hidden.dtype()));
  }
  // Over the scorable ids only: with label smoothing the -inf logits of the reserved ids would make the loss infinite.
  return F::cross_entropy(logits(hidden).slice(1, first_item_id_), targets - first_item_id_,
                          F::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing));
}

namespace {
/// The scorable history positions of items [B, L] right-padded to lengths [B]: [B, L] bool.
torch::Tensor history_mask(const torch::Tensor& items, const torch::Tensor& lengths, int64_t first_item_id) {
  return items.ge(first_item_id) & torch::arange(items.size(1), items.options()).view({1, -1}).lt(lengths.view({-1, 1}));
}
}  // namespace

torch::Tensor NextItemHeadImpl::add_repeat_bonus(const torch::Tensor& logits, const torch::Tensor& items, const torch::Tensor& lengths) {
  auto bonus = history_mask(items, lengths, first_item_id_).to(logits.dtype()) * config_.repeat_bonus;
  // scatter (not scatter_add) keeps one bonus per item however often it was seen; padding writes 0 onto id 0.
  auto onto = torch::zeros_like(logits).scatter(1, items, bonus);
  return logits + onto;
}

std::pair<torch::Tensor, torch::Tensor> NextItemHeadImpl::top_k_with_repeats(const torch::Tensor& hidden, const torch::Tensor& items,
                                                                             const torch::Tensor& lengths, int64_t k) {
  const int64_t L = items.size(1);
  auto real = history_mask(items, lengths, first_item_id_);
  auto same = items.unsqueeze(2).eq(items.unsqueeze(1));                                                  // [B, L, L]
  auto earlier = (same & torch::ones({L, L}, items.options().dtype(torch::kBool)).tril(-1)).any(2);     // a copy sits before
  auto history = (candidate_logits(hidden, items) + config_.repeat_bonus)
                     .masked_fill(~(real & ~earlier), kNegInf);
  auto [values, ids] = top_k(hidden, k + L);
  auto in_history = (ids.unsqueeze(2).eq(items.unsqueeze(1)) & real.unsqueeze(1)).any(2);
  auto all_values = torch::cat({values.masked_fill(in_history, kNegInf), history}, 1);
  auto all_ids = torch::cat({ids, items}, 1);
  auto [best, at] = all_values.topk(std::min(k, num_items_ - first_item_id_), 1);
  return {best, all_ids.gather(1, at)};
}

torch::Tensor log_uniform_log_q(const torch::Tensor& ids, int64_t num_items, int64_t first_item_id, int64_t num_samples) {
  const double range = static_cast<double>(num_items - first_item_id);
  auto k = (ids - first_item_id).to(torch::kDouble);
  auto p = torch::log((k + 2.0) / (k + 1.0)) / std::log(range + 1.0);
  return torch::log(p * static_cast<double>(num_samples)).to(torch::kFloat);
}

std::pair<torch::Tensor, torch::Tensor> sample_log_uniform(int64_t num_items, int64_t first_item_id, int64_t num_samples,
                                                           c10::Device device) {
  const double range = static_cast<double>(num_items - first_item_id);
  auto u = torch::rand({num_samples}, step_generator(), torch::TensorOptions().dtype(torch::kDouble).device(device));
  auto k = (torch::exp(u * std::log(range + 1.0)) - 1.0).floor().clamp(0, range - 1);
  auto p = torch::log((k + 2.0) / (k + 1.0)) / std::log(range + 1.0);
  return {k.to(torch::kLong) + first_item_id, torch::log(p * static_cast<double>(num_samples)).to(torch::kFloat)};
}

torch::Tensor summarize(const torch::Tensor& hidden, const torch::Tensor& padding, SessionSummary summary) {
  auto real = (~padding).to(hidden.dtype());
  if (summary == SessionSummary::kFirst) return hidden.select(1, 0);
  if (summary == SessionSummary::kMean) return (hidden * real.unsqueeze(-1)).sum(1) / real.sum(1, true).clamp_min(1.0);
  auto last = (real.sum(1).to(torch::kLong) - 1).clamp_min(0).view({-1, 1, 1}).expand({hidden.size(0), 1, hidden.size(2)});
  return hidden.gather(1, last).squeeze(1);
}

SessionTaskHeadImpl::SessionTaskHeadImpl(const TaskConfig& task, int64_t d_model) : task_(task) {
  hidden_layer = register_module("hidden_layer", torch::nn::Linear(d_model, d_model));
  output = register_module("output", torch::nn::Linear(d_model, 1));
}

torch::Tensor SessionTaskHeadImpl::forward(const torch::Tensor& hidden, const torch::Tensor& padding) {
  return output(torch::relu(hidden_layer(summarize(hidden, padding, task_.summary)))).squeeze(-1);
}

torch::Tensor SessionTaskHeadImpl::loss(const torch::Tensor& hidden, const torch::Tensor& padding, const torch::Tensor& targets) {
  auto predicted = forward(hidden, padding);
  auto t = targets.to(predicted.dtype());
  return task_.type == TaskType::kBinary ? F::binary_cross_entropy_with_logits(predicted, t) : F::mse_loss(predicted, t);
}

}  // namespace seqrec::model

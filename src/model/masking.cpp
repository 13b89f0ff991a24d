#include "seqrec/model/masking.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"

namespace seqrec::model {

namespace {

/// A std generator seeded from LibTorch's, so seed_everything makes the span and order draws repeat.
std::mt19937_64 torch_seeded_rng() {
  return std::mt19937_64(static_cast<uint64_t>(at::randint(std::numeric_limits<int64_t>::max(), {1}, step_generator(), at::kLong).item<int64_t>()));
}

/// One random real position per row (rows with none get position 0): [B] int64.
at::Tensor random_position(const at::Tensor& allowed) {
  auto noise = at::rand(allowed.sizes(), step_generator(), allowed.options().dtype(at::kFloat)).masked_fill(~allowed, -1.0);
  return noise.argmax(1);
}

}  // namespace

MaskingScheme parse_masking_scheme(const std::string& name) {
  if (name == "clm") return MaskingScheme::kClm;
  if (name == "mlm") return MaskingScheme::kMlm;
  if (name == "plm") return MaskingScheme::kPlm;
  if (name == "rtd") return MaskingScheme::kRtd;
  throw InvalidInput("masking.scheme '" + name + "' is unknown; use clm, mlm, plm or rtd");
}

at::Tensor MaskedBatch::padding() const { return inputs.eq(0) & ~masked; }

MaskedBatch mask_clm(const at::Tensor& items) {
  SEQREC_CHECK(items.dim() == 2 && items.size(1) >= 2, "clm needs [batch, length >= 2] items, got ", items.sizes());
  MaskedBatch m;
  m.inputs = items.slice(1, 0, items.size(1) - 1);
  m.masked = at::zeros_like(m.inputs, m.inputs.options().dtype(at::kBool));
  m.targets = items.slice(1, 1);
  return m;
}

MaskedBatch mask_mlm(const at::Tensor& items, double probability) {
  SEQREC_CHECK(items.dim() == 2, "mlm needs [batch, length] items, got ", items.sizes());
  auto real = items.gt(0);
  auto lengths = real.sum(1);
  auto masked = (at::rand(items.sizes(), step_generator(), items.options().dtype(at::kFloat)) < probability) & real;
  // Every session gets at least one target ...
  auto none = masked.sum(1).eq(0) & lengths.ge(1);
  auto pick = random_position(real);
  masked.scatter_(1, pick.unsqueeze(1), masked.gather(1, pick.unsqueeze(1)) | none.unsqueeze(1));
  // ... and keeps at least one item to predict it from.
  auto all = masked.sum(1).eq(lengths) & lengths.ge(2);
  auto keep = random_position(masked);
  masked.scatter_(1, keep.unsqueeze(1), masked.gather(1, keep.unsqueeze(1)) & ~all.unsqueeze(1));
  MaskedBatch m;
  m.inputs = items;
  m.masked = masked;
  m.targets = items.masked_fill(~masked, 0);
  return m;
}

MaskedBatch mask_plm(const at::Tensor& items, double probability, int64_t max_span_length) {
  SEQREC_CHECK(items.dim() == 2, "plm needs [batch, length] items, got ", items.sizes());
  auto cpu_items = items.to(at::kCPU).contiguous();
  const int64_t B = cpu_items.size(0), L = cpu_items.size(1);
  const int64_t* ids = cpu_items.data_ptr<int64_t>();
  auto rng = torch_seeded_rng();
  std::vector<uint8_t> masked(B * L, 0), perm(B * L * L, 0);
  std::vector<std::vector<int64_t>> targets_of(B);
  int64_t P = 1;
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = 0;
    while (n < L && ids[b * L + n] != 0) ++n;
    uint8_t* row = masked.data() + b * L;
    for (int64_t cur = 0; cur < n;) {
      const int64_t span = std::uniform_int_distribution<int64_t>(1, max_span_length)(rng);
      const int64_t context = std::max<int64_t>(span, static_cast<int64_t>(span / probability));
      const int64_t start = cur + std::uniform_int_distribution<int64_t>(0, context - span)(rng);
      for (int64_t t = start; t < std::min(start + span, n); ++t) row[t] = 1;
      cur += context;
    }
    const int64_t count = std::accumulate(row, row + n, int64_t{0});
    if (n >= 1 && count == 0) row[std::uniform_int_distribution<int64_t>(0, n - 1)(rng)] = 1;
    if (n >= 2 && count == n) row[std::uniform_int_distribution<int64_t>(0, n - 1)(rng)] = 0;
    // A random factorisation order over the targets; context items come first (rank -1).
    for (int64_t t = 0; t < n; ++t)
      if (row[t]) targets_of[b].push_back(t);
    std::vector<int64_t> order = targets_of[b], rank(L, -1);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<int64_t>(r);
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < L; ++j) perm[(b * L + i) * L + j] = row[j] && rank[i] <= rank[j];
    P = std::max<int64_t>(P, static_cast<int64_t>(targets_of[b].size()));
  }
  std::vector<float> mapping(B * P * L, 0.0f);
  std::vector<int64_t> mapped(B * P, 0);
  for (int64_t b = 0; b < B; ++b)
    for (size_t p = 0; p < targets_of[b].size(); ++p) {
      mapping[(b * P + p) * L + targets_of[b][p]] = 1.0f;
      mapped[b * P + p] = ids[b * L + targets_of[b][p]];
    }
  const auto device = items.device();
  MaskedBatch m;
  m.inputs = items;
  m.masked = at::from_blob(masked.data(), {B, L}, at::kByte).to(device, at::kBool);
  m.targets = items.masked_fill(~m.masked, 0);
  m.perm_mask = at::from_blob(perm.data(), {B, L, L}, at::kByte).to(device, at::kBool);
  m.target_mapping = at::from_blob(mapping.data(), {B, P, L}, at::kFloat).to(device, /*non_blocking=*/false, /*copy=*/true);
  m.mapped_targets = at::from_blob(mapped.data(), {B, P}, at::kLong).to(device, /*non_blocking=*/false, /*copy=*/true);
  return m;
}

MaskedBatch mask_last_for_inference(const at::Tensor& items, const at::Tensor& lengths, bool permutation) {
  const int64_t B = items.size(0), L = items.size(1) + 1;
  MaskedBatch m;
  m.inputs = at::cat({items, at::zeros({B, 1}, items.options())}, 1);
  auto position = lengths.clamp(0, L - 1).view({B, 1});
  m.masked = at::zeros({B, L}, items.options().dtype(at::kBool)).scatter_(1, position, true);
  m.targets = at::zeros_like(m.inputs);
  if (permutation) {
    // Nobody sees the appended position; it sees every real item.
    m.perm_mask = m.masked.view({B, 1, L}).expand({B, L, L}).clone();
    m.target_mapping = m.masked.to(at::kFloat).view({B, 1, L});
    m.mapped_targets = at::zeros({B, 1}, items.options());
  }
  return m;
}

RtdBatch make_rtd_batch(const at::Tensor& items, const at::Tensor& masked, const at::Tensor& replacements) {
  RtdBatch r;
  r.corrupted = at::where(masked, replacements, items);
  auto real = items.gt(0) | masked;
  r.labels = (r.corrupted.ne(items) & real).to(at::kFloat);
  r.weights = real.to(at::kFloat);
  return r;
}

at::Tensor sample_replacements_from_batch(const at::Tensor& items, int64_t first_item_id) {
  auto pool = items.masked_select(items.ge(first_item_id));
  if (pool.numel() == 0) return items.clone();
  auto picks = at::randint(pool.numel(), items.sizes(), step_generator(), items.options());
  return pool.index_select(0, picks.view({-1})).view(items.sizes());
}

}  // namespace seqrec::model

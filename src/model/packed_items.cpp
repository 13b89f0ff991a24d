#include "seqrec/model/packed_items.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace {

constexpr int64_t kGroup = 16;  ///< items scored together: two 8-float AVX registers per query row
constexpr int64_t kRows = 6;    ///< query rows per tile: 12 accumulators hide the FMA latency, loads stay below the FMAs
/// 64 groups = 1,024 items; at E = 64 their packed vectors (256 KiB) stay in L2 while every row tile reads them.
constexpr int64_t kBlockGroups = 64;

struct Scored {
  float value;
  int64_t id;
};
/// Heap order with the worst candidate at the front: lower value, or the higher id on a tie.
bool better(const Scored& a, const Scored& b) { return a.value > b.value || (a.value == b.value && a.id < b.id); }

bool cpu_has_avx2() {
  static const bool ok =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return ok;
}

/// How many of the `blocks` leading blocks of 16 scores hold nothing >= floor (NaN never is).
__attribute__((target("avx2"))) int64_t blocks_below_avx2(const float* s, int64_t blocks, float floor) {
  const __m256 f = _mm256_set1_ps(floor);
  for (int64_t i = 0; i < blocks; ++i, s += 16) {
    const __m256 hit = _mm256_or_ps(_mm256_cmp_ps(_mm256_loadu_ps(s), f, _CMP_GE_OQ),
                                    _mm256_cmp_ps(_mm256_loadu_ps(s + 8), f, _CMP_GE_OQ));
    if (_mm256_movemask_ps(hit)) return i;
  }
  return blocks;
}
int64_t blocks_below(const float* s, int64_t blocks, float floor) {
  if (cpu_has_avx2()) return blocks_below_avx2(s, blocks, floor);
  for (int64_t i = 0; i < blocks; ++i, s += 16)
    for (int l = 0; l < 16; ++l)
      if (s[l] >= floor) return i;
  return blocks;
}

/// Keeps the k best of what it is offered. With `near` it also keeps, as candidates, every score offered
/// within `slack` of the k-th best at the time: a superset of those within `slack` of the final k-th best.
class TopK {
 public:
  explicit TopK(int64_t k, bool near = false, float slack = 0) : k_(static_cast<size_t>(k)), near_(near), slack_(slack) {
    heap_.reserve(k_);
  }
  /// Offers scores[0..n) for ids base..base+n; NaN counts as -inf.
  void offer(const float* scores, int64_t n, int64_t base) {
    // Once the heap is full most scores are below its worst: skip them 16 at a time.
    int64_t j = 0;
    while (heap_.size() == k_ && j + 16 <= n) {
      j += 16 * blocks_below(scores + j, (n - j) / 16, heap_.front().value - slack_);
      if (j + 16 > n) break;
      offer_each(scores + j, 16, base + j);
      j += 16;
    }
    offer_each(scores + j, n - j, base + j);
  }
  void offer_each(const float* scores, int64_t n, int64_t base) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = scores[j] == scores[j] ? scores[j] : -INFINITY;
      if (heap_.size() == k_) {
        if (!(v >= heap_.front().value - slack_)) continue;  // the common case: far below the k-th best so far
        if (near_) keep_near({v, base + j});
        if (!(v > heap_.front().value)) continue;
        std::pop_heap(heap_.begin(), heap_.end(), better);
        heap_.back() = {v, base + j};
        std::push_heap(heap_.begin(), heap_.end(), better);
      } else {
        if (near_) keep_near({v, base + j});
        heap_.push_back({v, base + j});
        std::push_heap(heap_.begin(), heap_.end(), better);
      }
    }
  }
  void merge(const TopK& other) {
    for (const auto& s : other.heap_) offer(&s.value, 1, s.id);
  }
  /// The k-th best so far, or -inf while fewer than k were offered.
  float kth() const { return heap_.size() == k_ ? heap_.front().value : -INFINITY; }
  const std::vector<Scored>& near() const { return nearby_; }
  /// Best first.
  std::vector<Scored> sorted() const {
    auto out = heap_;
    std::sort(out.begin(), out.end(), better);
    return out;
  }

 private:
  void keep_near(Scored s) {
    nearby_.push_back(s);
    if (nearby_.size() < prune_at_) return;
    const float floor = kth() - slack_;  // the threshold only rises: what falls below it now never qualifies again
    nearby_.erase(std::remove_if(nearby_.begin(), nearby_.end(), [&](const Scored& c) { return c.value < floor; }),
                  nearby_.end());
    prune_at_ = std::max(prune_at_, 2 * nearby_.size());
  }

  size_t k_;
  bool near_;
  float slack_;
  size_t prune_at_ = 4 * k_ + 64;
  std::vector<Scored> heap_;
  std::vector<Scored> nearby_;
};

/// v0, v1 = the 16 items' values at dimension e of one packed group, from floats or halves.
template <bool kHalf>
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void load_group(const void* group, int64_t e, __m256& v0,
                                                                                __m256& v1) {
  if constexpr (kHalf) {
    const auto* h = static_cast<const uint16_t*>(group) + e * kGroup;
    v0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
    v1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 8)));
  } else {
    const auto* f = static_cast<const float*>(group) + e * kGroup;
    v0 = _mm256_loadu_ps(f);
    v1 = _mm256_loadu_ps(f + 8);
  }
}

// scores[r][0..16) = q[r] · the 16 items of one packed group ([E][16]). The accumulators are named
// variables, not arrays: GCC spills __m256 arrays to the stack on every iteration.
#define SEQREC_FMA_ROW(r, k, lo, hi)                               \
  {                                                                \
    const __m256 x = _mm256_broadcast_ss(q + (r) * E + (k));       \
    lo = _mm256_fmadd_ps(x, v0, lo);                               \
    hi = _mm256_fmadd_ps(x, v1, hi);                               \
  }

/// 4 to 6 rows in one pass over the group: with 6, 12 accumulators hide the FMA latency and, per e,
/// 2 loads + 6 broadcasts feed 12 FMAs.
template <int R, bool kHalf>
__attribute__((target("avx2,fma,f16c"))) void score_group_rows(const float* q, int64_t E, const void* group,
                                                               float* scores, int64_t stride) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0, a4 = a0, b4 = a0,
         a5 = a0, b5 = a0;
  for (int64_t e = 0; e < E; ++e) {
    __m256 v0, v1;
    load_group<kHalf>(group, e, v0, v1);
    SEQREC_FMA_ROW(0, e, a0, b0)
    if constexpr (R > 1) SEQREC_FMA_ROW(1, e, a1, b1)
    if constexpr (R > 2) SEQREC_FMA_ROW(2, e, a2, b2)
    if constexpr (R > 3) SEQREC_FMA_ROW(3, e, a3, b3)
    if constexpr (R > 4) SEQREC_FMA_ROW(4, e, a4, b4)
    if constexpr (R > 5) SEQREC_FMA_ROW(5, e, a5, b5)
  }
  const __m256 out[12] = {a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5};
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(scores + r * stride, out[2 * r]);
    _mm256_storeu_ps(scores + r * stride + 8, out[2 * r + 1]);
  }
}

/// 1 to 3 rows: even and odd e in separate accumulators, so 4 to 12 chains hide the FMA latency (with 2 rows
/// and one accumulator pair per row the multi-row kernel ran at half the FMA throughput).
template <int R, bool kHalf>
__attribute__((target("avx2,fma,f16c"))) void score_group_few(const float* q, int64_t E, const void* group,
                                                              float* scores, int64_t stride) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0;  // even e
  __m256 c0 = a0, d0 = a0, c1 = a0, d1 = a0, c2 = a0, d2 = a0;                  // odd e
  __m256 v0, v1;
  int64_t e = 0;
  for (; e + 1 < E; e += 2) {
    load_group<kHalf>(group, e, v0, v1);
    SEQREC_FMA_ROW(0, e, a0, b0)
    if constexpr (R > 1) SEQREC_FMA_ROW(1, e, a1, b1)
    if constexpr (R > 2) SEQREC_FMA_ROW(2, e, a2, b2)
    load_group<kHalf>(group, e + 1, v0, v1);
    SEQREC_FMA_ROW(0, e + 1, c0, d0)
    if constexpr (R > 1) SEQREC_FMA_ROW(1, e + 1, c1, d1)
    if constexpr (R > 2) SEQREC_FMA_ROW(2, e + 1, c2, d2)
  }
  if (e < E) {
    load_group<kHalf>(group, e, v0, v1);
    SEQREC_FMA_ROW(0, e, a0, b0)
    if constexpr (R > 1) SEQREC_FMA_ROW(1, e, a1, b1)
    if constexpr (R > 2) SEQREC_FMA_ROW(2, e, a2, b2)
  }
  const __m256 out[6] = {_mm256_add_ps(a0, c0), _mm256_add_ps(b0, d0), _mm256_add_ps(a1, c1),
                         _mm256_add_ps(b1, d1), _mm256_add_ps(a2, c2), _mm256_add_ps(b2, d2)};
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(scores + r * stride, out[2 * r]);
    _mm256_storeu_ps(scores + r * stride + 8, out[2 * r + 1]);
  }
}
#undef SEQREC_FMA_ROW

void score_group_plain(const float* q, int64_t rows, int64_t E, const float* group, float* scores, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    float acc[kGroup] = {};
    for (int64_t e = 0; e < E; ++e)
      for (int64_t l = 0; l < kGroup; ++l) acc[l] += q[r * E + e] * group[e * kGroup + l];
    std::copy(acc, acc + kGroup, scores + r * stride);
  }
}

/// Scores rows x (groups of one block) into scores [rows][stride]; `groups` holds floats or (kHalf) halves.
template <bool kHalf>
void score_block(const float* q, int64_t rows, int64_t E, const void* groups, int64_t num_groups, float* scores,
                 int64_t stride, bool avx2) {
  constexpr int64_t kBytes = kHalf ? 2 : 4;
  for (int64_t g = 0; g < num_groups; ++g) {
    const void* group = static_cast<const char*>(groups) + g * E * kGroup * kBytes;
    float* out = scores + g * kGroup;
    if constexpr (!kHalf) {
      if (!avx2) {
        score_group_plain(q, rows, E, static_cast<const float*>(group), out, stride);
        continue;
      }
    }
    // Tiles of at most 6 rows, as even as possible (8 rows: 4 + 4, not 6 + 2).
    for (int64_t r = 0; r < rows;) {
      const int64_t left = rows - r, tiles = (left + kRows - 1) / kRows, n = (left + tiles - 1) / tiles;
      const float* qr = q + r * E;
      float* o = out + r * stride;
      switch (n) {
        case 6: score_group_rows<6, kHalf>(qr, E, group, o, stride); break;
        case 5: score_group_rows<5, kHalf>(qr, E, group, o, stride); break;
        case 4: score_group_rows<4, kHalf>(qr, E, group, o, stride); break;
        case 3: score_group_few<3, kHalf>(qr, E, group, o, stride); break;
        case 2: score_group_few<2, kHalf>(qr, E, group, o, stride); break;
        default: score_group_few<1, kHalf>(qr, E, group, o, stride); break;
      }
      r += n;
    }
  }
}

/// q · v in float, one fused multiply-add per e from 0 (as the 4-6-row kernels sum a lane): the half path's answer.
__attribute__((target("avx2,fma"))) float exact_dot(const float* q, const float* v, int64_t E) {
  float acc = 0.0f;
  for (int64_t e = 0; e < E; ++e) acc = std::fma(q[e], v[e], acc);
  return acc;
}

}  // namespace

PackedItems::PackedItems(const at::Tensor& vectors_in, const at::Tensor& bias_in, int64_t first)
    : first_(first) {
  SEQREC_ASSERT(vectors_in.dim() == 2 && vectors_in.device().is_cpu(), "PackedItems takes CPU vectors [N, E]");
  SEQREC_ASSERT(first >= 0, "PackedItems: first must be >= 0");
  at::NoGradGuard no_grad;
  const auto vectors = vectors_in.to(at::kFloat).contiguous();
  num_items_ = vectors.size(0);
  dim_ = vectors.size(1);
  const int64_t scored = std::max<int64_t>(0, num_items_ - first_);
  const int64_t groups = (scored + kGroup - 1) / kGroup;
  if (bias_in.defined()) bias_ = bias_in.to(at::kFloat).contiguous().clone();
  // [groups * 16, E], zero-padded, to [groups, E, 16].
  auto padded = at::zeros({groups * kGroup, dim_}, vectors.options());
  if (scored > 0) padded.slice(0, 0, scored).copy_(vectors.slice(0, first_));
  auto packed = padded.view({groups, kGroup, dim_}).transpose(1, 2).contiguous();
  const auto scored_bias = bias_.defined() ? bias_.slice(0, std::min(first_, num_items_)) : at::Tensor();
  const bool finite = scored > 0 && packed.isfinite().all().item<bool>() &&
                      (!scored_bias.defined() || scored_bias.isfinite().all().item<bool>());
  if (finite && dim_ > 0 && cpu_has_avx2()) {
    max_abs_ = packed.abs().max().item<float>();
    if (max_abs_ <= 65504.0f) {  // the largest half
      auto halves = packed.to(at::kHalf);
      half_error_ = (halves.to(at::kFloat) - packed).abs().max().item<float>();
      max_abs_bias_ = scored_bias.defined() && scored_bias.numel() > 0 ? scored_bias.abs().max().item<float>() : 0.0f;
      vectors_ = vectors.clone();
      packed_ = halves;
      half_ = true;
    }
  }
  if (!half_) packed_ = packed;
}

namespace {

/// One top_k call over the packed catalogue: the raw pointers and sizes, then three phases (the half path's slack per
/// query, the scan of every block into per-thread heaps, each row's final k).
struct TopKSearch {
  const float* q;
  int64_t B, E;
  const void* packed;
  const float* bias;    ///< [num_items] or null
  const float* vectors; ///< the float vectors, for the half path's exact rescoring; else null
  bool half, avx2;
  float temperature;
  int64_t first, num_items, groups, kk;
  std::vector<float> slack;       ///< per row: how far below the half k-th best a float top-k item can hide
  std::vector<char> every_item;   ///< per row: a non-finite query, whose bound means nothing: score every item in float

  int64_t scored() const { return std::max<int64_t>(0, num_items - first); }

  // Half path: a row's half-precision score (query · half(v) + bias) differs from the float one by at most D =
  // |q|_1 * half_error + the float rounding of both sums, so every item of the float top-k scores within 2D of
  // the half top-k's k-th best (k items score at least that minus D in float). The slack is 3D: margin for the
  // rounding of the threshold itself and of the division by the temperature.
  void bound_half_error(float half_error, float max_abs, float max_abs_bias) {
    slack.assign(B, 0.0f);
    every_item.assign(B, 0);
    if (!half) return;
    for (int64_t r = 0; r < B; ++r) {
      double q1 = 0;
      for (int64_t e = 0; e < E; ++e) q1 += std::fabs(q[r * E + e]);
      const double magnitude = q1 * max_abs + max_abs_bias;
      const double bound = q1 * half_error + (2.0 * E + 16.0) * std::ldexp(1.0, -24) * magnitude;
      every_item[r] = !std::isfinite(q1) || !std::isfinite(bound);
      slack[r] = every_item[r] ? 0.0f : static_cast<float>(3.0 * bound);
    }
  }

  /// The catalogue split into one contiguous part per thread, each scored into its own heaps: [parts][B].
  std::vector<std::vector<TopK>> scan() const {
    const int64_t blocks = (groups + kBlockGroups - 1) / kBlockGroups;
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), blocks));
    std::vector<std::vector<TopK>> heaps(parts);
    for (auto& part : heaps)
      for (int64_t r = 0; r < B; ++r) part.emplace_back(kk, half, slack[r]);
    at::parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
      std::vector<float> scores(B * kBlockGroups * kGroup);
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t blk = blocks * p / parts; blk < blocks * (p + 1) / parts; ++blk) scan_block(blk, scores, heaps[p]);
    });
    return heaps;
  }

  void scan_block(int64_t blk, std::vector<float>& scores, std::vector<TopK>& heaps) const {
    const int64_t stride = kBlockGroups * kGroup;
    const int64_t g0 = blk * kBlockGroups, ng = std::min(kBlockGroups, groups - g0);
    if (half)
      score_block<true>(q, B, E, static_cast<const uint16_t*>(packed) + g0 * E * kGroup, ng, scores.data(), stride, avx2);
    else
      score_block<false>(q, B, E, static_cast<const float*>(packed) + g0 * E * kGroup, ng, scores.data(), stride, avx2);
    const int64_t j0 = g0 * kGroup, n = std::min(ng * kGroup, scored() - j0);  // j: offset from first
    for (int64_t r = 0; r < B; ++r) {
      float* s = scores.data() + r * stride;
      if (half) {  // candidates are chosen before the temperature, which only rescales
        if (bias)
          for (int64_t j = 0; j < n; ++j) s[j] += bias[first + j0 + j];
      } else if (bias || temperature != 1.0f) {
        for (int64_t j = 0; j < n; ++j) s[j] = (s[j] + (bias ? bias[first + j0 + j] : 0.0f)) / temperature;
      }
      heaps[r].offer(s, n, first + j0);
    }
  }

  float exact_score(int64_t r, int64_t id) const {
    float v = exact_dot(q + r * E, vectors + id * E, E);
    if (bias) v += bias[id];
    return temperature != 1.0f ? v / temperature : v;
  }

  /// Row r's k best, best first: the merged heaps, or (half path) the near candidates rescored in float.
  std::vector<Scored> best(int64_t r, std::vector<std::vector<TopK>>& heaps) const {
    const auto parts = static_cast<int64_t>(heaps.size());
    if (!half) {
      for (int64_t p = 1; p < parts; ++p) heaps[0][r].merge(heaps[p][r]);
      return heaps[0][r].sorted();
    }
    TopK exact(kk);
    if (every_item[r]) {
      for (int64_t id = first; id < num_items; ++id) {
        const float v = exact_score(r, id);
        exact.offer(&v, 1, id);
      }
      return exact.sorted();
    }
    TopK approximate(kk);
    for (int64_t p = 0; p < parts; ++p) approximate.merge(heaps[p][r]);
    const float floor = approximate.kth() - slack[r];
    for (int64_t p = 0; p < parts; ++p)
      for (const auto& c : heaps[p][r].near())
        if (c.value >= floor) {
          const float v = exact_score(r, c.id);
          exact.offer(&v, 1, c.id);
        }
    return exact.sorted();
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> PackedItems::top_k(const at::Tensor& query_in, float temperature, int64_t k) const {
  SEQREC_ASSERT(query_in.dim() == 2 && query_in.size(1) == dim_ && query_in.device().is_cpu(),
                "PackedItems::top_k takes CPU queries [B, E]");
  SEQREC_ASSERT(k > 0 && temperature > 0, "PackedItems::top_k: bad k or temperature");
  const auto query = query_in.to(at::kFloat).contiguous();
  const int64_t B = query.size(0);
  const int64_t kk = std::min(k, std::max<int64_t>(0, num_items_ - first_));
  auto values = at::empty({B, kk}, query.options());
  auto ids = at::empty({B, kk}, query.options().dtype(at::kLong));
  if (B == 0 || kk == 0) return {values, ids};
  TopKSearch search{query.data_ptr<float>(), B, dim_, packed_.data_ptr(), bias_.defined() ? bias_.data_ptr<float>() : nullptr,
                    half_ ? vectors_.data_ptr<float>() : nullptr, half_, cpu_has_avx2(), temperature, first_, num_items_,
                    packed_.size(0), kk, {}, {}};
  search.bound_half_error(half_error_, max_abs_, max_abs_bias_);
  auto heaps = search.scan();
  float* out_v = values.data_ptr<float>();
  int64_t* out_i = ids.data_ptr<int64_t>();
  for (int64_t r = 0; r < B; ++r) {
    const auto best = search.best(r, heaps);
    for (int64_t j = 0; j < kk; ++j) {
      out_v[r * kk + j] = best[j].value;
      out_i[r * kk + j] = best[j].id;
    }
  }
  return {values, ids};
}

std::pair<at::Tensor, at::Tensor> top_k_inner_product(const at::Tensor& query, const at::Tensor& vectors,
                                                      const at::Tensor& bias, float temperature, int64_t k, int64_t first) {
  SEQREC_ASSERT(query.dim() == 2 && vectors.dim() == 2 && query.size(1) == vectors.size(1),
                "top_k_inner_product takes query [B, E] and vectors [N, E]");
  return PackedItems(vectors, bias, first).top_k(query, temperature, k);
}

}  // namespace seqrec::model

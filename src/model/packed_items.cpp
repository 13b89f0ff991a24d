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

/// Keeps the k best of what it is offered.
class TopK {
 public:
  explicit TopK(int64_t k) : k_(static_cast<size_t>(k)) { heap_.reserve(k_); }
  /// Offers scores[0..n) for ids base..base+n; NaN counts as -inf.
  void offer(const float* scores, int64_t n, int64_t base) {
    // Once the heap is full most scores are below its worst: skip 16 at a time on their maximum.
    int64_t j = 0;
    while (heap_.size() == k_ && j + 16 <= n) {
      const float threshold = heap_.front().value;
      float best = scores[j];
      for (int64_t l = 1; l < 16; ++l) best = std::max(best, scores[j + l]);
      if (best > threshold) offer_each(scores + j, 16, base + j);
      j += 16;
    }
    offer_each(scores + j, n - j, base + j);
  }
  void offer_each(const float* scores, int64_t n, int64_t base) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = scores[j];
      if (heap_.size() == k_) {
        if (!(v > heap_.front().value)) continue;  // the common case: below the k-th best so far
        std::pop_heap(heap_.begin(), heap_.end(), better);
        heap_.back() = {v, base + j};
        std::push_heap(heap_.begin(), heap_.end(), better);
      } else {
        heap_.push_back({v == v ? v : -INFINITY, base + j});
        std::push_heap(heap_.begin(), heap_.end(), better);
      }
    }
  }
  void merge(const TopK& other) {
    for (const auto& s : other.heap_) offer(&s.value, 1, s.id);
  }
  /// Best first.
  std::vector<Scored> sorted() const {
    auto out = heap_;
    std::sort(out.begin(), out.end(), better);
    return out;
  }

 private:
  size_t k_;
  std::vector<Scored> heap_;
};

// scores[r][0..16) = q[r] · the 16 items of one packed group ([E][16]). The accumulators are named
// variables, not arrays: GCC spills __m256 arrays to the stack on every iteration.
#define SEQREC_FMA_ROW(r, k, lo, hi)                               \
  {                                                                \
    const __m256 x = _mm256_broadcast_ss(q + (r) * E + (k));       \
    lo = _mm256_fmadd_ps(x, v0, lo);                               \
    hi = _mm256_fmadd_ps(x, v1, hi);                               \
  }

/// R <= 6 rows in one pass over the group: with 6, 12 accumulators hide the FMA latency and, per e,
/// 2 loads + 6 broadcasts feed 12 FMAs. Fewer rows (small batches) still read the group once.
template <int R>
__attribute__((target("avx2,fma"))) void score_group_rows(const float* q, int64_t E, const float* group, float* scores,
                                                          int64_t stride) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0, a4 = a0, b4 = a0,
         a5 = a0, b5 = a0;
  for (int64_t e = 0; e < E; ++e) {
    const __m256 v0 = _mm256_loadu_ps(group + e * kGroup), v1 = _mm256_loadu_ps(group + e * kGroup + 8);
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

/// One row: even and odd e in separate accumulators, four chains in flight.
__attribute__((target("avx2,fma"))) void score_group1(const float* q, int64_t E, const float* group, float* scores) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0;
  int64_t e = 0;
  for (; e + 1 < E; e += 2) {
    __m256 v0 = _mm256_loadu_ps(group + e * kGroup), v1 = _mm256_loadu_ps(group + e * kGroup + 8);
    SEQREC_FMA_ROW(0, e, a0, b0)
    v0 = _mm256_loadu_ps(group + (e + 1) * kGroup);
    v1 = _mm256_loadu_ps(group + (e + 1) * kGroup + 8);
    SEQREC_FMA_ROW(0, e + 1, a1, b1)
  }
  if (e < E) {
    const __m256 v0 = _mm256_loadu_ps(group + e * kGroup), v1 = _mm256_loadu_ps(group + e * kGroup + 8);
    SEQREC_FMA_ROW(0, e, a0, b0)
  }
  _mm256_storeu_ps(scores, _mm256_add_ps(a0, a1));
  _mm256_storeu_ps(scores + 8, _mm256_add_ps(b0, b1));
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

/// Scores rows x (groups of one block) into scores [rows][stride].
void score_block(const float* q, int64_t rows, int64_t E, const float* groups, int64_t num_groups, float* scores,
                 int64_t stride, bool avx2) {
  for (int64_t g = 0; g < num_groups; ++g) {
    const float* group = groups + g * E * kGroup;
    float* out = scores + g * kGroup;
    if (!avx2) {
      score_group_plain(q, rows, E, group, out, stride);
      continue;
    }
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows) score_group_rows<6>(q + r * E, E, group, out + r * stride, stride);
    switch (rows - r) {
      case 5: score_group_rows<5>(q + r * E, E, group, out + r * stride, stride); break;
      case 4: score_group_rows<4>(q + r * E, E, group, out + r * stride, stride); break;
      case 3: score_group_rows<3>(q + r * E, E, group, out + r * stride, stride); break;
      case 2: score_group_rows<2>(q + r * E, E, group, out + r * stride, stride); break;
      case 1: score_group1(q + r * E, E, group, out + r * stride); break;
      default: break;
    }
  }
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
  packed_ = at::zeros({groups, dim_, kGroup}, vectors.options());
  const float* v = vectors.data_ptr<float>();
  float* p = packed_.data_ptr<float>();
  for (int64_t j = 0; j < scored; ++j)
    for (int64_t e = 0; e < dim_; ++e) p[((j / kGroup) * dim_ + e) * kGroup + j % kGroup] = v[(first_ + j) * dim_ + e];
  if (bias_in.defined()) bias_ = bias_in.to(at::kFloat).contiguous().clone();
}

std::pair<at::Tensor, at::Tensor> PackedItems::top_k(const at::Tensor& query_in, float temperature, int64_t k) const {
  SEQREC_ASSERT(query_in.dim() == 2 && query_in.size(1) == dim_ && query_in.device().is_cpu(),
                "PackedItems::top_k takes CPU queries [B, E]");
  SEQREC_ASSERT(k > 0 && temperature > 0, "PackedItems::top_k: bad k or temperature");
  const auto query = query_in.to(at::kFloat).contiguous();
  const int64_t B = query.size(0), E = dim_;
  const int64_t scored = std::max<int64_t>(0, num_items_ - first_);
  const int64_t kk = std::min(k, scored);
  auto values = at::empty({B, kk}, query.options());
  auto ids = at::empty({B, kk}, query.options().dtype(at::kLong));
  if (B == 0 || kk == 0) return {values, ids};
  const float* q = query.data_ptr<float>();
  const float* packed = packed_.data_ptr<float>();
  const float* b = bias_.defined() ? bias_.data_ptr<float>() : nullptr;
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

  // The catalogue is split into one contiguous part per thread, each with its own heaps, merged at the end.
  const int64_t groups = packed_.size(0);
  const int64_t blocks = (groups + kBlockGroups - 1) / kBlockGroups;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), blocks));
  std::vector<std::vector<TopK>> heaps(parts, std::vector<TopK>(B, TopK(kk)));
  at::parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    const int64_t stride = kBlockGroups * kGroup;
    std::vector<float> scores(B * stride);
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t blk = blocks * p / parts; blk < blocks * (p + 1) / parts; ++blk) {
        const int64_t g0 = blk * kBlockGroups, ng = std::min(kBlockGroups, groups - g0);
        score_block(q, B, E, packed + g0 * E * kGroup, ng, scores.data(), stride, avx2);
        const int64_t j0 = g0 * kGroup, n = std::min(ng * kGroup, scored - j0);  // j: offset from first_
        for (int64_t r = 0; r < B; ++r) {
          float* s = scores.data() + r * stride;
          if (b || temperature != 1.0f)
            for (int64_t j = 0; j < n; ++j) s[j] = (s[j] + (b ? b[first_ + j0 + j] : 0.0f)) / temperature;
          heaps[p][r].offer(s, n, first_ + j0);
        }
      }
    }
  });
  float* out_v = values.data_ptr<float>();
  int64_t* out_i = ids.data_ptr<int64_t>();
  for (int64_t r = 0; r < B; ++r) {
    for (int64_t p = 1; p < parts; ++p) heaps[0][r].merge(heaps[p][r]);
    const auto best = heaps[0][r].sorted();
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

#pragma once
#include <torch/types.h>

#include <random>
#include <vector>

#include "seqrec/model/model_config.h"

namespace seqrec::model::test {

/// A tiny config every architecture builds from in milliseconds.
inline ModelConfig tiny_config(const std::string& architecture, const std::string& masking = "") {
  ModelConfig c;
  c.architecture = parse_choice(architecture_choices(), architecture, "architecture");
  c.masking.scheme = masking;
  c.num_items = 23;  // 20 real items: ids 3..22
  c.d_model = 16;
  c.num_heads = 2;
  c.num_layers = 2;
  c.max_length = 8;
  c.dropout = 0.0;
  return c;
}

/// The planted pattern: item a is always followed by succ(a), a fixed permutation of the 20 items.
inline int64_t successor(int64_t item) { return 3 + ((item - 3) * 7 + 1) % 20; }

/// Sessions of 3..max_length+1 items following the pattern from a random start, right-padded: [B, L].
inline std::pair<torch::Tensor, torch::Tensor> planted_sessions(int64_t count, int64_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto items = torch::zeros({count, length}, torch::kLong);
  auto lengths = torch::zeros({count}, torch::kLong);
  for (int64_t b = 0; b < count; ++b) {
    const int64_t n = 3 + static_cast<int64_t>(rng() % (length - 2));
    int64_t item = 3 + static_cast<int64_t>(rng() % 20);
    for (int64_t t = 0; t < n; ++t, item = successor(item)) items[b][t] = item;
    lengths[b] = n;
  }
  return {items, lengths};
}

}  // namespace seqrec::model::test

#include "seqrec/model/body.h"

#include <torch/nn/modules/embedding.h>

#include "seqrec/common/error.h"

namespace seqrec::model {

torch::Tensor add_positions(const torch::Tensor& x, torch::nn::Embedding& positions) {
  const int64_t L = x.size(1);
  SEQREC_CHECK(L <= positions->weight.size(0), "sequence length ", L, " exceeds the model's ", positions->weight.size(0),
               " positions (max_length + 1)");
  return x + positions(torch::arange(L, x.options().dtype(torch::kLong))).unsqueeze(0);
}

torch::Tensor map_targets(const torch::Tensor& hidden, const torch::Tensor& target_mapping) {
  return torch::bmm(target_mapping.to(hidden.dtype()), hidden);
}

}  // namespace seqrec::model

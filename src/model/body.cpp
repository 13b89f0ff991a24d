#include "seqrec/model/body.h"

#include <torch/nn/modules/embedding.h>

#include "seqrec/common/error.h"
#include "seqrec/model/albert.h"
#include "seqrec/model/electra.h"
#include "seqrec/model/gpt2.h"
#include "seqrec/model/rnn.h"
#include "seqrec/model/transfo_xl.h"
#include "seqrec/model/xlnet.h"

namespace seqrec::model {

std::shared_ptr<BodyImpl> make_body(const ModelConfig& c) {
  if (c.architecture == "gpt2") return std::make_shared<Gpt2BodyImpl>(c);
  if (c.architecture == "bert") return std::make_shared<BertBodyImpl>(c);
  if (c.architecture == "albert") return std::make_shared<AlbertBodyImpl>(c);
  if (c.architecture == "electra") return std::make_shared<ElectraBodyImpl>(c);
  if (c.architecture == "xlnet") return std::make_shared<XlnetBodyImpl>(c);
  if (c.architecture == "transfo_xl") return std::make_shared<TransfoXlBodyImpl>(c);
  if (c.architecture == "gru" || c.architecture == "lstm") return std::make_shared<RnnBodyImpl>(c);
  throw InvalidInput("unknown architecture '" + c.architecture + "'");
}

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

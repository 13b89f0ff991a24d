#include "seqrec/model/electra.h"

#include "seqrec/model/attention.h"

namespace seqrec::model {

ElectraBodyImpl::ElectraBodyImpl(const ModelConfig& c) {
  discriminator = register_module("discriminator", std::make_shared<BertBodyImpl>(c));
  if (!c.body.tied_generator)
    generator = register_module("generator", std::make_shared<BertBodyImpl>(c, /*share_layers=*/false, c.body.generator_layers));
  rtd_head = register_module("rtd_head", torch::nn::Linear(c.d_model, 1));
  init_transformer_weights(*rtd_head);
}

torch::Tensor ElectraBodyImpl::forward(const BodyInput& input) { return discriminator->forward(input); }

torch::Tensor ElectraBodyImpl::generate(const BodyInput& input) {
  return generator ? generator->forward(input) : discriminator->forward(input);
}

torch::Tensor ElectraBodyImpl::replaced_logits(const torch::Tensor& hidden) { return rtd_head(hidden).squeeze(-1); }

}  // namespace seqrec::model

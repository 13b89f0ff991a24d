#include "seqrec/model/rnn.h"

namespace seqrec::model {

RnnBodyImpl::RnnBodyImpl(const ModelConfig& c) {
  const double between = c.num_layers > 1 ? c.dropout : 0.0;
  if (c.architecture == Architecture::kLstm)
    lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(c.d_model, c.d_model).num_layers(c.num_layers)
                                                       .batch_first(true).dropout(between)));
  else
    gru = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(c.d_model, c.d_model).num_layers(c.num_layers)
                                                    .batch_first(true).dropout(between)));
  ln_input = register_module("ln_input", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  dropout = register_module("dropout", FastDropout(c.dropout));
}

torch::Tensor RnnBodyImpl::forward(const BodyInput& in) {
  // Right padding comes after every real item, so it cannot reach a real position's state.
  auto x = dropout(ln_input(in.hidden));
  auto h = lstm ? std::get<0>(lstm->forward(x)) : std::get<0>(gru->forward(x));
  h = dropout(h);
  return in.target_mapping.defined() ? map_targets(h, in.target_mapping) : h;
}

}  // namespace seqrec::model

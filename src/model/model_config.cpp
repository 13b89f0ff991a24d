#include "seqrec/model/model_config.h"

namespace seqrec::model {

nlohmann::json ModelConfig::to_json() const {
  return {{"architecture", architecture}, {"num_items", num_items},   {"d_model", d_model}, {"num_heads", num_heads},
          {"num_layers", num_layers},     {"max_length", max_length}, {"dropout", dropout}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  c.architecture = j.at("architecture");
  c.num_items = j.at("num_items");
  c.d_model = j.at("d_model");
  c.num_heads = j.at("num_heads");
  c.num_layers = j.at("num_layers");
  c.max_length = j.at("max_length");
  c.dropout = j.at("dropout");
  return c;
}

std::vector<std::string> ModelConfig::problems() const {
  std::vector<std::string> p;
  if (architecture != "gpt2") p.push_back("architecture '" + architecture + "' is not available; use gpt2");
  if (num_items < 4) p.push_back("num_items must be >= 4 (3 reserved ids + items), got " + std::to_string(num_items));
  if (d_model < 1) p.push_back("--d-model must be >= 1");
  if (num_heads < 1) p.push_back("--heads must be >= 1");
  if (num_heads >= 1 && d_model % num_heads != 0)
    p.push_back("--d-model (" + std::to_string(d_model) + ") must be divisible by --heads (" + std::to_string(num_heads) + ")");
  if (num_layers < 1) p.push_back("--layers must be >= 1");
  if (max_length < 2) p.push_back("--max-length must be >= 2");
  if (dropout < 0 || dropout >= 1) p.push_back("--dropout must be in [0, 1)");
  return p;
}

}  // namespace seqrec::model

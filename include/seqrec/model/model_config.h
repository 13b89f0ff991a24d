#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace seqrec::model {

/// The resolved model configuration, stored inside every checkpoint.
struct ModelConfig {
  std::string architecture = "gpt2";  ///< the body; only "gpt2" (causal) today
  int64_t num_items = 0;              ///< item cardinality from the schema, reserved ids included
  int64_t d_model = 64;
  int64_t num_heads = 2;
  int64_t num_layers = 2;
  int64_t max_length = 20;            ///< longest input sequence (learned positions)
  double dropout = 0.1;

  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);
  /// Every problem with the config, one per entry; empty when valid.
  std::vector<std::string> problems() const;
};

}  // namespace seqrec::model

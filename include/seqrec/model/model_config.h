#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "seqrec/common/options_reader.h"
#include "seqrec/schema/schema.h"

namespace seqrec::model {

// The named choices of a model config, parsed from their JSON/YAML names once when the config is read; the modules
// compare enums. Each *_choices() lists the names (to_json writes them back).
enum class Architecture { kGpt2, kBert, kAlbert, kElectra, kXlnet, kTransfoXl, kGru, kLstm, kSasrec };
const Choices<Architecture>& architecture_choices();  ///< gpt2, bert, albert, electra, xlnet, transfo_xl, gru, lstm, sasrec
std::string to_string(Architecture architecture);
enum class FeatureType { kCategorical, kContinuous };
const Choices<FeatureType>& feature_type_choices();
enum class ContinuousEncoding { kMlp, kSoftOneHot };
const Choices<ContinuousEncoding>& continuous_encoding_choices();
enum class Aggregation { kConcat, kSum, kItemMultiply };
const Choices<Aggregation>& aggregation_choices();
enum class Activation { kGelu, kRelu };
const Choices<Activation>& activation_choices();
enum class HeadLoss { kCrossEntropy, kBce };
const Choices<HeadLoss>& head_loss_choices();
enum class TaskType { kBinary, kRegression };
const Choices<TaskType>& task_type_choices();
enum class SessionSummary { kLast, kFirst, kMean };
const Choices<SessionSummary>& session_summary_choices();

/// One side feature of the input block (a list column of the sessions dataset, or a session scalar).
struct FeatureConfig {
  std::string name;                 ///< the column name in schema.json
  FeatureType type = FeatureType::kCategorical;  ///< categorical (int64 ids) or continuous (float32)
  int64_t cardinality = 0;          ///< categorical: ids 0 .. cardinality-1 (from the schema)
  int64_t dim = 0;                  ///< embedding size; 0 = the schema's hint, else the rule min(64, ceil(6 * card^0.25))
  ContinuousEncoding encoding = ContinuousEncoding::kMlp;  ///< continuous: mlp (Linear + ReLU) or soft_one_hot
  int64_t bins = 10;                ///< soft_one_hot: number of learned bin embeddings
  bool session_level = false;       ///< a per-session scalar broadcast along the sequence
  bool layer_norm = true;           ///< LayerNorm on this feature's vector before aggregation

  nlohmann::json to_json() const;
  static FeatureConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static FeatureConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
  /// The resolved embedding size (dim, else the rule above).
  int64_t resolved_dim() const;
};

/// The input block: item embedding, side features, aggregation into d_model.
struct InputConfig {
  int64_t item_dim = 0;               ///< item embedding size; 0 = d_model (ALBERT: body.embedding_size)
  std::vector<FeatureConfig> features;
  Aggregation aggregation = Aggregation::kConcat;  ///< concat (then Linear to d_model), sum, item_multiply (item x (1 + sum others))
  bool layer_norm = false;            ///< LayerNorm on the item embedding before aggregation
  std::string pretrained_item_vectors;  ///< text file "<item id> v1 .. vE" per line; empty = none
  bool freeze_pretrained = true;      ///< pretrained vectors are not trained
  double dropout = -1;                ///< embedding dropout; -1 = the model's dropout

  nlohmann::json to_json() const;
  static InputConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static InputConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
};

/// The training objective over the sequence (DESIGN.md §3).
struct MaskingConfig {
  std::string scheme;                   ///< "clm", "mlm", "plm" or "rtd"; empty = the body's default
  double mlm_probability = 0.2;         ///< mlm/rtd: chance each item is masked (>= 1 masked and 1 kept per session)
  double plm_probability = 1.0 / 6.0;   ///< plm: ratio of span length to context length
  int64_t max_span_length = 5;          ///< plm: longest masked span
  double rtd_discriminator_weight = 50; ///< rtd: weight of the replaced-token-detection loss
  double rtd_generator_weight = 1;      ///< rtd: weight of the generator's mlm loss
  bool rtd_sample_from_batch = false;   ///< rtd: sample replacements from the batch's items instead of the generator

  nlohmann::json to_json() const;
  static MaskingConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static MaskingConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
};

/// Body parameters besides the shared d_model / heads / layers / dropout.
struct BodyConfig {
  int64_t inner_size = 0;          ///< feed-forward width; 0 = 4 * d_model
  int64_t embedding_size = 0;      ///< ALBERT's factorised item embedding; 0 = d_model
  int64_t generator_layers = 1;    ///< ELECTRA: layers of the generator
  bool tied_generator = false;     ///< ELECTRA: the generator is the discriminator's own encoder
  int64_t memory_length = 0;       ///< Transformer-XL: cached hidden states per layer; 0 = segment_length
  int64_t segment_length = 0;      ///< Transformer-XL: training segment; 0 = the whole sequence
  Activation activation = Activation::kGelu;

  nlohmann::json to_json() const;
  static BodyConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static BodyConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
};

/// The next-item head.
struct HeadConfig {
  bool weight_tying = true;        ///< scores = hidden · item embedding (through a projection when sizes differ)
  bool output_bias = false;        ///< a learned bias per item
  double temperature = 1.0;        ///< logits are divided by it
  bool normalize = false;          ///< cosine scores: hidden and item vectors L2-normalised (NISER); use a small temperature
  double label_smoothing = 0.0;
  HeadLoss loss = HeadLoss::kCrossEntropy;  ///< cross_entropy (full or sampled softmax) or bce (SASRec)
  bool sampled_softmax = false;    ///< log-uniform negatives with logQ correction, accidental hits masked
  int64_t num_negatives = 1000;    ///< sampled softmax / bce: negatives per step
  bool in_batch_negatives = false; ///< sampled softmax: the batch's other targets are the negatives
  double weight = 1.0;             ///< weight of the next-item loss among tasks
  /// Added at inference to the logits of the items already in the session (once per item, not in training): a
  /// repeat prior, as RepeatNet's repeat mode, chosen on valid. 0 = off.
  double repeat_bonus = 0.0;

  nlohmann::json to_json() const;
  static HeadConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static HeadConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
};

/// A session-level task on a summary of the body's output.
struct TaskConfig {
  TaskType type = TaskType::kBinary;  ///< binary (classification) or regression
  std::string target;            ///< the session column it predicts
  SessionSummary summary = SessionSummary::kLast;
  double weight = 1.0;

  nlohmann::json to_json() const;
  static TaskConfig from_json(const nlohmann::json& j);
  /// Reads what it can, appending each problem (prefixed by `path`) to `problems`.
  static TaskConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
};

/// The resolved model configuration (one JSON object, stored inside every checkpoint).
struct ModelConfig {
  /// The body: gpt2, bert, albert, electra, xlnet, transfo_xl, gru, lstm, or the preset sasrec.
  Architecture architecture = Architecture::kGpt2;
  int64_t num_items = 0;              ///< item cardinality from the schema, reserved ids included
  int64_t first_item_id = schema::kDefaultFirstValueId;  ///< the schema's first real item id: lower ids are never targets nor ranked
  int64_t d_model = 64;
  int64_t num_heads = 2;
  int64_t num_layers = 2;
  int64_t max_length = 20;            ///< longest input sequence
  double dropout = 0.1;
  InputConfig input;
  MaskingConfig masking;
  BodyConfig body;
  HeadConfig head;
  std::vector<TaskConfig> tasks;
  /// Problems met while reading (unknown keys, wrong types); reported by problems(), never saved.
  std::vector<std::string> parse_problems;

  nlohmann::json to_json() const;
  /// Reads a config; absent keys keep their defaults (an old checkpoint's config reads unchanged).
  /// Unknown keys and wrong types become parse_problems naming `origin` (the file) and the nearest known key.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin = "");
  static ModelConfig from_json_checked(const nlohmann::json& j, const std::string& path, const std::string& origin,
                                   std::vector<std::string>& problems);
  /// Reads a model config file, JSON or YAML (by extension .yaml/.yml), over the defaults.
  static nlohmann::json read_file(const std::filesystem::path& path);
  /// Presets and defaults made explicit: sasrec becomes its causal body + bce head, an empty masking scheme the
  /// body's default, ALBERT's embedding_size the item size.
  ModelConfig resolved() const;
  /// Every problem with the (resolved) config, one per entry; empty when valid.
  std::vector<std::string> problems() const;
  /// The masking schemes `architecture` accepts; the first is its default.
  static std::vector<std::string> valid_maskings(Architecture architecture);
  /// The item embedding size after resolution.
  int64_t item_dim() const;
  int64_t inner_size() const { return body.inner_size > 0 ? body.inner_size : 4 * d_model; }
  double input_dropout() const { return input.dropout >= 0 ? input.dropout : dropout; }

 private:
  // problems(), by section.
  void shape_problems(std::vector<std::string>& p) const;
  void masking_problems(std::vector<std::string>& p) const;
  void input_problems(std::vector<std::string>& p) const;
  void body_problems(std::vector<std::string>& p) const;
  void head_problems(std::vector<std::string>& p) const;
  void task_problems(std::vector<std::string>& p) const;
};

}  // namespace seqrec::model

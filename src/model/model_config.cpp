#include "seqrec/model/model_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "seqrec/common/config_file.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::model {

namespace {

using nlohmann::json;

bool one_of(const std::string& value, std::initializer_list<const char*> options) {
  return std::any_of(options.begin(), options.end(), [&](const char* o) { return value == o; });
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

// --- named choices ---------------------------------------------------------------------------------------------

const Choices<Architecture>& architecture_choices() {
  static const Choices<Architecture> c = {{"gpt2", Architecture::kGpt2},     {"bert", Architecture::kBert},
                                          {"albert", Architecture::kAlbert}, {"electra", Architecture::kElectra},
                                          {"xlnet", Architecture::kXlnet},   {"transfo_xl", Architecture::kTransfoXl},
                                          {"gru", Architecture::kGru},       {"lstm", Architecture::kLstm},
                                          {"sasrec", Architecture::kSasrec}};
  return c;
}
std::string to_string(Architecture architecture) { return choice_name(architecture_choices(), architecture); }
const Choices<FeatureType>& feature_type_choices() {
  static const Choices<FeatureType> c = {{"categorical", FeatureType::kCategorical}, {"continuous", FeatureType::kContinuous}};
  return c;
}
const Choices<ContinuousEncoding>& continuous_encoding_choices() {
  static const Choices<ContinuousEncoding> c = {{"mlp", ContinuousEncoding::kMlp}, {"soft_one_hot", ContinuousEncoding::kSoftOneHot}};
  return c;
}
const Choices<Aggregation>& aggregation_choices() {
  static const Choices<Aggregation> c = {
      {"concat", Aggregation::kConcat}, {"sum", Aggregation::kSum}, {"item_multiply", Aggregation::kItemMultiply}};
  return c;
}
const Choices<Activation>& activation_choices() {
  static const Choices<Activation> c = {{"gelu", Activation::kGelu}, {"relu", Activation::kRelu}};
  return c;
}
const Choices<HeadLoss>& head_loss_choices() {
  static const Choices<HeadLoss> c = {{"cross_entropy", HeadLoss::kCrossEntropy}, {"bce", HeadLoss::kBce}};
  return c;
}
const Choices<TaskType>& task_type_choices() {
  static const Choices<TaskType> c = {{"binary", TaskType::kBinary}, {"regression", TaskType::kRegression}};
  return c;
}
const Choices<SessionSummary>& session_summary_choices() {
  static const Choices<SessionSummary> c = {
      {"last", SessionSummary::kLast}, {"first", SessionSummary::kFirst}, {"mean", SessionSummary::kMean}};
  return c;
}

// --- per-section JSON --------------------------------------------------------------------------------------------

#define SEQREC_FROM_JSON(Type)                                                     \
  Type Type::from_json(const json& j) {                                            \
    std::vector<std::string> problems;                                             \
    Type t = from_json_checked(j, "", "", problems);                               \
    if (!problems.empty()) throw InvalidInput("invalid model config: " + join(problems)); \
    return t;                                                                      \
  }

json FeatureConfig::to_json() const {
  return {{"name", name}, {"type", choice_name(feature_type_choices(), type)}, {"cardinality", cardinality}, {"dim", dim},
          {"encoding", choice_name(continuous_encoding_choices(), encoding)},
          {"bins", bins}, {"session_level", session_level}, {"layer_norm", layer_norm}};
}
FeatureConfig FeatureConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  FeatureConfig c;
  OptionsReader(j, path, origin, problems).read("name", c.name).read_choice("type", c.type, feature_type_choices())
      .read("cardinality", c.cardinality).read("dim", c.dim).read_choice("encoding", c.encoding, continuous_encoding_choices()).read("bins", c.bins).read("session_level", c.session_level)
      .read("layer_norm", c.layer_norm).finish();
  return c;
}
SEQREC_FROM_JSON(FeatureConfig)
int64_t FeatureConfig::resolved_dim() const {
  if (dim > 0) return dim;
  if (type == FeatureType::kContinuous) return 8;
  // The rule of thumb NVTabular and Transformers4Rec use for categorical embeddings.
  return std::min<int64_t>(64, static_cast<int64_t>(std::ceil(6.0 * std::pow(static_cast<double>(std::max<int64_t>(cardinality, 1)), 0.25))));
}

json InputConfig::to_json() const {
  json features_json = json::array();
  for (const auto& f : features) features_json.push_back(f.to_json());
  return {{"item_dim", item_dim}, {"features", features_json}, {"aggregation", choice_name(aggregation_choices(), aggregation)}, {"layer_norm", layer_norm},
          {"pretrained_item_vectors", pretrained_item_vectors}, {"freeze_pretrained", freeze_pretrained}, {"dropout", dropout}};
}
InputConfig InputConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  InputConfig c;
  OptionsReader(j, path, origin, problems).read("item_dim", c.item_dim).read_list("features", c.features).read_choice("aggregation", c.aggregation, aggregation_choices())
      .read("layer_norm", c.layer_norm).read("pretrained_item_vectors", c.pretrained_item_vectors)
      .read("freeze_pretrained", c.freeze_pretrained).read("dropout", c.dropout).finish();
  return c;
}
SEQREC_FROM_JSON(InputConfig)

json MaskingConfig::to_json() const {
  return {{"scheme", scheme}, {"mlm_probability", mlm_probability}, {"plm_probability", plm_probability},
          {"max_span_length", max_span_length}, {"rtd_discriminator_weight", rtd_discriminator_weight},
          {"rtd_generator_weight", rtd_generator_weight}, {"rtd_sample_from_batch", rtd_sample_from_batch}};
}
MaskingConfig MaskingConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  MaskingConfig c;
  OptionsReader(j, path, origin, problems).read("scheme", c.scheme).read("mlm_probability", c.mlm_probability)
      .read("plm_probability", c.plm_probability).read("max_span_length", c.max_span_length)
      .read("rtd_discriminator_weight", c.rtd_discriminator_weight).read("rtd_generator_weight", c.rtd_generator_weight)
      .read("rtd_sample_from_batch", c.rtd_sample_from_batch).finish();
  return c;
}
SEQREC_FROM_JSON(MaskingConfig)

json BodyConfig::to_json() const {
  return {{"inner_size", inner_size}, {"embedding_size", embedding_size}, {"generator_layers", generator_layers},
          {"tied_generator", tied_generator}, {"memory_length", memory_length}, {"segment_length", segment_length},
          {"activation", choice_name(activation_choices(), activation)}};
}
BodyConfig BodyConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  BodyConfig c;
  OptionsReader(j, path, origin, problems).read("inner_size", c.inner_size).read("embedding_size", c.embedding_size)
      .read("generator_layers", c.generator_layers).read("tied_generator", c.tied_generator)
      .read("memory_length", c.memory_length).read("segment_length", c.segment_length).read_choice("activation", c.activation, activation_choices())
      .finish();
  return c;
}
SEQREC_FROM_JSON(BodyConfig)

json HeadConfig::to_json() const {
  return {{"weight_tying", weight_tying}, {"output_bias", output_bias}, {"temperature", temperature},
          {"normalize", normalize}, {"label_smoothing", label_smoothing}, {"loss", choice_name(head_loss_choices(), loss)}, {"sampled_softmax", sampled_softmax},
          {"num_negatives", num_negatives}, {"in_batch_negatives", in_batch_negatives}, {"weight", weight},
          {"repeat_bonus", repeat_bonus}};
}
HeadConfig HeadConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  HeadConfig c;
  OptionsReader(j, path, origin, problems).read("weight_tying", c.weight_tying).read("output_bias", c.output_bias)
      .read("temperature", c.temperature).read("normalize", c.normalize)
      .read("label_smoothing", c.label_smoothing).read_choice("loss", c.loss, head_loss_choices())
      .read("sampled_softmax", c.sampled_softmax).read("num_negatives", c.num_negatives)
      .read("in_batch_negatives", c.in_batch_negatives).read("weight", c.weight)
      .read("repeat_bonus", c.repeat_bonus).finish();
  return c;
}
SEQREC_FROM_JSON(HeadConfig)

json TaskConfig::to_json() const {
  return {{"type", choice_name(task_type_choices(), type)}, {"target", target},
          {"summary", choice_name(session_summary_choices(), summary)}, {"weight", weight}};
}
TaskConfig TaskConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  TaskConfig c;
  OptionsReader(j, path, origin, problems).read_choice("type", c.type, task_type_choices()).read("target", c.target)
      .read_choice("summary", c.summary, session_summary_choices()).read("weight", c.weight)
      .finish();
  return c;
}
SEQREC_FROM_JSON(TaskConfig)

// --- the whole config --------------------------------------------------------------------------------------------

json ModelConfig::to_json() const {
  json tasks_json = json::array();
  for (const auto& t : tasks) tasks_json.push_back(t.to_json());
  return {{"architecture", to_string(architecture)}, {"num_items", num_items},   {"first_item_id", first_item_id}, {"d_model", d_model},       {"num_heads", num_heads},
          {"num_layers", num_layers},     {"max_length", max_length}, {"dropout", dropout},       {"input", input.to_json()},
          {"masking", masking.to_json()}, {"body", body.to_json()},   {"head", head.to_json()},   {"tasks", tasks_json}};
}

ModelConfig ModelConfig::from_json_checked(const json& j, const std::string& path, const std::string& origin,
                                          std::vector<std::string>& problems) {
  ModelConfig c;
  OptionsReader(j, path, origin, problems).read_choice("architecture", c.architecture, architecture_choices()).read("num_items", c.num_items).read("first_item_id", c.first_item_id)
      .read("d_model", c.d_model)
      .read("num_heads", c.num_heads).read("num_layers", c.num_layers).read("max_length", c.max_length)
      .read("dropout", c.dropout).read_object("input", c.input).read_object("masking", c.masking)
      .read_object("body", c.body).read_object("head", c.head).read_list("tasks", c.tasks).finish();
  return c;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& origin) {
  ModelConfig c;
  std::vector<std::string> problems;
  c = from_json_checked(j, "", origin, problems);
  c.parse_problems = problems;
  return c;
}

json ModelConfig::read_file(const std::filesystem::path& path) { return read_config_file(path); }

std::vector<std::string> ModelConfig::valid_maskings(Architecture architecture) {
  switch (architecture) {
    case Architecture::kBert:
    case Architecture::kAlbert: return {"mlm", "clm"};
    case Architecture::kElectra: return {"rtd", "mlm", "clm"};
    case Architecture::kXlnet: return {"plm", "mlm", "clm"};
    default: return {"clm"};
  }
}

int64_t ModelConfig::item_dim() const {
  if (input.item_dim > 0) return input.item_dim;
  if (architecture == Architecture::kAlbert && body.embedding_size > 0) return body.embedding_size;
  return d_model;
}

ModelConfig ModelConfig::resolved() const {
  ModelConfig c = *this;
  if (c.architecture == Architecture::kSasrec) {
    // SASRec (Kang & McAuley 2018): a causal transformer trained with binary cross-entropy on sampled negatives.
    c.architecture = Architecture::kGpt2;
    c.head.loss = HeadLoss::kBce;
    if (c.head.num_negatives == HeadConfig().num_negatives) c.head.num_negatives = 1;
  }
  const auto maskings = valid_maskings(c.architecture);
  if (c.masking.scheme.empty() && !maskings.empty()) c.masking.scheme = maskings.front();
  if (c.input.item_dim == 0) c.input.item_dim = c.item_dim();
  if (c.body.inner_size == 0) c.body.inner_size = 4 * c.d_model;
  return c;
}

namespace {
/// The masking scheme after resolution: the architecture's default when none is given.
std::string resolved_scheme(const ModelConfig& c) {
  const auto maskings = ModelConfig::valid_maskings(c.architecture);
  return c.masking.scheme.empty() && !maskings.empty() ? maskings.front() : c.masking.scheme;
}
}  // namespace

// Each problem names the config key and, where one exists, its flag: "num_heads (--num-heads) must be >= 1, got 0".
std::vector<std::string> ModelConfig::problems() const {
  std::vector<std::string> p = parse_problems;
  shape_problems(p);
  masking_problems(p);
  input_problems(p);
  body_problems(p);
  head_problems(p);
  task_problems(p);
  return p;
}

void ModelConfig::shape_problems(std::vector<std::string>& p) const {
  if (first_item_id < schema::kDefaultFirstValueId)
    p.push_back("first_item_id must be >= " + std::to_string(schema::kDefaultFirstValueId) + " (0 padding, 1 null, 2 OOV), got " +
                std::to_string(first_item_id));
  if (num_items <= first_item_id)
    p.push_back("num_items must exceed first_item_id (" + std::to_string(first_item_id) + " reserved ids + items), got " +
                std::to_string(num_items));
  if (d_model < 1) p.push_back("d_model (--d-model) must be >= 1, got " + std::to_string(d_model));
  if (num_heads < 1) p.push_back("num_heads (--num-heads) must be >= 1, got " + std::to_string(num_heads));
  if (num_heads >= 1 && d_model % num_heads != 0)
    p.push_back("d_model (--d-model, " + std::to_string(d_model) + ") must be divisible by num_heads (--num-heads, " +
                std::to_string(num_heads) + ")");
  if ((architecture == Architecture::kXlnet || architecture == Architecture::kTransfoXl) && d_model % 2 != 0)
    p.push_back("d_model (--d-model) must be even for the sinusoidal relative positions of " + to_string(architecture) + ", got " +
                std::to_string(d_model));
  if (num_layers < 1) p.push_back("num_layers (--num-layers) must be >= 1, got " + std::to_string(num_layers));
  if (max_length < 2) p.push_back("max_length (--max-length) must be >= 2, got " + std::to_string(max_length));
  if (dropout < 0 || dropout >= 1) p.push_back("dropout (--dropout) must be in [0, 1), got " + std::to_string(dropout));
}

void ModelConfig::masking_problems(std::vector<std::string>& p) const {
  const auto maskings = valid_maskings(architecture);
  const std::string scheme = resolved_scheme(*this);
  if (!one_of(scheme, {"clm", "mlm", "plm", "rtd"}))
    p.push_back("masking.scheme '" + masking.scheme + "' is unknown; use clm, mlm, plm or rtd");
  else if (!maskings.empty() && std::find(maskings.begin(), maskings.end(), scheme) == maskings.end())
    p.push_back("masking.scheme '" + scheme + "' does not fit architecture '" + to_string(architecture) + "', which takes " +
                join(maskings));
  if (!(masking.mlm_probability > 0 && masking.mlm_probability < 1)) p.push_back("masking.mlm_probability must be in (0, 1)");
  if (!(masking.plm_probability > 0 && masking.plm_probability <= 1)) p.push_back("masking.plm_probability must be in (0, 1]");
  if (masking.max_span_length < 1) p.push_back("masking.max_span_length must be >= 1");
  if (masking.rtd_discriminator_weight < 0 || masking.rtd_generator_weight < 0) p.push_back("masking.rtd_*_weight must be >= 0");
}

void ModelConfig::input_problems(std::vector<std::string>& p) const {
  if (input.item_dim < 0) p.push_back("input.item_dim must be >= 0 (0 = d_model)");
  const std::string aggregation = choice_name(aggregation_choices(), input.aggregation);
  if (input.aggregation != Aggregation::kConcat && item_dim() != d_model)
    p.push_back("input.aggregation '" + aggregation + "' needs every vector of size d_model (" + std::to_string(d_model) +
                "); the item embedding has " + std::to_string(item_dim()) + " (use concat)");
  if (input.dropout >= 1) p.push_back("input.dropout must be < 1");
  if (!input.pretrained_item_vectors.empty() && !std::filesystem::exists(input.pretrained_item_vectors))
    p.push_back("input.pretrained_item_vectors '" + input.pretrained_item_vectors + "' does not exist");
  std::set<std::string> names;
  for (size_t i = 0; i < input.features.size(); ++i) {
    const auto& f = input.features[i];
    const std::string at = "input.features[" + std::to_string(i) + "]";
    if (f.name.empty()) p.push_back(at + ".name is empty");
    if (!names.insert(f.name).second) p.push_back(at + ".name '" + f.name + "' appears twice");
    if (f.type == FeatureType::kCategorical && f.cardinality < 1)
      p.push_back(at + " ('" + f.name + "') needs cardinality >= 1 (from the schema)");
    if (f.type == FeatureType::kContinuous && f.encoding == ContinuousEncoding::kSoftOneHot && f.bins < 2)
      p.push_back(at + ".bins must be >= 2");
    if (input.aggregation != Aggregation::kConcat && f.dim > 0 && f.dim != d_model)
      p.push_back(at + ".dim must equal d_model (or 0) with aggregation '" + aggregation + "'");
  }
}

void ModelConfig::body_problems(std::vector<std::string>& p) const {
  if (body.inner_size < 0) p.push_back("body.inner_size must be >= 0 (0 = 4 * d_model)");
  if (body.embedding_size < 0) p.push_back("body.embedding_size must be >= 0");
  if (body.generator_layers < 1) p.push_back("body.generator_layers must be >= 1");
  if (body.memory_length < 0 || body.segment_length < 0) p.push_back("body.memory_length and body.segment_length must be >= 0");
}

void ModelConfig::head_problems(std::vector<std::string>& p) const {
  const std::string scheme = resolved_scheme(*this);
  const bool sasrec_bce = architecture == Architecture::kSasrec;
  if (!(head.temperature > 0)) p.push_back("head.temperature must be > 0");
  if (head.label_smoothing < 0 || head.label_smoothing >= 1) p.push_back("head.label_smoothing must be in [0, 1)");
  if ((head.sampled_softmax || head.loss == HeadLoss::kBce || sasrec_bce) && head.num_negatives < 1)
    p.push_back("head.num_negatives must be >= 1");
  if (head.in_batch_negatives && !head.sampled_softmax) p.push_back("head.in_batch_negatives needs head.sampled_softmax: true");
  if (head.loss == HeadLoss::kBce && head.sampled_softmax) p.push_back("head.loss bce and head.sampled_softmax exclude each other");
  if (head.weight < 0) p.push_back("head.weight must be >= 0");
  if (!std::isfinite(head.repeat_bonus)) p.push_back("head.repeat_bonus must be a finite number");
  if (head.repeat_bonus != 0 && scheme != "clm")
    p.push_back("head.repeat_bonus needs clm masking (the scored history is the items before the prediction)");
}

void ModelConfig::task_problems(std::vector<std::string>& p) const {
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    const std::string at = "tasks[" + std::to_string(i) + "]";
    if (t.target.empty()) p.push_back(at + ".target (the session column it predicts) is empty");
    if (t.weight < 0) p.push_back(at + ".weight must be >= 0");
  }
}

}  // namespace seqrec::model

#include "seqrec/model/model_config.h"

#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::model {

using ModelConfigTest = seqrec::test::TempDirTest;

namespace {
bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_F(ModelConfigTest, ReadsASeqrec01CheckpointConfig) {
  auto c = ModelConfig::from_json({{"architecture", "gpt2"}, {"num_items", 100}, {"d_model", 32}, {"num_heads", 4},
                                   {"num_layers", 3}, {"max_length", 20}, {"dropout", 0.2}});
  EXPECT_TRUE(c.problems().empty());
  EXPECT_EQ(c.d_model, 32);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.resolved().masking.scheme, "clm");
  EXPECT_TRUE(c.head.weight_tying);
}

TEST_F(ModelConfigTest, JsonRoundTripKeepsEveryField) {
  ModelConfig c;
  c.architecture = Architecture::kXlnet;
  c.num_items = 50;
  c.masking.scheme = "plm";
  c.masking.max_span_length = 3;
  c.head.sampled_softmax = true;
  c.head.label_smoothing = 0.1;
  c.body.inner_size = 100;
  FeatureConfig f;
  f.name = "category";
  f.cardinality = 12;
  c.input.features.push_back(f);
  TaskConfig t;
  t.target = "bought";
  c.tasks.push_back(t);
  auto again = ModelConfig::from_json(nlohmann::json::parse(c.to_json().dump()));
  EXPECT_EQ(again.to_json(), c.to_json());
  EXPECT_TRUE(again.problems().empty()) << again.problems().front();
}

TEST_F(ModelConfigTest, EveryProblemIsListedAtOnce) {
  auto c = ModelConfig::from_json({{"architecture", "gpt2"},
                                   {"num_items", 100},
                                   {"d_model", 10},
                                   {"num_heads", 3},
                                   {"masking", {{"scheme", "mlm"}, {"mlm_probability", 1.5}}},
                                   {"head", {{"temperature", 0}, {"tempreature", 1}}},
                                   {"body", {{"inner_size", "big"}}},
                                   {"input", {{"aggregation", "max"}}},
                                   {"tasks", {{{"type", "ranking"}}}}});
  auto p = c.problems();
  EXPECT_TRUE(mentions(p, "d_model (--d-model, 10) must be divisible by num_heads (--num-heads, 3)")) << p.size();
  EXPECT_TRUE(mentions(p, "masking.scheme 'mlm' does not fit architecture 'gpt2', which takes clm"));
  EXPECT_TRUE(mentions(p, "masking.mlm_probability must be in (0, 1)"));
  EXPECT_TRUE(mentions(p, "head.temperature must be > 0"));
  EXPECT_TRUE(mentions(p, "unknown key 'head.tempreature' (did you mean 'temperature'?"));
  EXPECT_TRUE(mentions(p, "body.inner_size has the wrong type (string)"));
  EXPECT_TRUE(mentions(p, "input.aggregation must be concat, sum or item_multiply, got 'max'"));
  EXPECT_TRUE(mentions(p, "tasks[0].type must be binary or regression, got 'ranking'"));
  EXPECT_TRUE(mentions(p, "tasks[0].target"));
  EXPECT_GE(p.size(), 9u);
}

TEST_F(ModelConfigTest, PresetsResolve) {
  ModelConfig sasrec;
  sasrec.architecture = Architecture::kSasrec;
  auto r = sasrec.resolved();
  EXPECT_EQ(r.architecture, Architecture::kGpt2);
  EXPECT_EQ(r.head.loss, HeadLoss::kBce);
  EXPECT_EQ(r.head.num_negatives, 1);
  EXPECT_EQ(r.masking.scheme, "clm");
  ModelConfig albert;
  albert.architecture = Architecture::kAlbert;
  albert.body.embedding_size = 16;
  EXPECT_EQ(albert.resolved().input.item_dim, 16);
  EXPECT_EQ(albert.resolved().masking.scheme, "mlm");
  EXPECT_EQ(ModelConfig::valid_maskings(Architecture::kXlnet), (std::vector<std::string>{"plm", "mlm", "clm"}));
  // A body that does not exist never reaches the config: its name is refused when read, with the nearest.
  auto unknown = ModelConfig::from_json({{"architecture", "gtp2"}});
  EXPECT_TRUE(mentions(unknown.problems(), "architecture must be gpt2, bert, albert, electra, xlnet, transfo_xl, gru, lstm or "
                                           "sasrec, got 'gtp2' (did you mean 'gpt2'?)"));
}

TEST_F(ModelConfigTest, YamlAndJsonFilesReadTheSame) {
  auto yaml = write("m.yaml",
                    "architecture: bert\n"
                    "d_model: 32\n"
                    "masking:\n"
                    "  scheme: mlm\n"
                    "  mlm_probability: 0.3\n"
                    "head:\n"
                    "  weight_tying: true\n"
                    "  label_smoothing: 0.1\n"
                    "input:\n"
                    "  features:\n"
                    "    - name: category\n"
                    "      cardinality: 9\n");
  auto json = write("m.json",
                    R"({"architecture": "bert", "d_model": 32, "masking": {"scheme": "mlm", "mlm_probability": 0.3},
                        "head": {"weight_tying": true, "label_smoothing": 0.1},
                        "input": {"features": [{"name": "category", "cardinality": 9}]}})");
  EXPECT_EQ(ModelConfig::read_file(yaml), ModelConfig::read_file(json));
  auto c = ModelConfig::from_json(ModelConfig::read_file(yaml));
  EXPECT_EQ(c.masking.mlm_probability, 0.3);
  EXPECT_EQ(c.input.features.at(0).cardinality, 9);
}

TEST_F(ModelConfigTest, BadFilesNameTheFileAndPosition) {
  auto yaml = write("bad.yaml", "architecture: bert\nmasking: [unclosed\n");
  try {
    ModelConfig::read_file(yaml);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ModelConfig::read_file(write("bad.json", "{\"d_model\": }")), InvalidInput);
  EXPECT_THROW(ModelConfig::read_file(path("missing.json")), InvalidInput);
}

TEST_F(ModelConfigTest, FeatureEmbeddingSizeRule) {
  FeatureConfig f;
  f.cardinality = 10000;  // 6 * 10^(4/4) = 60
  EXPECT_EQ(f.resolved_dim(), 60);
  f.cardinality = 1000000;
  EXPECT_EQ(f.resolved_dim(), 64) << "capped";
  f.dim = 7;
  EXPECT_EQ(f.resolved_dim(), 7);
}

}  // namespace seqrec::model

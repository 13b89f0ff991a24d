#include "seqrec/model/input_block.h"

#include "model/model_support.h"
#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::model {

namespace {
ModelConfig with_features(const std::string& aggregation) {
  auto c = test::tiny_config("bert", "mlm");
  c.d_model = 4;
  c.num_heads = 1;
  c.dropout = 0.0;
  c.input.aggregation = parse_choice(aggregation_choices(), aggregation, "aggregation");
  FeatureConfig category;
  category.name = "category";
  category.cardinality = 5;
  category.layer_norm = false;
  FeatureConfig price;
  price.name = "price";
  price.type = FeatureType::kContinuous;
  price.layer_norm = false;
  FeatureConfig device;
  device.name = "device";
  device.cardinality = 3;
  device.session_level = true;
  device.layer_norm = false;
  c.input.features = {category, price, device};
  return c.resolved();
}
}  // namespace

using InputBlockTest = seqrec::test::TempDirTest;

TEST_F(InputBlockTest, ItemMultiplyAggregationIsItemTimesOnePlusTheOthers) {
  auto c = with_features("item_multiply");
  InputBlock block(c);
  auto items = torch::tensor({{3, 4}}, torch::kLong);
  FeatureMap features{{"category", torch::tensor({{1, 2}}, torch::kLong)},
                      {"price", torch::tensor({{0.5f, 2.0f}})},
                      {"device", torch::tensor({2}, torch::kLong)}};
  auto out = block->forward(items, torch::Tensor(), features);
  auto item = block->item_embedding(items);
  auto category = block->categorical["category"]->as<torch::nn::Embedding>()->forward(features["category"]);
  auto price = block->continuous["price"]->as<ContinuousEncoder>()->forward(features["price"]);
  auto device = block->categorical["device"]->as<torch::nn::Embedding>()->forward(torch::tensor({{2, 2}}, torch::kLong));
  seqrec::test::expect_tensor_near(out, item * (1 + category + price + device));
}

TEST_F(InputBlockTest, ConcatProjectsToDModelAndMaskReplacesTheWholeVector) {
  auto c = with_features("concat");
  InputBlock block(c);
  ASSERT_TRUE(block->projection);
  EXPECT_EQ(block->projection->weight.size(1), 4 + c.input.features[0].resolved_dim() + 8 + c.input.features[2].resolved_dim());
  auto items = torch::tensor({{3, 4, 5}}, torch::kLong);
  FeatureMap features{{"category", torch::tensor({{1, 2, 3}}, torch::kLong)},
                      {"price", torch::tensor({{0.5f, 2.0f, 1.0f}})},
                      {"device", torch::tensor({1}, torch::kLong)}};
  auto masked = torch::tensor({{false, true, false}});
  auto out = block->forward(items, masked, features);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 4}));
  seqrec::test::expect_tensor_near(out[0][1], block->mask_embedding);
  EXPECT_GT((out[0][0] - block->mask_embedding).abs().max().item<double>(), 1e-4);
}

TEST_F(InputBlockTest, SoftOneHotEncodingIsAWeightedSumOfBins) {
  FeatureConfig f;
  f.type = FeatureType::kContinuous;
  f.encoding = ContinuousEncoding::kSoftOneHot;
  f.bins = 3;
  f.dim = 2;
  ContinuousEncoder encoder(f);
  auto values = torch::tensor({0.3f, -1.0f});
  auto weights = torch::softmax(encoder->projection(values.unsqueeze(-1)), -1);
  seqrec::test::expect_tensor_near(encoder->forward(values), weights.matmul(encoder->bins->weight));
}

TEST_F(InputBlockTest, MissingFeatureColumnIsNamed) {
  InputBlock block(with_features("sum"));
  try {
    block->forward(torch::tensor({{3}}, torch::kLong), torch::Tensor(), {});
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("feature column 'category'"), std::string::npos) << e.what();
  }
}

TEST_F(InputBlockTest, PretrainedItemVectorsLoadFrozen) {
  auto c = test::tiny_config("gpt2");
  c.d_model = 2;
  c.num_heads = 1;
  c.input.pretrained_item_vectors = write("vectors.txt", "# id v1 v2\n3 0.5 -1\n4 2 3\n").string();
  InputBlock block(c.resolved());
  EXPECT_TRUE(torch::equal(block->item_embedding->weight[3], torch::tensor({0.5f, -1.0f})));
  EXPECT_TRUE(torch::equal(block->item_embedding->weight[4], torch::tensor({2.0f, 3.0f})));
  EXPECT_FALSE(block->item_embedding->weight.requires_grad());
  c.input.pretrained_item_vectors = write("bad.txt", "3 0.5 -1\n4 2\n").string();
  try {
    InputBlock bad(c.resolved());
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt:2: item 4 has 1 values; the item embedding has 2"), std::string::npos) << e.what();
  }
}

}  // namespace seqrec::model

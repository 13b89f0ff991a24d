#include "seqrec/serve/predictor.h"

#include <torch/cuda.h>

#include <fstream>

#include "seqrec/common/error.h"
#include "seqrec/etl/synth.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/batch.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/checkpoint.h"
#include "seqrec/train/trainer.h"

#include "support.h"

namespace seqrec::serve {

class PredictorTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    etl::SynthOptions synth;
    synth.sessions = 600;
    synth.items = 80;
    synth.days = 3;
    {
      std::ofstream out(path("events.csv"));
      etl::write_synth_events(synth, out);
    }
    etl::WorkflowOptions options;
    etl::run_etl({path("events.csv").string()}, options, path("data"));
    auto schema = schema::Schema::load(path("data/schema.json"));
    model::ModelConfig config;
    config.num_items = schema.item_column().cardinality;
    config.d_model = 16;
    config.num_layers = 1;
    train::TrainOptions train_options;
    train_options.epochs = 1;
    train::Trainer(config, train_options)
        .fit(schema::read_sessions(path("data/sessions/train")), schema::read_sessions(path("data/sessions/valid")), path("run"),
             schema.fingerprint());
  }
};

TEST_F(PredictorTest, RawEventsGiveTheSameTopKAsTheOfflineSessions) {
  auto predictor = Predictor::load(path("data"), path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  auto test = schema::read_sessions(path("data/sessions/test"));
  ASSERT_GT(test.size(), 3);
  // Offline: the evaluator's view (last item held out).
  std::vector<int64_t> rows = {0, 1, 2};
  auto batch = model::make_prefix_batch(test, rows, 20, /*hold_out_last=*/true, c10::Device(c10::kCPU));
  auto loaded = artifacts::load_checkpoint(path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  auto [offline_scores, offline_ids] = loaded.model->next_item_scores(batch.items, batch.lengths).topk(5, 1);
  // Online: the same prefixes as raw events.
  std::vector<etl::Event> events;
  for (int64_t r : rows)
    for (int64_t i = 0; i + 1 < test.length(r); ++i)
      events.push_back({test.session_ids[r], predictor.workflow().items().decode(test.items_of(r)[i]),
                        test.timestamps[test.offsets[r] + i], i});
  auto recommendations = predictor.predict(events, 5);
  ASSERT_EQ(recommendations.size(), rows.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    EXPECT_EQ(recommendations[b].session_id, test.session_ids[rows[b]]);
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(recommendations[b].items[j], predictor.workflow().items().decode(offline_ids[b][j].item<int64_t>()));
      EXPECT_NEAR(recommendations[b].scores[j], offline_scores[b][j].item<float>(), 1e-5);
    }
  }
}

TEST_F(PredictorTest, AGpuPredictorAnswersAsTheCpuOne_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU";
  auto cpu = Predictor::load(path("data"), path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  auto gpu = Predictor::load(path("data"), path("run/checkpoint.pt"), c10::Device(c10::kCUDA));
  auto test = schema::read_sessions(path("data/sessions/test"));
  std::vector<etl::Event> events;
  for (int64_t r = 0; r < std::min<int64_t>(test.size(), 8); ++r)
    for (int64_t i = 0; i < test.length(r); ++i)
      events.push_back({test.session_ids[r], cpu.workflow().items().decode(test.items_of(r)[i]),
                        test.timestamps[test.offsets[r] + i], i});
  auto expected = cpu.predict(events, 5), actual = gpu.predict(events, 5);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t b = 0; b < expected.size(); ++b) {
    EXPECT_EQ(actual[b].items, expected[b].items) << expected[b].session_id;
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(actual[b].scores[j], expected[b].scores[j], 1e-3);
  }
}

TEST_F(PredictorTest, UnknownItemsMapToOovAndNeverComeBack) {
  auto predictor = Predictor::load(path("data"), path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  auto recs = predictor.predict(std::vector<etl::Event>{{"new", "never-seen-item", 1000, 0}, {"new", "another-one", 2000, 1}}, 500);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(recs[0].items.size()), predictor.workflow().items().size()) << "k is capped at the catalogue";
  for (const auto& item : recs[0].items) EXPECT_NE(item.front(), '<') << "reserved id recommended: " << item;
  for (size_t j = 1; j < recs[0].scores.size(); ++j) EXPECT_GE(recs[0].scores[j - 1], recs[0].scores[j]);
  EXPECT_THROW(predictor.predict(std::vector<etl::Event>{{"s", "x", 1, 0}}, 0), InvalidInput);
}

}  // namespace seqrec::serve

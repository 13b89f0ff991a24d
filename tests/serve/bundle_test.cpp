#include "seqrec/export/bundle.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <algorithm>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/ensemble.h"
#include "seqrec/model/session_knn.h"
#include "serve/serve_fixture.h"

namespace seqrec::serve::test {

using BundleTest = ServeTest;

namespace {
void expect_refused(const std::filesystem::path& bundle, const std::string& fragment) {
  try {
    artifacts::verify_bundle(bundle);
    ADD_FAILURE() << "a bad bundle was accepted; expected a message with '" << fragment << "'";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST_F(BundleTest, ExportWritesAManifestThatVerifies) {
  auto manifest = artifacts::verify_bundle(path("bundle"));
  EXPECT_EQ(manifest.format_version, artifacts::kPlainBundleFormatVersion);  // an older seqrec still serves a plain bundle
  EXPECT_EQ(manifest.model_name, "recs");
  EXPECT_EQ(manifest.data_fingerprint, schema::Schema::load(path("data/schema.json")).fingerprint());
  EXPECT_EQ(manifest.model_config.at("d_model"), 16);
  EXPECT_EQ(manifest.created.size(), 20u) << manifest.created;
  std::vector<std::string> files = {"model.pt", "schema.json"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path("data/workflow")))
    if (entry.is_regular_file()) files.push_back("workflow/" + std::filesystem::relative(entry.path(), path("data/workflow")).generic_string());
  EXPECT_EQ(manifest.files.size(), files.size()) << "every file and the manifest only";
  for (const auto& file : files) {
    ASSERT_TRUE(manifest.files.count(file)) << file;
    EXPECT_EQ(manifest.files[file].bytes, static_cast<int64_t>(std::filesystem::file_size(path("bundle") / file)));
  }
  EXPECT_FALSE(std::filesystem::exists(path("bundle.tmp")));
}

TEST_F(BundleTest, BundlePredictorMatchesTheDataAndCheckpointPredictor) {
  auto from_bundle = Predictor::load_bundle(path("bundle"), c10::Device(c10::kCPU));
  auto from_run = Predictor::load(path("data"), path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  std::vector<etl::Event> events = {{"a", popular_items(from_run, 3)[0], 1000, 1}, {"a", popular_items(from_run, 3)[1], 2000, 2}};
  auto x = from_bundle.predict(events, 5);
  auto y = from_run.predict(events, 5);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].items, y[0].items);
  EXPECT_EQ(x[0].scores, y[0].scores);
}

TEST_F(BundleTest, HybridBundleMixesInSessionKnnAsEvaluateDoes) {
  artifacts::ExportOptions options;
  options.hybrid_sknn = 0.3;
  options.hybrid_knn.prefix_decay = 1;  // STAN's weights travel in the manifest too
  options.hybrid_knn.neighbor_decay = 2;
  options.hybrid_knn.idf = 1;
  artifacts::export_bundle(path("data"), path("run/checkpoint.pt"), path("hybrid"), options);
  auto manifest = artifacts::verify_bundle(path("hybrid"));
  EXPECT_DOUBLE_EQ(manifest.hybrid.at("sknn_weight").get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(manifest.hybrid.at("sknn_neighbor_decay").get<double>(), 2.0);
  EXPECT_EQ(manifest.format_version, 2);
  EXPECT_TRUE(std::any_of(manifest.files.begin(), manifest.files.end(),
                          [](const auto& f) { return f.first.rfind("knn_sessions/", 0) == 0; }));
  const c10::Device cpu(c10::kCPU);
  auto served = Predictor::load_bundle(path("hybrid"), cpu);
  EXPECT_DOUBLE_EQ(served.knn_weight(), 0.3);
  EXPECT_LT(Predictor::load_bundle(path("bundle"), cpu).knn_weight(), 0.0);

  // What `seqrec evaluate --hybrid-sknn 0.3` ranks by, computed here from its parts.
  auto plain = Predictor::load(path("data"), path("run/checkpoint.pt"), cpu);
  auto items = popular_items(plain, 4);
  std::vector<etl::Event> events = {{"a", items[0], 1000, 1}, {"a", items[1], 2000, 2}, {"a", items[3], 3000, 3}};
  auto sessions = plain.workflow().transform_events(events);
  auto batch = model::make_prefix_batch(sessions, {0}, plain.model_config().max_length, false, cpu);
  model::SessionKnn knn(schema::read_sessions(path("data/sessions/train")), plain.model_config().num_items, plain.model_config().first_item_id, cpu,
                        options.hybrid_knn);
  torch::NoGradGuard no_grad;
  auto mixed = model::mix_with_knn(plain.model().next_item_scores(batch.items, batch.lengths), knn.distribution(batch), 0.3);
  auto [values, ids] = mixed.topk(5, 1);
  auto got = served.predict(events, 5);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].items.size(), 5u);
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_EQ(got[0].items[j], plain.workflow().items().decode(ids[0][j].item<int64_t>())) << j;
    EXPECT_NEAR(got[0].scores[j], values[0][j].item<float>(), 1e-6) << j;
  }
  // The same hybrid from --data and a checkpoint.
  plain.set_knn_hybrid(schema::read_sessions(path("data/sessions/train")), 0.3, options.hybrid_knn);
  EXPECT_EQ(plain.predict(events, 5)[0].items, got[0].items);
}

TEST_F(BundleTest, EnsembleBundleAveragesItsModelsAsProbabilities) {
  // A second model: same config, other initial weights.
  auto meta = artifacts::load_checkpoint(path("run/checkpoint.pt"), c10::Device(c10::kCPU)).meta;
  torch::manual_seed(99);
  auto second = model::make_model(meta.model);
  artifacts::save_checkpoint(path("run2/checkpoint.pt"), *second, meta);
  artifacts::ExportOptions options;
  options.ensemble = {path("run2/checkpoint.pt")};
  options.hybrid_sknn = 0.3;
  artifacts::export_bundle(path("data"), path("run/checkpoint.pt"), path("ensemble"), options);
  auto manifest = artifacts::verify_bundle(path("ensemble"));
  ASSERT_EQ(manifest.ensemble, (std::vector<std::string>{"ensemble/1.pt"}));
  EXPECT_EQ(manifest.format_version, 2);  // a seqrec that reads only 1 would serve the first model alone
  EXPECT_TRUE(manifest.files.count("ensemble/1.pt"));
  const c10::Device cpu(c10::kCPU);
  auto served = Predictor::load_bundle(path("ensemble"), cpu);
  EXPECT_EQ(served.ensemble_size(), 2);

  // Computed here from the parts: log of the mean of the two softmaxes, then the kNN hybrid on top.
  auto first = Predictor::load(path("data"), path("run/checkpoint.pt"), cpu);
  auto items = popular_items(first, 3);
  std::vector<etl::Event> events = {{"a", items[0], 1000, 1}, {"a", items[2], 2000, 2}};
  auto batch = model::make_prefix_batch(first.workflow().transform_events(events), {0}, meta.model.max_length, false, cpu);
  torch::NoGradGuard no_grad;
  auto first_model = artifacts::load_checkpoint(path("run/checkpoint.pt"), cpu).model;
  first_model->eval();
  second->eval();
  auto a = first_model->next_item_scores(batch.items, batch.lengths);
  auto b = second->next_item_scores(batch.items, batch.lengths);
  auto mean = ((torch::softmax(a, 1) + torch::softmax(b, 1)) / 2).log();
  auto averaged = model::ensemble_scores({first_model, second}, batch);
  EXPECT_TRUE(torch::allclose(averaged.slice(1, 3), mean.slice(1, 3), 1e-5, 1e-6));
  EXPECT_TRUE(torch::isinf(averaged.slice(1, 0, 3)).all().item<bool>());
  model::SessionKnn knn(schema::read_sessions(path("data/sessions/train")), meta.model.num_items, meta.model.first_item_id, cpu);
  auto [values, ids] = model::mix_with_knn(mean, knn.distribution(batch), 0.3).topk(5, 1);
  auto got = served.predict(events, 5);
  ASSERT_EQ(got[0].items.size(), 5u);
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_EQ(got[0].items[j], first.workflow().items().decode(ids[0][j].item<int64_t>())) << j;
    EXPECT_NEAR(got[0].scores[j], values[0][j].item<float>(), 1e-6) << j;
  }
  // A member over another history length is refused, naming it.
  auto longer = meta;
  longer.model.max_length = meta.model.max_length + 5;
  artifacts::save_checkpoint(path("run3/checkpoint.pt"), *model::make_model(longer.model), longer);
  options.ensemble = {path("run3/checkpoint.pt")};
  try {
    artifacts::export_bundle(path("data"), path("run/checkpoint.pt"), path("bad"), options);
    ADD_FAILURE() << "an ensemble member with another max_length was exported";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("run3"), std::string::npos) << e.what();
  }
}

TEST_F(BundleTest, DamagedFileIsRefusedNamingIt) {
  {
    std::fstream f(path("bundle/model.pt"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  expect_refused(path("bundle"), "damaged: model.pt has checksum");
  EXPECT_THROW(Predictor::load_bundle(path("bundle"), c10::Device(c10::kCPU)), InvalidInput);
}

TEST_F(BundleTest, TruncatedOrMissingFileIsRefused) {
  // Files are checked in name order: the missing workflow.json first (nothing before it is damaged), then schema.json.
  std::filesystem::remove(path("bundle/workflow/workflow.json"));
  expect_refused(path("bundle"), "workflow/workflow.json is missing");
  write("bundle/schema.json", "{}");
  expect_refused(path("bundle"), "damaged: schema.json has 2 bytes");
}

TEST_F(BundleTest, NewerFormatIsRefusedAsNewer) {
  auto j = nlohmann::json::parse(read_text_file(path("bundle/manifest.json")));
  j["format_version"] = artifacts::kBundleFormatVersion + 1;
  write("bundle/manifest.json", j.dump());
  expect_refused(path("bundle"), "newer than this seqrec reads");
}

TEST_F(BundleTest, UnreadableManifestOrNoBundleIsRefused) {
  write("bundle/manifest.json", "{\"format\": \"seqrec-bundle\", ");
  expect_refused(path("bundle"), "damaged: manifest.json cannot be read");
  expect_refused(path("data"), "is not a seqrec bundle");
  expect_refused(path("nowhere"), "does not exist");
}

TEST_F(BundleTest, CheckpointFromAnotherSchemaIsNotExported) {
  artifacts::CheckpointMeta meta;
  meta.model.num_items = 10;
  meta.model.d_model = 8;
  meta.model.num_heads = 2;
  meta.model.num_layers = 1;
  meta.schema_fingerprint = "0000";
  artifacts::save_checkpoint(path("other.pt"), *model::make_model(meta.model), meta);
  EXPECT_THROW(artifacts::export_bundle(path("data"), path("other.pt"), path("bundle2")), InvalidInput);
  EXPECT_FALSE(std::filesystem::exists(path("bundle2")));
}

}  // namespace seqrec::serve::test

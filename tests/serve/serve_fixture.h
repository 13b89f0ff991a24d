#pragma once
// A tiny bundle for the serving tests: synthetic events through the real ETL, an untrained (seeded) model
// saved as a checkpoint, exported. Parity does not need a trained model, and skipping training keeps each
// test process (CTest runs one per test) well under a second.
#include <fstream>

#include "seqrec/etl/synth.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/model/session_model.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/bundle.h"
#include "seqrec/serve/model_service.h"
#include "seqrec/export/checkpoint.h"
#include "support.h"

namespace seqrec::serve::test {

class ServeTest : public seqrec::test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    etl::SynthOptions synth;
    synth.sessions = 300;
    synth.items = 60;
    synth.days = 3;
    {
      std::ofstream out(path("events.csv"));
      etl::write_synth_events(synth, out);
    }
    etl::WorkflowOptions options;
    etl::run_etl({path("events.csv").string()}, options, path("data"));
    auto schema = schema::Schema::load(path("data/schema.json"));
    artifacts::CheckpointMeta meta;
    meta.model.num_items = schema.item_column().cardinality;
    meta.model.d_model = 16;
    meta.model.num_heads = 2;
    meta.model.num_layers = 1;
    meta.schema_fingerprint = schema.fingerprint();
    auto model = model::make_model(meta.model);
    artifacts::save_checkpoint(path("run/checkpoint.pt"), *model, meta);
    artifacts::ExportOptions export_options;
    export_options.model_name = "recs";
    artifacts::export_bundle(path("data"), path("run/checkpoint.pt"), path("bundle"), export_options);
  }

  artifacts::BundleManifest manifest() const { return artifacts::verify_bundle(path("bundle")); }

  std::shared_ptr<const Predictor> load_predictor() const {
    return std::make_shared<const Predictor>(Predictor::load_bundle(path("bundle"), c10::Device(c10::kCPU)));
  }

  /// A 1-D tensor of strings.
  static InferTensor bytes_tensor(const std::string& name, std::vector<std::string> values) {
    InferTensor t{name, "BYTES", {static_cast<int64_t>(values.size())}};
    t.bytes = std::move(values);
    return t;
  }
  static InferTensor int_tensor(const std::string& name, std::vector<int64_t> values) {
    InferTensor t{name, "INT64", {static_cast<int64_t>(values.size())}};
    t.ints = std::move(values);
    return t;
  }

  /// The raw item id of every catalogue value, most popular first.
  std::vector<std::string> popular_items(const Predictor& p, int n) const {
    std::vector<std::string> items;
    for (int i = 0; i < n; ++i) items.push_back(p.workflow().items().decode(etl::kFirstValueId + i));
    return items;
  }
};

}  // namespace seqrec::serve::test

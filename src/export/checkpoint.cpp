#include "seqrec/export/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::artifacts {

namespace {
constexpr int kCheckpointVersion = 1;
const char* kMetaKey = "seqrec_meta";
}  // namespace

nlohmann::json CheckpointMeta::to_json() const {
  return {{"format", "seqrec-checkpoint"}, {"version", kCheckpointVersion}, {"model", model.to_json()},
          {"schema_fingerprint", schema_fingerprint}, {"train_options", train_options}, {"epoch", epoch},
          {"step", step}, {"best_metric", best_metric}};
}

CheckpointMeta CheckpointMeta::from_json(const nlohmann::json& j) {
  CheckpointMeta m;
  m.model = model::ModelConfig::from_json(j.at("model"));
  m.schema_fingerprint = j.at("schema_fingerprint");
  m.train_options = j.value("train_options", nlohmann::json::object());
  m.epoch = j.value("epoch", int64_t{0});
  m.step = j.value("step", int64_t{0});
  m.best_metric = j.value("best_metric", 0.0);
  return m;
}

namespace {
void save_archive(const std::filesystem::path& path, model::SessionModel& model, const CheckpointMeta& meta,
                  torch::optim::Optimizer* optimizer, const nlohmann::json* progress) {
  torch::serialize::OutputArchive archive;
  model.save(archive);
  archive.write(kMetaKey, c10::IValue(meta.to_json().dump()));
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  if (progress) {
    archive.write("progress", c10::IValue(progress->dump()));
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_state", generator.get_state(), /*is_buffer=*/true);
  }
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  archive.save_to(tmp.string());
  std::filesystem::rename(tmp, path);
}
}  // namespace

void save_checkpoint(const std::filesystem::path& path, model::SessionModel& model, const CheckpointMeta& meta,
                     torch::optim::Optimizer* optimizer) {
  save_archive(path, model, meta, optimizer, nullptr);
}

void save_training_checkpoint(const std::filesystem::path& path, model::SessionModel& model, const CheckpointMeta& meta,
                              torch::optim::Optimizer& optimizer, const nlohmann::json& progress) {
  save_archive(path, model, meta, &optimizer, &progress);
}

nlohmann::json load_training_checkpoint(const std::filesystem::path& path, model::SessionModel& model,
                                        torch::optim::Optimizer& optimizer, c10::Device device) {
  require_exists(path, "checkpoint to resume from");
  torch::serialize::InputArchive archive;
  c10::IValue progress;
  at::Tensor rng_state;
  try {
    archive.load_from(path.string(), device);
    SEQREC_CHECK(archive.try_read("progress", progress), "checkpoint '", path.string(),
                 "' holds no training progress; resume from the run's last.pt");
    model.load(archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    archive.read("rng_state", rng_state, /*is_buffer=*/true);
  } catch (const c10::Error& e) {
    throw InvalidInput("checkpoint '" + path.string() + "' cannot be resumed (damaged, or another model or optimizer): " +
                       e.what_without_backtrace());
  }
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng_state.to(at::kCPU));
  }
  return nlohmann::json::parse(progress.toStringRef());
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path, c10::Device device) {
  require_exists(path, "checkpoint");
  LoadedCheckpoint loaded;
  torch::serialize::InputArchive archive;
  c10::IValue meta_value;
  try {
    archive.load_from(path.string(), device);
    SEQREC_CHECK(archive.try_read(kMetaKey, meta_value), "checkpoint '", path.string(),
                 "' has no seqrec metadata; it was not written by seqrec train");
  } catch (const c10::Error& e) {
    throw InvalidInput("checkpoint '" + path.string() + "' is damaged or not a seqrec checkpoint: " + e.what_without_backtrace());
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(meta_value.toStringRef());
    SEQREC_CHECK(j.value("version", 0) <= kCheckpointVersion, "checkpoint '", path.string(), "' has format version ",
                 j.value("version", 0), ", newer than this seqrec reads (", kCheckpointVersion, "); upgrade seqrec");
    loaded.meta = CheckpointMeta::from_json(j);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput("checkpoint '" + path.string() + "' has damaged metadata: " + e.what());
  }
  loaded.model = model::make_model(loaded.meta.model);
  try {
    loaded.model->load(archive);
  } catch (const c10::Error& e) {
    throw InvalidInput("checkpoint '" + path.string() + "' weights do not match its config: " + e.what_without_backtrace());
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

void check_schema_matches(const CheckpointMeta& meta, const std::string& schema_fingerprint,
                          const std::filesystem::path& checkpoint, const std::filesystem::path& schema_path) {
  SEQREC_CHECK(meta.schema_fingerprint == schema_fingerprint, "checkpoint '", checkpoint.string(),
               "' was trained on another schema (fingerprint ", meta.schema_fingerprint, ", ", meta.model.num_items,
               " item ids) than '", schema_path.string(), "' (fingerprint ", schema_fingerprint,
               "); train a model on this data or point --data at the data the model was trained on");
}

}  // namespace seqrec::artifacts

#include "seqrec/export/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <zlib.h>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::artifacts {

namespace {
constexpr int kCheckpointVersion = 1;
const char* kMetaKey = "seqrec_meta";
const char* kWeightsChecksumKey = "seqrec_weights_crc32";

// CRC-32 over every parameter and buffer (name and bytes): LibTorch's zip reader checks no CRCs, so a flipped byte in
// the weights would otherwise load silently. Older checkpoints without it still load.
std::string weights_checksum(torch::nn::Module& model, const std::string& meta) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(meta.data()), static_cast<uInt>(meta.size()));
  auto add = [&](const std::string& name, const at::Tensor& tensor) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(name.data()), static_cast<uInt>(name.size()));
    const at::Tensor bytes = tensor.detach().to(at::kCPU).contiguous();
    const auto* data = static_cast<const Bytef*>(bytes.data_ptr());
    for (size_t done = 0, total = bytes.nbytes(); done < total;) {
      const size_t chunk = std::min<size_t>(total - done, 1u << 30);
      crc = crc32(crc, data + done, static_cast<uInt>(chunk));
      done += chunk;
    }
  };
  for (const auto& p : model.named_parameters()) add(p.key(), p.value());
  for (const auto& b : model.named_buffers()) add(b.key(), b.value());
  return std::to_string(crc);
}

void verify_weights(torch::serialize::InputArchive& archive, torch::nn::Module& model, const std::filesystem::path& path) {
  c10::IValue stored, meta;
  if (!archive.try_read(kWeightsChecksumKey, stored)) return;
  SEQREC_CHECK(archive.try_read(kMetaKey, meta) && stored.toStringRef() == weights_checksum(model, meta.toStringRef()),
               "checkpoint '", path.string(),
               "' is damaged: its weights or metadata do not match the checksum written with them; use another checkpoint or "
               "retrain");
}
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
  const std::string meta_text = meta.to_json().dump();
  archive.write(kMetaKey, c10::IValue(meta_text));
  archive.write(kWeightsChecksumKey, c10::IValue(weights_checksum(model, meta_text)));
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
    verify_weights(archive, model, path);
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
  verify_weights(archive, *loaded.model, path);
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

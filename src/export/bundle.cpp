#include "seqrec/export/bundle.h"
#include "seqrec/build_config.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/model/ensemble.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/checkpoint.h"


namespace seqrec::artifacts {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string utc_now_iso8601() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Every regular file under `root`, relative, in a stable order.
std::vector<std::string> list_files(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root).generic_string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace


json BundleManifest::to_json() const {
  json f = json::object();
  for (const auto& [name, file] : files) f[name] = {{"bytes", file.bytes}, {"fnv1a64", file.fnv1a64}};
  return {{"format", "seqrec-bundle"},
          {"format_version", format_version},
          {"seqrec_version", seqrec_version},
          {"created", created},
          {"model_name", model_name},
          {"data_fingerprint", data_fingerprint},
          {"model_config", model_config},
          {"workflow", workflow},
          {"training", training},
          {"hybrid", hybrid},
          {"ensemble", ensemble},
          {"files", f}};
}

BundleManifest BundleManifest::from_json(const json& j) {
  BundleManifest m;
  m.format_version = j.at("format_version");
  m.seqrec_version = j.at("seqrec_version");
  m.created = j.at("created");
  m.model_name = j.at("model_name");
  m.data_fingerprint = j.at("data_fingerprint");
  m.model_config = j.at("model_config");
  m.workflow = j.value("workflow", json::object());
  m.training = j.value("training", json::object());
  m.hybrid = j.value("hybrid", json::object());
  m.ensemble = j.value("ensemble", std::vector<std::string>{});
  for (const auto& [name, file] : j.at("files").items()) m.files[name] = {file.at("bytes"), file.at("fnv1a64")};
  return m;
}

BundleManifest export_bundle(const fs::path& data_dir, const fs::path& checkpoint, const fs::path& out,
                             const ExportOptions& options) {
  SEQREC_CHECK(!options.model_name.empty() && options.model_name.find('/') == std::string::npos,
               "--model-name must be non-empty and contain no '/', got '", options.model_name, "'");
  const fs::path workflow_dir = data_dir / "workflow";
  const fs::path schema_path = schema::Schema::folder_schema_path(data_dir);
  require_exists(workflow_dir / "workflow.json", "fitted workflow (run seqrec etl first)");
  auto schema = schema::Schema::load(schema_path);
  const auto device = c10::Device(c10::kCPU);
  auto loaded = load_checkpoint(checkpoint, device);
  check_schema_matches(loaded.meta, schema.fingerprint(), checkpoint, schema_path);
  const json workflow_json = json::parse(read_text_file(workflow_dir / "workflow.json"));

  BundleManifest manifest;
  manifest.seqrec_version = SEQREC_VERSION;
  manifest.created = utc_now_iso8601();
  manifest.model_name = options.model_name;
  manifest.data_fingerprint = schema.fingerprint();
  manifest.model_config = loaded.meta.model.to_json();
  manifest.workflow = workflow_json.value("options", json::object());
  manifest.training = {{"epoch", loaded.meta.epoch}, {"step", loaded.meta.step}, {"best_metric", loaded.meta.best_metric},
                       {"train_options", loaded.meta.train_options}};
  const fs::path knn_sessions = data_dir / "sessions" / "train";
  if (options.hybrid_sknn >= 0) {
    SEQREC_CHECK(options.hybrid_sknn <= 1, "--hybrid-sknn must be in [0, 1], got ", options.hybrid_sknn);
    require_exists(knn_sessions, "train sessions for the kNN hybrid");
    const auto& knn = options.hybrid_knn;
    manifest.hybrid = {{"sknn_weight", options.hybrid_sknn},        {"sknn_neighbors", knn.neighbors},
                       {"sknn_sample", knn.sample_size},            {"sknn_prefix_decay", knn.prefix_decay},
                       {"sknn_neighbor_decay", knn.neighbor_decay}, {"sknn_idf", knn.idf}};
  }
  std::vector<LoadedCheckpoint> members;
  for (const auto& path : options.ensemble) {
    members.push_back(load_checkpoint(path, device));
    check_schema_matches(members.back().meta, schema.fingerprint(), path, schema_path);
    model::check_ensemble_member(*loaded.model, *members.back().model, "ensemble member " + path.string());
    manifest.ensemble.push_back(std::string(bundle_paths::kEnsemble) + "/" + std::to_string(members.size()) + ".pt");
  }
  if (options.hybrid_sknn >= 0 || !members.empty()) manifest.format_version = kBundleFormatVersion;
  write_directory_atomic(out, [&](const fs::path& tmp) {
    if (!members.empty()) fs::create_directory(tmp / bundle_paths::kEnsemble);
    for (size_t i = 0; i < members.size(); ++i)
      save_checkpoint(tmp / manifest.ensemble[i], *members[i].model, members[i].meta);
    if (options.hybrid_sknn >= 0) fs::copy(knn_sessions, tmp / bundle_paths::kKnnSessions, fs::copy_options::recursive);
    fs::copy(workflow_dir, tmp / bundle_paths::kWorkflow, fs::copy_options::recursive);
    fs::copy_file(schema_path, tmp / bundle_paths::kSchema);
    // Weights and the resolved config only: the optimizer state is for resuming training, not serving.
    save_checkpoint(tmp / bundle_paths::kModel, *loaded.model, loaded.meta);
    for (const auto& name : list_files(tmp))
      manifest.files[name] = {static_cast<int64_t>(fs::file_size(tmp / name)), file_fnv1a64(tmp / name)};
    write_text_file_atomic(tmp / bundle_paths::kManifest, manifest.to_json().dump(2) + "\n");
  });
  return manifest;
}

bool is_bundle(const fs::path& dir) { return fs::is_regular_file(dir / bundle_paths::kManifest); }

BundleManifest verify_bundle(const fs::path& dir) {
  const fs::path path = dir / bundle_paths::kManifest;
  SEQREC_CHECK(fs::is_directory(dir), "bundle '", dir.string(), "' does not exist; make one with seqrec export");
  SEQREC_CHECK(fs::exists(path), "'", dir.string(), "' is not a seqrec bundle (no manifest.json); make one with seqrec export");
  BundleManifest manifest;
  try {
    json j = json::parse(read_text_file(path));
    SEQREC_CHECK(j.value("format", "") == "seqrec-bundle", "bundle '", dir.string(),
                 "' is damaged: manifest.json is not a seqrec bundle manifest");
    const int version = j.value("format_version", 0);
    SEQREC_CHECK(version <= kBundleFormatVersion, "bundle '", dir.string(), "' has format version ", version,
                 ", newer than this seqrec reads (", kBundleFormatVersion, "; seqrec ", SEQREC_VERSION,
                 "); upgrade seqrec or export the bundle again with this version");
    manifest = BundleManifest::from_json(j);
  } catch (const json::exception& e) {
    throw InvalidInput("bundle '" + dir.string() + "' is damaged: manifest.json cannot be read: " + e.what());
  }
  for (const char* required : {bundle_paths::kSchema, bundle_paths::kModel, "workflow/workflow.json"})
    SEQREC_CHECK(manifest.files.count(required), "bundle '", dir.string(), "' is damaged: its manifest lists no ", required);
  for (const auto& [name, expected] : manifest.files) {
    const fs::path file = dir / name;
    SEQREC_CHECK(fs::is_regular_file(file), "bundle '", dir.string(), "' is damaged: ", name, " is missing");
    const auto bytes = static_cast<int64_t>(fs::file_size(file));
    SEQREC_CHECK(bytes == expected.bytes, "bundle '", dir.string(), "' is damaged: ", name, " has ", bytes,
                 " bytes, the manifest says ", expected.bytes, "; export it again");
    const auto digest = file_fnv1a64(file);
    SEQREC_CHECK(digest == expected.fnv1a64, "bundle '", dir.string(), "' is damaged: ", name, " has checksum ", digest,
                 ", the manifest says ", expected.fnv1a64, "; export it again");
  }
  return manifest;
}

}  // namespace seqrec::artifacts

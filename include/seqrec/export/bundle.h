#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "seqrec/common/io.h"
#include "seqrec/model/session_knn.h"

namespace seqrec::artifacts {

/// The newest bundle layout this seqrec reads; a bundle with a larger number is refused as newer. A bundle that
/// mixes in session kNN or averages an ensemble says 2, so a seqrec that reads only 1 refuses it rather than
/// serving its first model alone; a plain bundle stays 1.
constexpr int kBundleFormatVersion = 2;
constexpr int kPlainBundleFormatVersion = 1;

/// One file inside a bundle, with what it must hold to count as undamaged.
struct BundleFile {
  int64_t bytes = 0;
  std::string fnv1a64;  ///< 16 hex digits over the file's bytes
};

/// `manifest.json` of a bundle (DESIGN.md §2): what it is, where it came from, and what each file must be.
struct BundleManifest {
  int format_version = kPlainBundleFormatVersion;
  std::string seqrec_version;
  std::string created;           ///< ISO-8601 UTC
  std::string model_name = "seqrec";
  std::string data_fingerprint;  ///< the schema fingerprint the model was trained on
  nlohmann::json model_config;   ///< the resolved model config from the checkpoint
  nlohmann::json workflow;       ///< the fitted workflow's options
  nlohmann::json training;       ///< epoch, step, best metric, train options
  nlohmann::json hybrid = nlohmann::json::object();  ///< {"sknn_weight": W} when predictions mix in session kNN
  std::vector<std::string> ensemble;  ///< more models averaged with model.pt (paths in the bundle), usually none
  std::map<std::string, BundleFile> files;  ///< path relative to the bundle -> size and checksum

  nlohmann::json to_json() const;
  static BundleManifest from_json(const nlohmann::json& j);
};

/// Names inside a bundle folder.
namespace bundle_paths {
inline const char* kManifest = "manifest.json";
inline const char* kWorkflow = "workflow";
inline const char* kSchema = "schema.json";
inline const char* kModel = "model.pt";
inline const char* kEnsemble = "ensemble";  ///< ensemble/1.pt, 2.pt, ...: models averaged with model.pt
inline const char* kKnnSessions = "knn_sessions";  ///< the sessions a kNN hybrid searches (the ETL train split)
}  // namespace bundle_paths

struct ExportOptions {
  std::string model_name = "seqrec";  ///< the name clients use in /v2/models/{name}
  /// >= 0: predictions mix in session kNN over the data's train sessions with this weight (evaluate --hybrid-sknn).
  double hybrid_sknn = -1.0;
  model::SessionKnnOptions hybrid_knn;  ///< the hybrid's kNN
  std::vector<std::filesystem::path> ensemble;  ///< more checkpoints averaged with the first (evaluate --ensemble)
};

/// Writes a bundle from an ETL output folder (`workflow/`, `schema.json`) and a checkpoint: the workflow and
/// schema as they are, the weights without optimizer state, and a manifest with checksums. Refuses a checkpoint
/// trained on another schema. Built in `<out>.tmp` and renamed.
BundleManifest export_bundle(const std::filesystem::path& data_dir, const std::filesystem::path& checkpoint,
                             const std::filesystem::path& out, const ExportOptions& options = {});

/// Reads the manifest and checks the format version and every file's size and checksum. Throws InvalidInput
/// saying "newer" (upgrade seqrec) or "damaged" (which file, what was expected) otherwise.
BundleManifest verify_bundle(const std::filesystem::path& dir);

/// True when `dir` holds a bundle manifest (says nothing about damage).
bool is_bundle(const std::filesystem::path& dir);

using seqrec::file_fnv1a64;  // common/io.h: the checksum of every artifact's files

}  // namespace seqrec::artifacts

#include <filesystem>
#include <iostream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/bundle.h"
#include "seqrec/export/checkpoint.h"

namespace seqrec::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json inspect_checkpoint(const fs::path& path) {
  auto loaded = artifacts::load_checkpoint(path, c10::Device(c10::kCPU));
  return {{"kind", "checkpoint"}, {"path", path.string()}, {"meta", loaded.meta.to_json()},
          {"model", model::describe_model(*loaded.model)}};
}

json inspect_workflow(const fs::path& dir) {
  auto workflow = etl::Workflow::load(dir);
  json j = json::parse(read_text_file(dir / "workflow.json"));
  return {{"kind", "workflow"},
          {"path", dir.string()},
          {"options", workflow.options().to_json()},
          {"item_vocabulary_size", workflow.items().size()},
          {"item_cardinality", workflow.items().cardinality()},
          {"summary", j.value("summary", json::object())}};
}

json inspect_sessions(const fs::path& dir) {
  auto table = schema::read_sessions(dir);
  int64_t longest = 0;
  for (int64_t r = 0; r < table.size(); ++r) longest = std::max(longest, table.length(r));
  return {{"kind", "sessions"},
          {"path", dir.string()},
          {"rows", table.size()},
          {"events", table.items.size()},
          {"longest_session", longest},
          {"manifest", json::parse(read_text_file(dir / "manifest.json"))}};
}

json inspect_schema(const fs::path& path) {
  auto schema = schema::Schema::load(path);
  return {{"kind", "schema"}, {"path", path.string()}, {"fingerprint", schema.fingerprint()}, {"schema", schema.to_json()}};
}

// Reads the "format" field of a JSON manifest without failing on anything else.
std::string json_format(const fs::path& path) {
  try {
    return json::parse(read_text_file(path)).value("format", "");
  } catch (const std::exception&) {
    return "";
  }
}

json inspect_path(const fs::path& path) {
  require_exists(path, "path");
  if (fs::is_directory(path)) {
    if (artifacts::is_bundle(path)) {
      auto manifest = artifacts::verify_bundle(path);
      return {{"kind", "bundle"}, {"path", path.string()}, {"verified", true}, {"manifest", manifest.to_json()}};
    }
    if (fs::exists(path / "workflow.json")) return inspect_workflow(path);
    if (fs::exists(path / "manifest.json") && json_format(path / "manifest.json") == "seqrec-sessions")
      return inspect_sessions(path);
    if (fs::exists(path / "checkpoint.pt")) return inspect_checkpoint(path / "checkpoint.pt");
    if (fs::exists(path / "workflow" / "workflow.json") && fs::exists(path / "schema.json")) {
      json j = {{"kind", "data"}, {"path", path.string()}, {"workflow", inspect_workflow(path / "workflow")},
                {"schema", inspect_schema(path / "schema.json")}, {"splits", json::object()}};
      if (fs::is_directory(path / "sessions"))
        for (const auto& entry : fs::directory_iterator(path / "sessions"))
          if (fs::exists(entry.path() / "manifest.json"))
            j["splits"][entry.path().filename().string()] = inspect_sessions(entry.path());
      return j;
    }
    throw InvalidInput("'" + path.string() +
                       "' is not something seqrec knows: expected a bundle (manifest.json), a fitted workflow "
                       "(workflow.json), a sessions folder, a run folder (checkpoint.pt) or an ETL output folder");
  }
  if (path.extension() == ".pt") return inspect_checkpoint(path);
  if (path.extension() == ".yaml" || path.extension() == ".yml") {
    // A model config (configs/models/*.yaml): resolved, and its problems (num_items comes from the data at train time).
    auto config = model::ModelConfig::from_json(model::ModelConfig::read_file(path));
    if (config.num_items == 0) config.num_items = 4;
    return {{"kind", "model_config"}, {"path", path.string()}, {"resolved", config.resolved().to_json()},
            {"problems", config.problems()}};
  }
  if (path.extension() == ".json") {
    const auto format = json_format(path);
    if (format == "seqrec-bundle") return inspect_path(path.parent_path());
    if (format == "seqrec-workflow") return inspect_workflow(path.parent_path());
    if (format == "seqrec-sessions") return inspect_sessions(path.parent_path());
    return inspect_schema(path);
  }
  throw InvalidInput("'" + path.string() + "' is not something seqrec knows: expected a .pt checkpoint, a schema.json or a folder");
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "print what PATH is: bundle, fitted workflow, checkpoint, sessions or schema");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "a bundle, workflow folder, checkpoint file, sessions folder or schema.json")->required();
  cmd->callback([path] { std::cout << inspect_path(*path).dump(2) << '\n'; });
}

}  // namespace seqrec::cli

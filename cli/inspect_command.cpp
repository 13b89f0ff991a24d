#include <algorithm>
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
  json steps = json::array();
  for (const auto& step : workflow.describe().at("steps")) steps.push_back(step.at("step"));
  json out = {{"kind", "workflow"},
              {"path", dir.string()},
              {"steps", steps},
              {"item_vocabulary_size", workflow.items().size()},
              {"item_cardinality", workflow.items().cardinality()},
              {"summary", j.value("summary", json::object())}};
  // The etl flags' options mean something only when the workflow was made from them, not from a workflow file.
  if (workflow.spec() == workflow.options().to_spec()) out["options"] = workflow.options().to_json();
  return out;
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

// Every sessions folder under `sessions/`: train/valid/test, or day-0001/train, ... for a window split.
json inspect_splits(const fs::path& sessions) {
  json splits = json::object();
  if (!fs::is_directory(sessions)) return splits;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(sessions))
    if (entry.is_directory()) folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  for (const auto& folder : folders) {
    if (json_format(folder / "manifest.json") == "seqrec-sessions") {
      splits[folder.filename().string()] = inspect_sessions(folder);
      continue;
    }
    const json nested = inspect_splits(folder);  // named: items() of a temporary would dangle
    for (auto it = nested.begin(); it != nested.end(); ++it) splits[folder.filename().string() + "/" + it.key()] = *it;
  }
  return splits;
}

// The output of `seqrec etl` (workflow/, sessions/, schema.json) or of `etl transform` (no workflow/).
json inspect_data(const fs::path& path) {
  json j = {{"kind", "data"}, {"path", path.string()}};
  if (fs::exists(path / "workflow" / "workflow.json")) j["workflow"] = inspect_workflow(path / "workflow");
  const auto schema = schema::Schema::folder_schema_path(path);  // schema.json, else NVTabular's schema.pbtxt
  if (fs::exists(schema)) j["schema"] = inspect_schema(schema);
  j["splits"] = inspect_splits(path / "sessions");
  if (fs::exists(path / "sessions" / "windows.json"))
    j["windows"] = json::parse(read_text_file(path / "sessions" / "windows.json"));
  return j;
}

json inspect_folder(const fs::path& path) {
  const std::string manifest_format = json_format(path / "manifest.json");
  if (manifest_format == "seqrec-sessions") return inspect_sessions(path);
  if (artifacts::is_bundle(path)) {
    auto manifest = artifacts::verify_bundle(path);  // a damaged or foreign manifest.json is refused, saying why
    return {{"kind", "bundle"}, {"path", path.string()}, {"verified", true}, {"manifest", manifest.to_json()}};
  }
  if (fs::exists(path / "workflow.json")) return inspect_workflow(path);
  if (fs::exists(path / "checkpoint.pt")) return inspect_checkpoint(path / "checkpoint.pt");
  if (fs::exists(path / "schema.json") || fs::exists(path / "schema.pbtxt") || fs::exists(path / "workflow" / "workflow.json"))
    return inspect_data(path);
  if (json splits = inspect_splits(path); !splits.empty())
    return {{"kind", "sessions_root"}, {"path", path.string()}, {"splits", splits}};
  throw InvalidInput("'" + path.string() +
                     "' is not something seqrec knows: expected a bundle (manifest.json), a fitted workflow "
                     "(workflow.json), a sessions folder, a run folder (checkpoint.pt) or an ETL output folder "
                     "(schema.json or schema.pbtxt, sessions/)");
}

json inspect_path(const fs::path& path) {
  require_exists(path, "path");
  if (fs::is_directory(path)) return inspect_folder(path);
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
  if (path.extension() == ".pbtxt") return inspect_schema(path);
  throw InvalidInput("'" + path.string() + "' is not something seqrec knows: expected a .pt checkpoint, a schema.json, "
                     "a schema.pbtxt or a folder");
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "print what PATH is: bundle, fitted workflow, checkpoint, sessions or schema");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "a bundle, workflow folder, checkpoint file, sessions folder or schema.json")->required();
  cmd->callback([path] { std::cout << inspect_path(*path).dump(2) << '\n'; });
}

}  // namespace seqrec::cli

// A fitted workflow on disk (workflow.json, the ops' state files) and as `seqrec etl inspect` describes it.
#include "seqrec/etl/workflow.h"

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
constexpr int kWorkflowVersion = 2;
}  // namespace

json Workflow::describe() const {
  json steps = json::array();
  for (const auto& op : steps_)
    steps.push_back({{"step", op->label()},
                     {"op", op->name()},
                     {"inputs", op->inputs()},
                     {"outputs", op->outputs()},
                     {"fitted", op->fitted()},
                     {"online", op->online()},
                     {"statistics", op->fitted() ? op->describe() : json(nullptr)}});
  json columns = json::array();
  if (fitted())
    for (const auto& c : output_columns().columns)
      columns.push_back({{"name", c.name}, {"dtype", to_string(c.dtype)}, {"is_list", c.is_list}, {"tags", c.tags},
                         {"cardinality", c.cardinality}});
  return {{"input", input_.to_json()},
          {"steps", steps},
          {"output", spec_.value("output", json::object())},
          {"output_columns", columns},
          {"split", split_.to_json()},
          {"item_vocabulary", {{"values", items().size()}, {"cardinality", items().cardinality()}}},
          {"summary", summary_}};
}

void Workflow::save(const std::filesystem::path& dir, const json& summary) const {
  SEQREC_CHECK(fitted(), "cannot save a workflow that is not fitted");
  write_directory_atomic(dir, [&](const std::filesystem::path& tmp) {
    json state = json::array();
    for (const auto& op : steps_) state.push_back(op->save_state(tmp));
    json j = {{"format", "seqrec-workflow"},
              {"version", kWorkflowVersion},
              {"spec", spec_},
              {"state", state},
              {"options", options_.to_json()},
              {"vocabularies", {{"item_id", {{"values", items().size()}, {"cardinality", items().cardinality()}}}}},
              {"summary", summary},
              {"files", folder_checksums(tmp, "workflow.json")}};
    write_text_file_atomic(tmp / "workflow.json", j.dump(2) + "\n");
  });
}

Workflow Workflow::load(const std::filesystem::path& dir) {
  auto path = dir / "workflow.json";
  SEQREC_CHECK(std::filesystem::exists(path), "'", dir.string(), "' is not a fitted workflow (no workflow.json); run seqrec etl");
  Workflow w;
  try {
    json j = json::parse(read_text_file(path));
    SEQREC_CHECK(j.value("format", "") == "seqrec-workflow", path.string(), ": not a seqrec workflow");
    if (j.contains("files"))  // workflows written before checksums still load
      verify_folder_checksums(dir, j.at("files").get<std::map<std::string, std::string>>(), "fitted workflow",
                              "fit it again with seqrec etl");
    const int version = j.value("version", 0);
    SEQREC_CHECK(version <= kWorkflowVersion, path.string(), ": workflow version ", version,
                 " is newer than this seqrec reads (", kWorkflowVersion, "); upgrade seqrec");
    if (version < 2) {
      // Version 1 held the flag options and the item vocabulary only.
      WorkflowOptions options = WorkflowOptions::from_json(j.at("options"));
      w = from_options(options);
      for (auto& op : w.steps_)
        if (op->name() == "Categorify") op->load_state({{"vocabularies", json::array({{{"file", "item_id.vocab.tsv"}}})}}, dir);
      for (auto& op : w.steps_)
        if (!op->fitted()) op->finish_fit();
    } else {
      w.build(j.at("spec"), path.string());
      if (j.contains("options")) {
        WorkflowOptions o = WorkflowOptions::from_json(j.at("options"));
        w.options_ = o;
      }
      const json& state = j.at("state");
      SEQREC_CHECK(state.size() == w.steps_.size(), path.string(), ": ", state.size(), " step states for ", w.steps_.size(), " steps");
      for (size_t i = 0; i < w.steps_.size(); ++i)
        if (w.steps_[i]->stateful()) w.steps_[i]->load_state(state[i], dir);
    }
    w.summary_ = j.value("summary", json::object());
  } catch (const json::exception& e) {
    throw InvalidInput(path.string() + ": damaged workflow: " + e.what());
  }
  return w;
}

}  // namespace seqrec::etl

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/runtime.h"
#include "seqrec/export/bundle.h"

namespace seqrec::cli {

namespace {
struct ExportFlags {
  std::string data, run, checkpoint, out;
  std::vector<std::string> ensemble;
  int threads = 0;
  artifacts::ExportOptions options;
};
}  // namespace

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "write a servable bundle: fitted workflow + schema + model, versioned, with checksums");
  auto f = std::make_shared<ExportFlags>();
  cmd->add_option("--data,-d", f->data, "ETL output folder (workflow/ and schema.json)")->required();
  cmd->add_option("--run,-r", f->run, "run folder (uses its checkpoint.pt)");
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint file instead of --run");
  cmd->add_option("--ensemble", f->ensemble, "more run folders (repeatable) whose models are averaged with the first");
  cmd->add_option("--out,-o", f->out, "bundle folder to write (replaced atomically)")->required();
  cmd->add_option("--model-name", f->options.model_name, "the name clients use in /v2/models/{name}")->capture_default_str();
  cmd->add_option("--hybrid-sknn", f->options.hybrid_sknn,
                  "mix session kNN over the data's train sessions into every prediction with weight W (as evaluate --hybrid-sknn)")
      ->check(CLI::Range(0.0, 1.0));
  add_session_knn_flags(*cmd, f->options.hybrid_knn, "the hybrid's kNN");
  cmd->add_option("--threads", f->threads, "CPU threads loading and checking the model (0 = all cores)")
      ->capture_default_str()->group("Runtime");
  cmd->callback([f] {
    set_threads(f->threads);
    SEQREC_CHECK(!f->run.empty() || !f->checkpoint.empty(), "give --run DIR or --checkpoint FILE");
    const std::filesystem::path checkpoint =
        f->checkpoint.empty() ? std::filesystem::path(f->run) / "checkpoint.pt" : std::filesystem::path(f->checkpoint);
    for (const auto& run : f->ensemble) f->options.ensemble.push_back(std::filesystem::path(run) / "checkpoint.pt");
    auto manifest = artifacts::export_bundle(f->data, checkpoint, f->out, f->options);
    int64_t bytes = 0;
    for (const auto& [name, file] : manifest.files) bytes += file.bytes;
    std::fprintf(stderr, "[export] bundle '%s': model '%s', %zu files, %lld bytes, data fingerprint %s\n", f->out.c_str(),
                 manifest.model_name.c_str(), manifest.files.size(), static_cast<long long>(bytes),
                 manifest.data_fingerprint.c_str());
  });
}

}  // namespace seqrec::cli

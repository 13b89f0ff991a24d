#pragma once
// Each subcommand registers itself on the app; entry points stay thin: parse, build options, call the library.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace seqrec::model {
struct SessionKnnOptions;
}

namespace seqrec::cli {

void add_synth_command(CLI::App& app);
void add_etl_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_serve_command(CLI::App& app);

/// "10,20" -> {10, 20}; throws InvalidInput naming `option` for anything that is not a positive integer.
std::vector<int64_t> parse_k_list(const std::string& text, const std::string& option);

/// --threads and --device, shared by every command that runs a model.
struct RuntimeFlags {
  int threads = 0;
  std::string device = "cpu";
  void add_to(CLI::App& command);
};

/// --sknn-neighbors, --sknn-sample and STAN's --sknn-prefix-decay, --sknn-neighbor-decay, --sknn-idf: the session
/// kNN of evaluate, export and predict; `whose` begins each help text ("the hybrid's kNN").
void add_session_knn_flags(CLI::App& command, model::SessionKnnOptions& options, const std::string& whose);

}  // namespace seqrec::cli

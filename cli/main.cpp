#include <cstdio>
#include <exception>
#include <sstream>

#include "commands.h"
#include "seqrec/common/blas.h"
#include "seqrec/common/build_info.h"
#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"
#include "seqrec/common/runtime.h"
#include "seqrec/model/session_knn.h"

namespace seqrec::cli {

std::vector<int64_t> parse_k_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> ks;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    size_t used = 0;
    long long k = 0;
    try {
      k = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SEQREC_CHECK(used == part.size() && !part.empty(), option, ": '", part, "' is not an integer (expected e.g. 10,20)");
    SEQREC_CHECK(k > 0, option, " must be > 0, got ", k);
    ks.push_back(k);
    start = end + 1;
  }
  return ks;
}

void add_session_knn_flags(CLI::App& command, model::SessionKnnOptions& options, const std::string& whose) {
  command.add_option("--sknn-neighbors", options.neighbors, whose + ": neighbours that vote")
      ->capture_default_str()->check(CLI::PositiveNumber);
  command.add_option("--sknn-sample", options.sample_size, whose + ": the most recent sessions sharing an item it compares")
      ->capture_default_str()->check(CLI::PositiveNumber);
  command.add_option("--sknn-prefix-decay", options.prefix_decay,
                     whose + ": STAN's lambda_spw, a click j steps back weighs exp(-j/VALUE); 0 = V-SkNN's linear weights")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  command.add_option("--sknn-neighbor-decay", options.neighbor_decay,
                     whose + ": STAN's lambda_inh, a neighbour's item d clicks from the match votes exp(-d/VALUE); 0 = all alike")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  command.add_option("--sknn-idf", options.idf, whose + ": votes times log(sessions / sessions holding the item)^VALUE; 0 = off")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
}

void RuntimeFlags::add_to(CLI::App& command) {
  command.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str()->group("Runtime");
  command.add_option("--device", device, "cpu, cuda, cuda:N or auto")->capture_default_str()->group("Runtime");
}

namespace {

// CLI11 says "INI was not able to parse train.epoch"; say it as every other option source does: the file, the key and
// the nearest flag of that section's subcommand.
std::string explain_config_error(CLI::App& app, const std::string& message) {
  const std::string prefix = "INI was not able to parse ";
  if (message.rfind(prefix, 0) != 0) return message;
  const std::string key = message.substr(prefix.size());
  const size_t dot = key.rfind('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot), name = key.substr(dot + 1);
  std::vector<std::string> flags;
  for (CLI::App* sub : app.get_subcommands([&](CLI::App* s) { return s->get_name() == section; }))
    for (const CLI::Option* option : sub->get_options())
      for (const auto& long_name : option->get_lnames()) flags.push_back("--" + long_name);
  const CLI::Option* config = app.get_config_ptr();
  const std::string file = config && config->count() > 0 ? config->as<std::string>() : std::string("--config");
  std::string out = file + ": unknown key '" + key + "'";
  const std::string nearest = nearest_key(name, flags);
  if (!nearest.empty()) out += " (did you mean '" + nearest + "'?)";
  else if (flags.empty()) out += " (sections are subcommands: [train], [evaluate], ...)";
  return out;
}

// CLI11 says "The following arguments were not expected: 0.1 --lerning-rate"; name each unknown flag with the nearest
// flag of the subcommand given, as every other option source does.
std::string explain_extras(CLI::App& app, const std::string& message) {
  CLI::App* command = &app;
  std::string path = "seqrec";
  for (bool deeper = true; deeper;) {
    deeper = false;
    for (CLI::App* sub : command->get_subcommands())
      if (sub->parsed()) {
        command = sub, path += " " + sub->get_name(), deeper = true;
        break;
      }
  }
  std::vector<std::string> flags;
  for (const CLI::Option* option : command->get_options())
    for (const auto& long_name : option->get_lnames()) flags.push_back("--" + long_name);
  std::string out;
  std::istringstream words(message.substr(message.find(':') + 1));
  for (std::string word; words >> word;) {
    if (word.rfind("--", 0) != 0) continue;
    const std::string flag = word.substr(0, word.find('='));
    const std::string nearest = nearest_key(flag, flags);
    out += (out.empty() ? "" : "; ") + path + ": unknown flag '" + flag + "'" +
           (nearest.empty() ? std::string(" (see --help)") : " (did you mean '" + nearest + "'?)");
  }
  return out.empty() ? message : out;
}

}  // namespace

}  // namespace seqrec::cli

int main(int argc, char** argv) {
  const std::string blas_note = seqrec::ensure_fast_blas(argc, argv);
  CLI::App app{"seqrec: session-based next-item recommendation, from raw events to served top-k"};
  app.require_subcommand(0, 1);
  bool blas_info = false;
  app.add_flag("--blas-info", blas_info, "print the OpenBLAS kernel in use and exit");
  app.set_version_flag("--version", [] { return seqrec::build_info(); },
                       "print seqrec's and LibTorch's versions, CUDA, GPUs, BLAS and threads, and exit");
  app.set_config("--config", "", "read options from a TOML/INI file (flags override it)");
  app.allow_config_extras(false);  // an unknown key in the file is an error, as in every other option source
  seqrec::cli::add_synth_command(app);
  seqrec::cli::add_etl_command(app);
  seqrec::cli::add_train_command(app);
  seqrec::cli::add_evaluate_command(app);
  seqrec::cli::add_predict_command(app);
  seqrec::cli::add_export_command(app);
  seqrec::cli::add_inspect_command(app);
  seqrec::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    std::fprintf(stderr, "error: %s\n", seqrec::cli::explain_extras(app, e.what()).c_str());
    return 2;
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", seqrec::cli::explain_config_error(app, e.what()).c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // Usage errors exit 2 (help and version exit 0), as the house style asks.
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (blas_info) {
    std::printf("kernel: %s\n%s%s", seqrec::blas_kernel_name().c_str(), blas_note.c_str(), blas_note.empty() ? "" : "\n");
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  return 0;
}

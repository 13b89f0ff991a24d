#include <fstream>
#include <iostream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/etl/synth.h"

namespace seqrec::cli {

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "generate a realistic e-commerce click log with planted sequential structure");
  auto options = std::make_shared<etl::SynthOptions>();
  auto out = std::make_shared<std::string>("-");
  cmd->add_option("--out,-o", *out, "output CSV file, - for stdout")->capture_default_str();
  cmd->add_option("--sessions", options->sessions, "number of sessions")->capture_default_str();
  cmd->add_option("--items", options->items, "catalogue size")->capture_default_str();
  cmd->add_option("--categories", options->categories, "hidden categories")->capture_default_str();
  cmd->add_option("--days", options->days, "days the timestamps span")->capture_default_str();
  cmd->add_option("--zipf", options->zipf_exponent, "popularity exponent")->capture_default_str();
  cmd->add_option("--follow-probability", options->follow_probability, "chance of the hidden next item")->capture_default_str();
  cmd->add_option("--mean-length", options->mean_length, "mean session length")->capture_default_str();
  cmd->add_option("--seed", options->seed, "random seed")->capture_default_str();
  // Accepted as every command accepts it; generation is one sequential random stream, so the count changes nothing.
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--threads", *threads, "accepted for uniformity (synth runs on one thread)")->capture_default_str()->group("Runtime");
  cmd->callback([options, out] {
    int64_t events = 0;
    if (*out == "-") {
      events = etl::write_synth_events(*options, std::cout);
    } else {
      std::string tmp = *out + ".tmp";
      {
        std::ofstream file(tmp, std::ios::trunc);
        SEQREC_CHECK(file, "cannot open '", tmp, "' for writing");
        events = etl::write_synth_events(*options, file);
        SEQREC_CHECK(file.good(), "failed writing '", tmp, "'");
      }
      std::rename(tmp.c_str(), out->c_str());
    }
    std::fprintf(stderr, "[synth] %lld events in %lld sessions over %lld items\n", static_cast<long long>(events),
                 static_cast<long long>(options->sessions), static_cast<long long>(options->items));
  });
}

}  // namespace seqrec::cli

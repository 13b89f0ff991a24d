// The ETL benchmark driver: generates the event file (seqrec synth) when asked, then runs a workflow file
// over it (fit + transform, as `seqrec etl run`) and prints the summary with events per second.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "seqrec/etl/synth.h"
#include "seqrec/etl/workflow.h"

int main(int argc, char** argv) {
  CLI::App app{"seqrec ETL benchmark: workflow run over a (generated) event file"};
  std::string workflow, out;
  std::vector<std::string> inputs;
  int64_t synth_events = 0;
  int threads = 0;
  bool verbose = false;
  int64_t partition_mb = 4, chunk_mb = 8;
  app.add_option("--workflow", workflow, "workflow file")->required();
  app.add_option("--input", inputs, "event file (repeatable; the first is generated with --synth-events)")->required();
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--synth-events", synth_events, "write about this many synth events to --input if it is missing");
  app.add_option("--threads", threads, "parsing threads (0 = all cores)");
  app.add_flag("--verbose", verbose, "stage timings on stderr");
  app.add_option("--partition-mb", partition_mb, "raw input per spill partition, MiB");
  app.add_option("--chunk-mb", chunk_mb, "text parsed per chunk, MiB");
  CLI11_PARSE(app, argc, argv);
  try {
    const std::string& input = inputs.front();
    if (synth_events > 0 && !std::filesystem::exists(input)) {
      seqrec::etl::SynthOptions synth;
      synth.sessions = synth_events / 6;  // synth sessions average 6 clicks
      synth.items = 50000;
      synth.days = 7;
      std::ofstream file(input + ".tmp");
      const int64_t n = seqrec::etl::write_synth_events(synth, file);
      file.close();
      std::filesystem::rename(input + ".tmp", input);
      std::fprintf(stderr, "[bench] wrote %lld events to %s\n", static_cast<long long>(n), input.c_str());
    }
    auto wf = seqrec::etl::Workflow::from_file(workflow);
    seqrec::etl::RunOptions run;
    run.threads = threads;
    run.verbose = verbose;
    run.partition_bytes = partition_mb << 20;
    run.chunk_bytes = chunk_mb << 20;
    const auto start = std::chrono::steady_clock::now();
    auto s = wf.run(inputs, out, run);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"events\": %lld, \"sessions\": %lld, \"written\": %lld, \"seconds\": %.3f, \"events_per_s\": %.0f}\n",
                static_cast<long long>(s.read.rows_read), static_cast<long long>(s.sessions),
                static_cast<long long>(s.train + s.valid + s.test), seconds, s.read.rows_read / seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

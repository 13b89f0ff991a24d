#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/etl/workflow.h"

namespace seqrec::cli {

namespace {
char parse_delimiter(const std::string& name) {
  if (name == "auto") return 0;
  if (name == "comma" || name == ",") return ',';
  if (name == "tab" || name == "\\t" || name == "\t") return '\t';
  if (name == "semicolon" || name == ";") return ';';
  if (name == "pipe" || name == "|") return '|';
  SEQREC_CHECK(name.size() == 1, "--delimiter must be auto, comma, tab, semicolon, pipe or one character; got '", name, "'");
  return name[0];
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(',', start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

struct EtlFlags {
  std::vector<std::string> inputs;
  std::string out;
  std::string delimiter = "auto";
  std::string timestamp_format = "auto";
  std::string date_cols;
  std::string on_bad_row = "error", split = "time";  // parsed into enums in the callback, naming the flag
  int threads = 0;
  etl::WorkflowOptions options;
};

/// Flags of fit / transform / run.
struct WorkflowFlags {
  std::string workflow;
  std::vector<std::string> inputs;
  std::string out;
  int threads = 0;
  int64_t chunk_mb = 8;
  int64_t partition_mb = 4;
  std::string on_bad_row;
  std::string rejects;
  bool verbose = false;

  etl::RunOptions run() const {
    etl::RunOptions r;
    r.threads = threads;
    r.chunk_bytes = chunk_mb << 20;
    r.partition_bytes = partition_mb << 20;
    if (!on_bad_row.empty()) r.on_bad_row = parse_choice(etl::bad_row_policies(), on_bad_row, "--on-bad-row");
    r.rejects = rejects;
    r.verbose = verbose;
    return r;
  }
};

void print_summary(const etl::EtlSummary& s, const std::string& out) {
  std::fprintf(stderr, "[etl] %lld rows read, %lld rejected as bad, %lld consecutive repeats dropped (%.1f s)\n",
               static_cast<long long>(s.read.rows_read), static_cast<long long>(s.read.rows_skipped),
               static_cast<long long>(s.repeats_dropped), s.seconds);
  for (const auto& reason : s.read.first_skip_reasons) std::fprintf(stderr, "[etl]   rejected: %s\n", reason.c_str());
  if (s.read.rows_quarantined > 0)
    std::fprintf(stderr, "[etl]   %lld rows quarantined with their reasons in %s\n", static_cast<long long>(s.read.rows_quarantined),
                 s.read.quarantine_file.c_str());
  for (const auto& step : s.steps) {
    if (step.contains("rows_removed"))
      std::fprintf(stderr, "[etl]   %s removed %lld rows\n", step["step"].get<std::string>().c_str(),
                   static_cast<long long>(step["rows_removed"].get<int64_t>()));
    if (step.contains("elements_removed"))
      std::fprintf(stderr, "[etl]   %s removed %lld list elements\n", step["step"].get<std::string>().c_str(),
                   static_cast<long long>(step["elements_removed"].get<int64_t>()));
  }
  if (!out.empty())
    std::fprintf(stderr, "[etl] %lld sessions; written: train %lld, valid %lld, test %lld%s; %lld items\n",
                 static_cast<long long>(s.sessions), static_cast<long long>(s.train), static_cast<long long>(s.valid),
                 static_cast<long long>(s.test), s.windows.empty() ? "" : (" in " + std::to_string(s.windows.size()) + " windows").c_str(),
                 static_cast<long long>(s.vocabulary_size));
}

void add_workflow_flags(CLI::App* cmd, WorkflowFlags& f, const std::string& workflow_help, const std::string& out_help) {
  cmd->add_option("--workflow,-w", f.workflow, workflow_help)->required()->group("Input");
  cmd->add_option("--input,-i", f.inputs, "event file: CSV, TSV or JSON Lines, .gz too (repeatable)")->required()->group("Input");
  cmd->add_option("--out,-o", f.out, out_help)->required()->group("Input");
  cmd->add_option("--on-bad-row", f.on_bad_row, "error, skip or quarantine (overrides the workflow file)")->group("Input");
  cmd->add_option("--rejects", f.rejects, "quarantine file (default <out>/rejects.tsv)")->group("Input");
  cmd->add_option("--threads", f.threads, "parsing threads (0 = all cores)")->capture_default_str()->group("Runtime");
  cmd->add_option("--chunk-mb", f.chunk_mb, "text parsed per chunk, MiB")->capture_default_str()->group("Runtime");
  cmd->add_option("--partition-mb", f.partition_mb, "raw input per spill partition, MiB (bounds memory)")->capture_default_str()->group("Runtime");
  cmd->add_flag("--verbose,-v", f.verbose, "progress on stderr")->group("Runtime");
}

void add_workflow_subcommands(CLI::App* etl) {
  auto fit = std::make_shared<WorkflowFlags>();
  auto* fit_cmd = etl->add_subcommand("fit", "statistics pass: workflow file + events -> fitted workflow folder");
  add_workflow_flags(fit_cmd, *fit, "workflow file (JSON, or YAML as .yaml/.yml)", "fitted workflow folder to write");
  fit_cmd->callback([fit] {
    auto workflow = etl::Workflow::from_file(fit->workflow);
    auto run = fit->run();
    if (run.rejects.empty()) run.rejects = fit->out + ".rejects.tsv";
    auto s = workflow.fit(fit->inputs, run);
    workflow.save(fit->out, {{"fit", s.to_json()}});
    print_summary(s, "");
    std::fprintf(stderr, "[etl] fitted %s -> %s (%lld item values)\n", fit->workflow.c_str(), fit->out.c_str(),
                 static_cast<long long>(s.vocabulary_size));
  });

  auto tr = std::make_shared<WorkflowFlags>();
  auto* tr_cmd = etl->add_subcommand("transform", "apply a fitted workflow: events -> sessions/, schema.json, schema.pbtxt");
  add_workflow_flags(tr_cmd, *tr, "fitted workflow folder (from etl fit or etl run)", "output folder");
  tr_cmd->callback([tr] {
    auto workflow = etl::Workflow::load(tr->workflow);
    auto s = workflow.transform(tr->inputs, tr->out, tr->run());
    print_summary(s, tr->out);
    std::fprintf(stderr, "[etl] wrote %s/{sessions,schema.json,schema.pbtxt,summary.json}\n", tr->out.c_str());
  });

  auto run = std::make_shared<WorkflowFlags>();
  auto* run_cmd = etl->add_subcommand("run", "fit and transform in one pass over the events");
  add_workflow_flags(run_cmd, *run, "workflow file (JSON, or YAML as .yaml/.yml)", "output folder: workflow/, sessions/, schema.json, schema.pbtxt");
  run_cmd->callback([run] {
    auto workflow = etl::Workflow::from_file(run->workflow);
    auto s = workflow.run(run->inputs, run->out, run->run());
    print_summary(s, run->out);
    std::fprintf(stderr, "[etl] wrote %s/{workflow,sessions,schema.json,schema.pbtxt,summary.json}\n", run->out.c_str());
  });

  auto inspect_dir = std::make_shared<std::string>();
  auto* inspect = etl->add_subcommand("inspect", "print a fitted workflow: ops, statistics, vocabulary sizes, row counts");
  inspect->add_option("workflow", *inspect_dir, "fitted workflow folder")->required();
  inspect->callback([inspect_dir] { std::cout << etl::Workflow::load(*inspect_dir).describe().dump(2) << "\n"; });

  struct ExportFlags {
    std::string sessions, workflow, out = "-", delimiter = "comma";
  };
  auto ex = std::make_shared<ExportFlags>();
  auto* export_cmd = etl->add_subcommand("export-csv", "a sessions folder back to text, one row per session");
  export_cmd->add_option("--sessions,-s", ex->sessions, "sessions folder (e.g. out/sessions/test)")->required();
  export_cmd->add_option("--workflow,-w", ex->workflow, "fitted workflow folder: decode item ids to raw values");
  export_cmd->add_option("--out,-o", ex->out, "CSV file, - for stdout")->capture_default_str();
  export_cmd->add_option("--delimiter", ex->delimiter, "comma, tab, ...")->capture_default_str();
  export_cmd->callback([ex] {
    std::unique_ptr<etl::Workflow> workflow;
    if (!ex->workflow.empty()) workflow = std::make_unique<etl::Workflow>(etl::Workflow::load(ex->workflow));
    const char d = parse_delimiter(ex->delimiter);
    int64_t rows = 0;
    if (ex->out == "-") {
      rows = etl::export_sessions_csv(ex->sessions, std::cout, workflow.get(), d == 0 ? ',' : d);
    } else {
      std::ofstream file(ex->out);
      SEQREC_CHECK(file, "cannot open '", ex->out, "' for writing");
      rows = etl::export_sessions_csv(ex->sessions, file, workflow.get(), d == 0 ? ',' : d);
    }
    std::fprintf(stderr, "[etl] exported %lld sessions\n", static_cast<long long>(rows));
  });
}
}  // namespace

void add_etl_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "etl", "raw events -> fitted workflow, sessions dataset and schema (quick flags, or fit|transform|run --workflow FILE)");
  cmd->require_subcommand(0, 1);
  auto f = std::make_shared<EtlFlags>();
  auto& o = f->options;
  cmd->add_option("--input,-i", f->inputs, "quick path: delimited event file with a header (repeatable)")->group("Input");
  cmd->add_option("--out,-o", f->out, "quick path: output folder: workflow/, sessions/, schema.json")->group("Input");
  cmd->add_option("--delimiter", f->delimiter, "auto, comma, tab, semicolon, pipe or a character")->capture_default_str()->group("Input");
  cmd->add_option("--session-col", o.columns.session, "session id column")->capture_default_str()->group("Columns");
  cmd->add_option("--item-col", o.columns.item, "item id column")->capture_default_str()->group("Columns");
  cmd->add_option("--timestamp-col", o.columns.timestamp, "timestamp column")->capture_default_str()->group("Columns");
  cmd->add_option("--timestamp-format", f->timestamp_format, "auto, s, ms or iso")->capture_default_str()->group("Columns");
  cmd->add_option("--date-cols", f->date_cols, "year,month,day columns instead of a timestamp")->group("Columns");
  cmd->add_option("--order-col", o.columns.order, "click-order column (ties within a timestamp; with --date-cols, the time of day)")
      ->group("Columns");
  cmd->add_option("--min-item-freq", o.min_item_frequency, "rarer items become OOV (id 2)")->capture_default_str()->group("Sessions");
  cmd->add_flag("--drop-repeats", o.drop_repeats, "remove consecutive repeats of an item")->group("Sessions");
  cmd->add_option("--max-length", o.max_length, "keep the last N items of a session")->capture_default_str()->group("Sessions");
  cmd->add_option("--min-length", o.min_length, "drop shorter sessions")->capture_default_str()->group("Sessions");
  cmd->add_option("--on-bad-row", f->on_bad_row, "error (stop at the first), skip (count them) or quarantine (count, keep in <out>/rejects.tsv)")
      ->capture_default_str()->group("Sessions");
  cmd->add_option("--split", f->split, "time (last days are test) or random")->capture_default_str()->group("Split");
  cmd->add_option("--valid-days", o.split.valid_days, "time split: days of valid sessions")->capture_default_str()->group("Split");
  cmd->add_option("--test-days", o.split.test_days, "time split: last days, test sessions")->capture_default_str()->group("Split");
  cmd->add_option("--valid-fraction", o.split.valid_fraction, "random split")->capture_default_str()->group("Split");
  cmd->add_option("--test-fraction", o.split.test_fraction, "random split")->capture_default_str()->group("Split");
  cmd->add_option("--seed", o.split.seed, "random split seed")->capture_default_str()->group("Split");
  cmd->add_option("--threads", f->threads, "parsing threads (0 = all cores)")->capture_default_str()->group("Runtime");
  add_workflow_subcommands(cmd);
  cmd->callback([f, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    if (f->inputs.empty()) throw CLI::RequiredError("--input (or a subcommand: fit, transform, run, inspect, export-csv)");
    if (f->out.empty()) throw CLI::RequiredError("--out");
    auto& o = f->options;
    o.delimiter = parse_delimiter(f->delimiter);
    o.on_bad_row = parse_choice(etl::bad_row_policies(), f->on_bad_row, "--on-bad-row");
    o.split.method = parse_choice(etl::split_methods(), f->split, "--split");
    o.columns.timestamp_format = etl::parse_timestamp_format(f->timestamp_format);
    o.columns.date_parts = split_list(f->date_cols);
    etl::RunOptions run;
    run.threads = f->threads;
    auto s = etl::run_etl(f->inputs, o, f->out, run);
    print_summary(s, f->out);
    std::fprintf(stderr, "[etl] wrote %s/{workflow,sessions,schema.json}\n", f->out.c_str());
  });
}

}  // namespace seqrec::cli

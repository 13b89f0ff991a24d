#include <cstdio>

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
  etl::WorkflowOptions options;
};
}  // namespace

void add_etl_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("etl", "raw events -> fitted workflow, sessions dataset (train/valid/test) and schema");
  auto f = std::make_shared<EtlFlags>();
  auto& o = f->options;
  cmd->add_option("--input,-i", f->inputs, "delimited event file with a header (repeatable)")->required()->group("Input");
  cmd->add_option("--out,-o", f->out, "output folder: workflow/, sessions/, schema.json")->required()->group("Input");
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
  cmd->add_option("--on-bad-row", o.on_bad_row, "error (stop at the first) or skip (count them)")->capture_default_str()->group("Sessions");
  cmd->add_option("--split", o.split.method, "time (last days are test) or random")->capture_default_str()->group("Split");
  cmd->add_option("--valid-days", o.split.valid_days, "time split: days of valid sessions")->capture_default_str()->group("Split");
  cmd->add_option("--test-days", o.split.test_days, "time split: last days, test sessions")->capture_default_str()->group("Split");
  cmd->add_option("--valid-fraction", o.split.valid_fraction, "random split")->capture_default_str()->group("Split");
  cmd->add_option("--test-fraction", o.split.test_fraction, "random split")->capture_default_str()->group("Split");
  cmd->add_option("--seed", o.split.seed, "random split seed")->capture_default_str()->group("Split");
  cmd->callback([f] {
    auto& o = f->options;
    o.delimiter = parse_delimiter(f->delimiter);
    o.columns.timestamp_format = etl::parse_timestamp_format(f->timestamp_format);
    o.columns.date_parts = split_list(f->date_cols);
    auto s = etl::run_etl(f->inputs, o, f->out);
    std::fprintf(stderr, "[etl] %lld rows read, %lld skipped as bad, %lld consecutive repeats dropped\n",
                 static_cast<long long>(s.read.rows_read), static_cast<long long>(s.read.rows_skipped),
                 static_cast<long long>(s.repeats_dropped));
    for (const auto& reason : s.read.first_skip_reasons) std::fprintf(stderr, "[etl]   skipped: %s\n", reason.c_str());
    std::fprintf(stderr, "[etl] %lld sessions, %lld shorter than %lld removed; train %lld, valid %lld, test %lld; %lld items\n",
                 static_cast<long long>(s.sessions), static_cast<long long>(s.removed_short),
                 static_cast<long long>(o.min_length), static_cast<long long>(s.train), static_cast<long long>(s.valid),
                 static_cast<long long>(s.test), static_cast<long long>(s.vocabulary_size));
    std::fprintf(stderr, "[etl] wrote %s/{workflow,sessions,schema.json}\n", f->out.c_str());
  });
}

}  // namespace seqrec::cli

#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "seqrec/etl/event_reader.h"
#include "seqrec/etl/frame.h"
#include "seqrec/etl/op.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/etl/timestamp.h"
#include "seqrec/etl/vocabulary.h"
#include "seqrec/schema/schema.h"

namespace seqrec::etl {

// The ETL writes the schema's session dataset (schema/session_dataset.h): its names, unqualified here.
using schema::read_sessions;
using schema::SessionTable;
using schema::SessionWriter;
using schema::write_sessions;

namespace detail {
class PartitionStore;
}

/// Which raw columns hold the session, the item and the time of each event (the flag form, and the names
/// transform_events fills from an Event).
struct EventColumns {
  std::string session = "session_id";
  std::string item = "item_id";
  /// Timestamp column; with `date_parts` set, the name the made-up timestamp gets.
  std::string timestamp = "timestamp";
  TimestampFormat timestamp_format = TimestampFormat::kAuto;
  /// Year, month and day columns for data with day-level dates only (e.g. the UCI e-shop data).
  std::vector<std::string> date_parts;
  /// Optional click-order column: orders events with equal timestamps; with `date_parts` it also makes
  /// the (made-up) time of day: timestamp = date + order seconds.
  std::string order;
};

/// How sessions are divided (DESIGN.md §2, the layouts agreed with training):
/// time    - the last `test_days` days are test, the `valid_days` before them valid: sessions/{train,valid,test}
/// random  - fractions with a seed (by a hash of the session id, so the same session always lands alike)
/// cutoffs - sessions starting at or after `valid_from` are valid, at or after `test_from` test
/// window  - one folder per day or hour, sessions/<window>/{train,valid,test}, split inside the window at
///           random by the fractions (Transformers4Rec's time-based splits); sessions/windows.json lists them
/// none    - everything in sessions/all
enum class SplitMethod { kTime, kRandom, kCutoffs, kWindow, kNone };
const Choices<SplitMethod>& split_methods();  ///< time, random, cutoffs, window, none
enum class SplitWindow { kDay, kHour };
const Choices<SplitWindow>& split_windows();  ///< day, hour

struct SplitOptions {
  SplitMethod method = SplitMethod::kTime;
  int64_t valid_days = 1;
  int64_t test_days = 1;
  double valid_fraction = 0.1;
  double test_fraction = 0.1;
  uint64_t seed = 42;
  SplitWindow window = SplitWindow::kDay;  ///< window
  int64_t valid_from_ms = 0;   ///< cutoffs
  int64_t test_from_ms = 0;    ///< cutoffs

  nlohmann::json to_json() const;
  static SplitOptions from_json(const nlohmann::json& j, const std::string& where);
  std::vector<std::string> problems() const;
};

/// The flag form of `seqrec etl --input ... --out ...`: the quick path, translated into a workflow spec.
struct WorkflowOptions {
  EventColumns columns;
  char delimiter = 0;               ///< 0 = detect from each file's header
  int64_t min_item_frequency = 1;   ///< items seen fewer times become the OOV id 2
  bool drop_repeats = false;        ///< remove consecutive repeats of the same item within a session
  int64_t max_length = 20;          ///< keep the last N items of each session
  int64_t min_length = 2;           ///< drop shorter sessions (batch data only, never online)
  BadRowPolicy on_bad_row = BadRowPolicy::kError;
  SplitOptions split;

  nlohmann::json to_json() const;
  static WorkflowOptions from_json(const nlohmann::json& j);
  /// Every problem with the options, one per line; empty when valid.
  std::vector<std::string> problems() const;
  /// The equivalent workflow file (input, steps, output, split).
  nlohmann::json to_spec() const;
};

/// One raw event of a typed request (library callers and tests): Workflow::transform_events turns events into the
/// workflow's raw columns and takes the same road as files.
struct Event {
  std::string session;
  std::string item;
  int64_t timestamp_ms = 0;
  int64_t order = 0;  ///< order column value, else the position in the input
};

/// Other names a request may give the session, item and timestamp columns (predict's --session-col, ...).
struct RequestNames {
  std::string session, item, timestamp;
};

/// How a batch run streams: threads for parsing, chunk size, spill partitions.
struct RunOptions {
  int threads = 0;                   ///< 0 = all cores
  int64_t chunk_bytes = 8 << 20;     ///< text parsed per chunk
  int64_t partition_bytes = 4 << 20; ///< raw input per spill partition (memory is bounded by a few partitions)
  std::optional<BadRowPolicy> on_bad_row;  ///< overrides the workflow file's input.on_bad_row when set
  std::filesystem::path rejects;     ///< quarantine file; transform/run default to <out>/rejects.tsv
  bool verbose = false;              ///< progress lines on stderr
};

/// What a batch ETL did: printed, and kept in the workflow's manifest and in <out>/summary.json.
struct EtlSummary {
  ReadStats read;
  int64_t repeats_dropped = 0;   ///< elements removed by DropRepeats steps
  int64_t sessions = 0;          ///< sessions after Groupby, before filters
  int64_t removed_short = 0;     ///< rows removed by Filter steps
  int64_t train = 0, valid = 0, test = 0;
  int64_t vocabulary_size = 0;   ///< values of the item vocabulary
  nlohmann::json steps = nlohmann::json::array();  ///< per step: op, rows (or elements) removed
  nlohmann::json windows = nlohmann::json::array(); ///< window layout: per window, sessions per split
  double seconds = 0;
  nlohmann::json to_json() const;
};

/// Per-step counters of one transform.
struct StepCounts {
  std::vector<int64_t> removed;  ///< per step: rows (DropRepeats: list elements) removed
  int64_t sessions = 0;          ///< rows right after Groupby
};

/// The fitted ETL: a declarative op graph (workflow file) plus the statistics each op fitted. The same ops
/// transform batch files (fit/transform/run) and live requests (transform_frame, transform_events).
class Workflow {
 public:
  Workflow() = default;
  /// A workflow from a parsed workflow file; checks every step and reports all problems at once.
  static Workflow from_spec(const nlohmann::json& spec, const std::string& origin = "workflow");
  /// Reads a workflow file (JSON).
  static Workflow from_file(const std::filesystem::path& path);
  /// The quick path: the flag form translated into a workflow.
  static Workflow from_options(const WorkflowOptions& options);

  /// Statistics pass over raw columns in memory (events_frame, raw_frame).
  void fit_frame(Frame raw);
  /// Statistics pass over files: streamed in chunks, parsed on several threads, spilled by session.
  EtlSummary fit(const std::vector<std::string>& inputs, const RunOptions& run = {});
  /// Applies the fitted workflow to files and writes `<out>/sessions/...`, `<out>/schema.json`,
  /// `<out>/schema.pbtxt` and `<out>/summary.json`.
  EtlSummary transform(const std::vector<std::string>& inputs, const std::filesystem::path& out, const RunOptions& run = {}) const;
  /// fit + transform with one parse of the inputs; also saves the workflow to `<out>/workflow`.
  EtlSummary run(const std::vector<std::string>& inputs, const std::filesystem::path& out, const RunOptions& run = {});

  /// The online path: raw events of a few sessions (typed columns named as the workflow's input) to
  /// model-ready sessions. Steps marked "online": false (Filter by default) are skipped.
  SessionTable transform_frame(Frame raw) const;
  /// The same for Event records (session, item, timestamp, order).
  SessionTable transform_events(std::vector<Event> events) const;
  /// Event records as the workflow's raw columns (the timestamp as milliseconds).
  Frame events_frame(const std::vector<Event>& events) const;
  /// The raw columns a request carries (a `predict` file, a server request): the workflow's input columns, each
  /// also accepted under its Merlin name (session_id, item_id, timestamp) and under the `names` given.
  InputSpec request_input(const RequestNames& names = {}) const;
  /// The online path for a file of raw events in the input layout (CSV/TSV/JSON Lines, gzip), read by the ETL's
  /// own reader with `request` (request_input()); bad rows are errors or counted as the workflow's on_bad_row says.
  SessionTable transform_file(const std::string& path, const InputSpec& request, ReadStats& stats) const;
  /// The raw input columns the output columns `outputs` are made from (followed back through the steps).
  std::set<std::string> raw_inputs_of(const std::vector<std::string>& outputs) const;
  /// Builds raw input from text values, parsed exactly as files are: {"session_id": [...], "item_id": [...]}.
  Frame raw_frame(const std::vector<std::pair<std::string, std::vector<std::string>>>& columns) const;
  /// The final frame of a transform, before it becomes a SessionTable (for tests and export).
  Frame transform_to_frame(Frame raw, bool online, StepCounts* counts = nullptr) const;
  /// The final columns (names, types, tags, cardinalities) without data.
  Frame output_columns() const;

  /// The schema of the sessions this workflow writes; `lengths` are the observed list lengths.
  schema::Schema output_schema(int64_t max_observed_length) const;
  schema::Schema output_schema(const std::map<std::string, std::pair<int64_t, int64_t>>& lengths) const;

  const WorkflowOptions& options() const { return options_; }
  WorkflowOptions& options() { return options_; }
  /// The vocabulary of the item column (an empty one when the workflow has none).
  const Vocabulary& items() const;
  const InputSpec& input() const { return input_; }
  const nlohmann::json& spec() const { return spec_; }
  const SplitOptions& split() const { return split_; }
  bool fitted() const;
  /// Ops, fitted statistics, vocabulary sizes and the last summary, for `seqrec etl inspect`.
  nlohmann::json describe() const;

  /// workflow.json (spec, fitted state, summary) + one file per vocabulary, written atomically as a folder.
  void save(const std::filesystem::path& dir, const nlohmann::json& summary) const;
  static Workflow load(const std::filesystem::path& dir);


 private:
  void build(const nlohmann::json& spec, const std::string& origin);
  // build(), step by step; each appends what is wrong to `problems`.
  bool make_steps(const nlohmann::json& spec, const std::string& origin, std::vector<std::string>& problems);
  std::set<std::string> trace_columns(std::vector<std::string>& problems);
  void read_output(const nlohmann::json& out, const std::set<std::string>& have, std::vector<std::string>& problems);
  void remember_event_roles(const nlohmann::json& events);
  /// Calls its consumer with every partition, holding at least the given raw columns.
  using PartitionSource = std::function<void(const std::set<std::string>&, const std::function<void(Frame&&)>&)>;
  void fit_frames(const PartitionSource& for_each_partition);
  SessionTable to_sessions(Frame& frame, std::vector<int64_t>* start_ms = nullptr) const;
  std::unique_ptr<detail::PartitionStore> spill(const std::vector<std::string>& inputs, const std::filesystem::path& dir,
                                                const RunOptions& run, EtlSummary& summary) const;
  /// spill() into `<out>/spill.tmp`, with rejects in `<out>/rejects.tsv` unless `run` names a file.
  std::unique_ptr<detail::PartitionStore> spill_into(const std::filesystem::path& out, const std::vector<std::string>& inputs,
                                                     const RunOptions& run, EtlSummary& summary) const;
  void write_outputs(detail::PartitionStore& store, const std::filesystem::path& out, EtlSummary& summary) const;

  nlohmann::json spec_;
  InputSpec input_;
  SplitOptions split_;
  std::vector<std::shared_ptr<Op>> steps_;
  std::string group_key_;      ///< the Groupby key: spill partitions hash it
  std::string out_session_, out_item_, out_timestamp_, out_time_;
  WorkflowOptions options_;
  nlohmann::json summary_ = nlohmann::json::object();
  mutable int threads_ = 0;  ///< the last batch run's --threads, for its transform workers
};

/// The batch ETL of the flag form: fit and transform `inputs`, write `<out>/workflow`,
/// `<out>/sessions/{train,valid,test}` and `<out>/schema.json`.
EtlSummary run_etl(const std::vector<std::string>& inputs, const WorkflowOptions& options,
                   const std::filesystem::path& out, const RunOptions& run = {});

/// Writes a sessions folder back to text: one row per session, lists joined with `list_sep`.
/// `workflow` (optional) decodes item ids to raw values and writes timestamps in the unit its input declared (seconds
/// when whole otherwise, as `auto` reads them back). Returns the rows written.
int64_t export_sessions_csv(const std::filesystem::path& sessions_dir, std::ostream& out, const Workflow* workflow = nullptr,
                            char delimiter = ',', char list_sep = ' ');

}  // namespace seqrec::etl

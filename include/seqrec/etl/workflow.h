#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "seqrec/etl/session_dataset.h"
#include "seqrec/etl/timestamp.h"
#include "seqrec/etl/vocabulary.h"
#include "seqrec/schema/schema.h"

namespace seqrec::etl {

/// Which raw columns hold the session, the item and the time of each event.
struct EventColumns {
  std::string session = "session_id";
  std::string item = "item_id";
  /// Timestamp column; unused when `date_parts` is set.
  std::string timestamp = "timestamp";
  TimestampFormat timestamp_format = TimestampFormat::kAuto;
  /// Year, month and day columns for data with day-level dates only (e.g. the UCI e-shop data).
  std::vector<std::string> date_parts;
  /// Optional click-order column: orders events with equal timestamps; with `date_parts` it also makes
  /// the (made-up) time of day: timestamp = date + order seconds.
  std::string order;
};

/// How sessions are divided into train / valid / test.
struct SplitOptions {
  std::string method = "time";  ///< "time": the last days are test; "random": fractions with a seed
  int64_t valid_days = 1;       ///< time: days (before the test days) whose sessions are valid
  int64_t test_days = 1;        ///< time: last days whose sessions are test
  double valid_fraction = 0.1;  ///< random
  double test_fraction = 0.1;   ///< random
  uint64_t seed = 42;           ///< random
};

/// Everything the ETL stage does, saved inside the fitted workflow and applied unchanged online.
struct WorkflowOptions {
  EventColumns columns;
  char delimiter = 0;               ///< 0 = detect from each file's header
  int64_t min_item_frequency = 1;   ///< items seen fewer times in train become the OOV id 2
  bool drop_repeats = false;        ///< remove consecutive repeats of the same item within a session
  int64_t max_length = 20;          ///< keep the last N items of each session
  int64_t min_length = 2;           ///< drop shorter sessions (training data only, never online)
  std::string on_bad_row = "error"; ///< "error": stop at the first bad row; "skip": count and go on
  SplitOptions split;

  nlohmann::json to_json() const;
  static WorkflowOptions from_json(const nlohmann::json& j);
  /// Every problem with the options, one per line; empty when valid.
  std::vector<std::string> problems() const;
};

/// One raw event as read from a file or a request.
struct Event {
  std::string session;
  std::string item;
  int64_t timestamp_ms = 0;
  int64_t order = 0;  ///< order column value, else the position in the input
};

/// One session's events in time order, items still raw.
struct RawSession {
  std::string id;
  std::vector<std::string> items;
  std::vector<int64_t> timestamps;
};

/// Counters of the last read, printed and kept in the workflow's manifest. Nothing is dropped uncounted.
struct ReadStats {
  int64_t rows_read = 0;
  int64_t rows_skipped = 0;  ///< bad rows skipped with on_bad_row=skip
  std::vector<std::string> first_skip_reasons;
};

/// Reads events from a delimited file with the options' column mapping. Bad rows throw InvalidInput with
/// file:line:column and the row's text, or are counted in `stats` when on_bad_row=skip.
std::vector<Event> read_events(const std::string& path, const WorkflowOptions& options, ReadStats& stats);

/// Groups events by session (first-seen order), sorts each by (timestamp, order), drops consecutive repeats
/// when asked. `repeats_dropped` counts removed events.
std::vector<RawSession> group_sessions(std::vector<Event> events, bool drop_repeats, int64_t* repeats_dropped = nullptr);

/// The fitted ETL: options plus the item vocabulary. One code path for batch files and live requests.
class Workflow {
 public:
  Workflow() = default;
  /// Fits the item vocabulary on `train` sessions.
  static Workflow fit(const std::vector<RawSession>& train, const WorkflowOptions& options);

  /// Categorifies and truncates sessions; drops those shorter than min_length when `filter_short`.
  SessionTable transform(const std::vector<RawSession>& sessions, bool filter_short, int64_t* removed_short = nullptr) const;
  /// The online path: raw events of a few sessions in, model-ready sessions out (no length filter).
  SessionTable transform_events(std::vector<Event> events) const;
  /// The schema of the sessions this workflow writes.
  schema::Schema output_schema(int64_t max_observed_length) const;

  const WorkflowOptions& options() const { return options_; }
  WorkflowOptions& options() { return options_; }
  const Vocabulary& items() const { return items_; }

  /// workflow.json (options, summary) + item_id.vocab.tsv, written atomically as a folder.
  void save(const std::filesystem::path& dir, const nlohmann::json& summary) const;
  static Workflow load(const std::filesystem::path& dir);

 private:
  WorkflowOptions options_;
  Vocabulary items_;
};

/// What `seqrec etl` did, for the summary printed and saved.
struct EtlSummary {
  ReadStats read;
  int64_t repeats_dropped = 0;
  int64_t sessions = 0;
  int64_t removed_short = 0;
  int64_t train = 0, valid = 0, test = 0;
  int64_t vocabulary_size = 0;
  nlohmann::json to_json() const;
};

/// The batch ETL: reads `inputs`, groups, splits, fits on train, writes `<out>/workflow`,
/// `<out>/sessions/{train,valid,test}` and `<out>/schema.json`.
EtlSummary run_etl(const std::vector<std::string>& inputs, const WorkflowOptions& options,
                   const std::filesystem::path& out);

}  // namespace seqrec::etl

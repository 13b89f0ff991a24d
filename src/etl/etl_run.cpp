// The batch ETL: parse inputs into session partitions, fit, transform each partition, and route sessions
// to their split (and time window) folders.
#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <cstdio>
#include <map>
#include <unistd.h>

#include "etl/ops/op_util.h"
#include "etl/partition_store.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/schema/pbtxt.h"

namespace seqrec::etl {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMillisPerHour = 3600000;
const char* kSplitNames[] = {"train", "valid", "test"};

int partitions_for(const std::vector<std::string>& inputs, const RunOptions& run) {
  uintmax_t bytes = 0;
  for (const auto& p : inputs) {
    std::error_code ec;
    uintmax_t size = fs::file_size(p, ec);
    if (ec) continue;
    // gzip text is about 4-6x smaller than the raw text the partitions hold.
    bytes += p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0 ? size * 5 : size;
  }
  const int64_t per = std::max<int64_t>(run.partition_bytes, 1 << 20);
  // At most 768 partitions: each is an open file while spilling, and the usual limit is 1024 descriptors.
  return static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(bytes) / per + 1, 1, 768));
}

std::string window_name(const std::string& window, int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, window == "hour" ? "hour-%06lld" : "day-%04lld", static_cast<long long>(index));
  return buf;
}

std::string iso_time(int64_t ms) {
  int64_t days = detail::floor_div(ms, kMillisPerDay);
  int64_t rest = ms - days * kMillisPerDay;
  // civil_from_days (Howard Hinnant's algorithm), for labels only.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:00:00Z", static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d), static_cast<long long>(rest / kMillisPerHour));
  return buf;
}

/// Routes sessions into split folders under the sessions temp folder as the split options say.
class SplitRouter {
 public:
  SplitRouter(const SplitOptions& split, fs::path root) : s_(split), root_(std::move(root)) {}

  void route(const SessionTable& t, const std::vector<int64_t>& start_ms) {
    // Rows by (time bucket, split) first; the folder name is made once per group, not once per session.
    std::map<std::pair<int64_t, int>, std::vector<int64_t>> rows;
    for (int64_t r = 0; r < t.size(); ++r) rows[slot(t.session_ids[r], start_ms[r])].push_back(r);
    for (auto& [s, list] : rows) writer(key(s)).append(t.take(list));
  }

  void finish(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths) {
    auto count = [&](int split, int64_t n) { (split == 0 ? summary.train : split == 1 ? summary.valid : summary.test) += n; };
    if (s_.method == "time") {
      std::vector<int64_t> days;
      for (const auto& [k, w] : writers_) days.push_back(std::stoll(k.substr(6)));
      std::sort(days.begin(), days.end());
      const int64_t needed = s_.valid_days + s_.test_days + 1;
      SEQREC_CHECK(static_cast<int64_t>(days.size()) >= needed, "time split needs at least ", needed, " distinct days (",
                   s_.valid_days, " valid + ", s_.test_days, " test + 1 train) but the data spans ", days.size(),
                   "; lower --valid-days/--test-days or use --split random");
      const int64_t test_from = days[days.size() - s_.test_days];
      const int64_t valid_from = days[days.size() - s_.test_days - s_.valid_days];
      SessionWriter out[3] = {SessionWriter(root_ / "train"), SessionWriter(root_ / "valid"), SessionWriter(root_ / "test")};
      for (int64_t day : days) {
        auto& w = writers_.at("_days/" + std::to_string(day));
        w->finish(like);
        const fs::path dir = root_ / "_days" / std::to_string(day);
        const int split = day >= test_from ? 2 : day >= valid_from ? 1 : 0;
        out[split].append(read_sessions(dir));
        fs::remove_all(dir);
      }
      fs::remove_all(root_ / "_days");
      for (int k = 0; k < 3; ++k) {
        count(k, out[k].rows());
        merge(lengths, out[k].list_lengths());
        out[k].finish(like);
      }
      return;
    }
    if (s_.method == "window") {
      std::vector<int64_t> buckets;
      for (const auto& [k, w] : writers_) {
        int64_t b = std::stoll(k.substr(9, k.find('/', 9) - 9));
        if (buckets.empty() || buckets.back() != b) buckets.push_back(b);
      }
      std::sort(buckets.begin(), buckets.end());
      buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
      SEQREC_CHECK(!buckets.empty(), "no sessions to write after the filters");
      const int64_t unit = s_.window == "hour" ? kMillisPerHour : kMillisPerDay;
      json windows = json::array();
      for (int64_t b : buckets) {
        const std::string name = window_name(s_.window, b - buckets.front() + 1);
        json counts = json::object();
        for (int k = 0; k < 3; ++k) {
          const std::string key = "_windows/" + std::to_string(b) + "/" + kSplitNames[k];
          auto it = writers_.find(key);
          SessionWriter* w = it != writers_.end() ? it->second.get() : &writer(key);
          counts[kSplitNames[k]] = w->rows();
          count(k, w->rows());
          merge(lengths, w->list_lengths());
          w->finish(like);
        }
        fs::create_directories(root_ / name);
        for (const char* split : kSplitNames) fs::rename(root_ / "_windows" / std::to_string(b) / split, root_ / name / split);
        windows.push_back({{"name", name}, {"start", iso_time(b * unit)}, {"start_ms", b * unit}, {"sessions", counts}});
      }
      fs::remove_all(root_ / "_windows");
      summary.windows = windows;
      json manifest = {{"format", "seqrec-windows"}, {"version", 1}, {"window", s_.window}, {"windows", windows}};
      write_text_file_atomic(root_ / "windows.json", manifest.dump(2) + "\n");
      return;
    }
    std::vector<std::string> names = s_.method == "none" ? std::vector<std::string>{"all"}
                                                         : std::vector<std::string>{"train", "valid", "test"};
    for (size_t k = 0; k < names.size(); ++k) {
      auto it = writers_.find(names[k]);
      SessionWriter* w = it != writers_.end() ? it->second.get() : &writer(names[k]);
      count(static_cast<int>(k), w->rows());
      merge(lengths, w->list_lengths());
      w->finish(like);
    }
  }

 private:
  static void merge(std::map<std::string, std::pair<int64_t, int64_t>>& into,
                    const std::map<std::string, std::pair<int64_t, int64_t>>& from) {
    for (const auto& [name, mm] : from) {
      auto [it, inserted] = into.emplace(name, mm);
      it->second.first = std::min(it->second.first, mm.first);
      it->second.second = std::max(it->second.second, mm.second);
    }
  }
  int random_split(const std::string& session) const {
    // A hash of (seed, session id): the same session lands in the same split however the input is ordered.
    const double u = static_cast<double>(mix64(stable_hash(session) ^ mix64(s_.seed)) >> 11) * 0x1.0p-53;
    return u < s_.test_fraction ? 2 : u < s_.test_fraction + s_.valid_fraction ? 1 : 0;
  }
  /// (time bucket, split) of a session: the bucket is a day or hour for time and window splits, else 0.
  std::pair<int64_t, int> slot(const std::string& session, int64_t ms) const {
    if (s_.method == "time") return {detail::floor_div(ms, kMillisPerDay), 0};
    if (s_.method == "random") return {0, random_split(session)};
    if (s_.method == "cutoffs")
      return {0, ms >= s_.test_from_ms ? 2 : (s_.valid_from_ms > 0 && ms >= s_.valid_from_ms) ? 1 : 0};
    if (s_.method == "window")
      return {detail::floor_div(ms, s_.window == "hour" ? kMillisPerHour : kMillisPerDay), random_split(session)};
    return {0, 0};
  }
  std::string key(const std::pair<int64_t, int>& slot) const {
    if (s_.method == "time") return "_days/" + std::to_string(slot.first);
    if (s_.method == "window") return "_windows/" + std::to_string(slot.first) + "/" + kSplitNames[slot.second];
    if (s_.method == "none") return "all";
    return kSplitNames[slot.second];
  }

  SessionWriter& writer(const std::string& key) {
    auto& w = writers_[key];
    if (!w) {
      fs::create_directories((root_ / key).parent_path());
      w = std::make_unique<SessionWriter>(root_ / key);
    }
    return *w;
  }

  SplitOptions s_;
  fs::path root_;
  std::map<std::string, std::unique_ptr<SessionWriter>> writers_;
};

/// Feeds every partition in order to `consume`, loading the next one on another thread meanwhile.
void for_each_prefetched(const detail::PartitionStore& store, const std::set<std::string>& columns,
                         const std::function<void(Frame&&)>& consume) {
  if (store.size() == 0) return;
  std::future<Frame> next = std::async(std::launch::async, [&] { return store.load(0, &columns); });
  for (int p = 0; p < store.size(); ++p) {
    Frame frame = next.get();
    if (p + 1 < store.size()) next = std::async(std::launch::async, [&, p] { return store.load(p + 1, &columns); });
    consume(std::move(frame));
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

json EtlSummary::to_json() const {
  json j = {{"rows_read", read.rows_read},
            {"rows_rejected", read.rows_skipped},
            {"rows_skipped", read.rows_skipped},
            {"skip_reasons", read.first_skip_reasons},
            {"repeats_dropped", repeats_dropped},
            {"sessions", sessions},
            {"removed_short_sessions", removed_short},
            {"sessions_per_split", {{"train", train}, {"valid", valid}, {"test", test}}},
            {"item_vocabulary_size", vocabulary_size},
            {"steps", steps},
            {"seconds", seconds}};
  if (read.rows_quarantined > 0) j["quarantined"] = {{"rows", read.rows_quarantined}, {"file", read.quarantine_file}};
  if (!windows.empty()) j["windows"] = windows;
  return j;
}

std::unique_ptr<detail::PartitionStore> Workflow::spill(const std::vector<std::string>& inputs, const fs::path& dir,
                                                        const RunOptions& run, EtlSummary& summary) const {
  SEQREC_CHECK(!inputs.empty(), "no input files: give --input FILE (repeatable)");
  InputSpec spec = input_;
  if (!run.on_bad_row.empty()) spec.on_bad_row = run.on_bad_row;
  SEQREC_CHECK(spec.on_bad_row == "error" || spec.on_bad_row == "skip" || spec.on_bad_row == "quarantine",
               "--on-bad-row must be error, skip or quarantine, got '", spec.on_bad_row, "'");
  for (const auto& path : inputs) require_exists(path, "file");
  threads_ = run.threads;
  auto store = std::make_unique<detail::PartitionStore>(dir, partitions_for(inputs, run), group_key_);
  ReaderOptions reader;
  reader.threads = run.threads;
  reader.chunk_bytes = run.chunk_bytes;
  reader.quarantine = run.rejects;
  for (const auto& path : inputs) {
    read_frames(path, spec, reader, summary.read, [&](Frame&& chunk) { store->add(chunk); });
    if (run.verbose)
      std::fprintf(stderr, "[etl] read %s: %lld rows so far\n", path.c_str(), static_cast<long long>(summary.read.rows_read));
  }
  store->close();
  SEQREC_CHECK(store->rows() > 0, "no events read from ", inputs.front(), inputs.size() > 1 ? " and the other inputs" : "",
               ": the files hold a header only", summary.read.rows_skipped > 0 ? " and bad rows" : "");
  return store;
}

void Workflow::write_outputs(detail::PartitionStore& store, const fs::path& out, EtlSummary& summary) const {
  std::map<std::string, std::pair<int64_t, int64_t>> lengths;
  std::vector<int64_t> removed(steps_.size(), 0);
  Frame like_frame = output_columns();
  const SessionTable like = to_sessions(like_frame);
  fs::create_directories(out);
  write_directory_atomic(out / "sessions", [&](const fs::path& tmp) {
    SplitRouter router(split_, tmp);
    // Partitions are independent once the workflow is fitted: `workers` at a time, routed in partition
    // order so the output does not depend on the thread count.
    struct Done {
      StepCounts counts;
      SessionTable table;
      std::vector<int64_t> start_ms;
    };
    const int workers = std::max(1, threads_ > 0 ? threads_ : static_cast<int>(std::thread::hardware_concurrency()));
    for (int first = 0; first < store.size(); first += workers) {
      std::vector<std::future<Done>> batch;
      for (int p = first; p < std::min(store.size(), first + workers); ++p)
        batch.push_back(std::async(std::launch::async, [&, p] {
          Done d;
          Frame frame = transform_to_frame(store.load(p), /*online=*/false, &d.counts);
          d.table = to_sessions(frame, &d.start_ms);
          return d;
        }));
      for (auto& f : batch) {
        Done d = f.get();
        for (size_t i = 0; i < steps_.size(); ++i) removed[i] += d.counts.removed[i];
        summary.sessions += d.counts.sessions;
        router.route(d.table, d.start_ms);
      }
    }
    router.finish(like, summary, lengths);
    if (split_.method == "time" || split_.method == "random" || split_.method == "cutoffs") {
      SEQREC_CHECK(summary.train > 0, "no training sessions after filtering (", summary.sessions,
                   " sessions read); check --min-length and the split options");
      SEQREC_CHECK(summary.test > 0, "no test sessions after filtering; check --test-days / --test-fraction");
    }
  });
  summary.steps = json::array();
  for (size_t i = 0; i < steps_.size(); ++i) {
    const auto& op = *steps_[i];
    json s = {{"step", op.label()}, {"op", op.name()}};
    if (!op.row_inputs().empty() || detail::groupby_key(op)) {
      s[op.name() == "DropRepeats" ? "elements_removed" : "rows_removed"] = removed[i];
      if (op.name() == "DropRepeats") summary.repeats_dropped += removed[i];
      if (op.name() == "Filter" || op.name() == "Dropna") summary.removed_short += removed[i];
    }
    summary.steps.push_back(s);
  }
  summary.vocabulary_size = items().size();
  schema::Schema schema = output_schema(lengths);
  schema.save(out / "schema.json");
  schema::save_pbtxt(schema, out / "schema.pbtxt");
}

EtlSummary Workflow::fit(const std::vector<std::string>& inputs, const RunOptions& run) {
  const auto start = std::chrono::steady_clock::now();
  EtlSummary summary;
  const fs::path dir = fs::temp_directory_path() / ("seqrec-etl-fit-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(reinterpret_cast<uintptr_t>(this) & 0xffff));
  auto store = spill(inputs, dir, run, summary);
  fit_frames([&](const std::set<std::string>& columns, const std::function<void(Frame&&)>& consume) {
    for_each_prefetched(*store, columns, consume);
  });
  summary.vocabulary_size = items().size();
  summary.seconds = seconds_since(start);
  summary_ = {{"fit", summary.to_json()}};
  return summary;
}

std::unique_ptr<detail::PartitionStore> Workflow::spill_into(const fs::path& out, const std::vector<std::string>& inputs,
                                                             const RunOptions& run, EtlSummary& summary) const {
  RunOptions r = run;
  if (r.rejects.empty()) r.rejects = out / "rejects.tsv";
  fs::create_directories(out);
  return spill(inputs, out / "spill.tmp", r, summary);
}

EtlSummary Workflow::transform(const std::vector<std::string>& inputs, const fs::path& out, const RunOptions& run) const {
  SEQREC_CHECK(fitted(), "the workflow is not fitted yet: run seqrec etl fit (or run) first");
  const auto start = std::chrono::steady_clock::now();
  EtlSummary summary;
  auto store = spill_into(out, inputs, run, summary);
  write_outputs(*store, out, summary);
  summary.seconds = seconds_since(start);
  write_text_file_atomic(out / "summary.json", summary.to_json().dump(2) + "\n");
  return summary;
}

EtlSummary Workflow::run(const std::vector<std::string>& inputs, const fs::path& out, const RunOptions& run) {
  const auto start = std::chrono::steady_clock::now();
  EtlSummary summary;
  auto store = spill_into(out, inputs, run, summary);
  if (run.verbose)
    std::fprintf(stderr, "[etl] parsed and spilled into %d partitions in %.1f s\n", store->size(), seconds_since(start));
  fit_frames([&](const std::set<std::string>& columns, const std::function<void(Frame&&)>& consume) {
    for_each_prefetched(*store, columns, consume);
  });
  if (run.verbose) std::fprintf(stderr, "[etl] fitted at %.1f s\n", seconds_since(start));
  write_outputs(*store, out, summary);
  if (run.verbose) std::fprintf(stderr, "[etl] transformed and written at %.1f s\n", seconds_since(start));
  store.reset();
  summary.seconds = seconds_since(start);
  summary_ = {{"run", summary.to_json()}};
  save(out / "workflow", summary_);
  write_text_file_atomic(out / "summary.json", summary.to_json().dump(2) + "\n");
  return summary;
}

EtlSummary run_etl(const std::vector<std::string>& inputs, const WorkflowOptions& options, const fs::path& out) {
  Workflow workflow = Workflow::from_options(options);
  SEQREC_CHECK(!inputs.empty(), "no input files: give --input FILE (repeatable)");
  return workflow.run(inputs, out);
}

}  // namespace seqrec::etl

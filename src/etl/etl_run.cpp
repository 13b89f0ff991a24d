// The batch ETL: parse inputs into session partitions, fit, transform each partition, and hand the sessions to the
// split router (split_router.cpp).
#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <cstdio>
#include <map>
#include <unistd.h>

#include "etl/ops/op_util.h"
#include "etl/partition_store.h"
#include "etl/split_router.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/schema/pbtxt.h"

namespace seqrec::etl {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

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
  if (run.on_bad_row) spec.on_bad_row = *run.on_bad_row;
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
    detail::SplitRouter router(split_, tmp);
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
    if (split_.method == SplitMethod::kTime || split_.method == SplitMethod::kRandom || split_.method == SplitMethod::kCutoffs) {
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

EtlSummary run_etl(const std::vector<std::string>& inputs, const WorkflowOptions& options, const fs::path& out,
                   const RunOptions& run) {
  Workflow workflow = Workflow::from_options(options);
  SEQREC_CHECK(!inputs.empty(), "no input files: give --input FILE (repeatable)");
  return workflow.run(inputs, out, run);
}

}  // namespace seqrec::etl

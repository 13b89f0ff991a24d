// SplitRouter: each session to its split (and time window) folder.
#include "etl/split_router.h"

#include <algorithm>
#include <cstdio>

#include "etl/ops/op_util.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/timestamp.h"

namespace seqrec::etl::detail {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMillisPerHour = 3600000;
const char* kSplitNames[] = {"train", "valid", "test"};

std::string window_name(SplitWindow window, int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, window == SplitWindow::kHour ? "hour-%06lld" : "day-%04lld", static_cast<long long>(index));
  return buf;
}

void merge(std::map<std::string, std::pair<int64_t, int64_t>>& into, const std::map<std::string, std::pair<int64_t, int64_t>>& from) {
  for (const auto& [name, mm] : from) {
    auto [it, inserted] = into.emplace(name, mm);
    it->second.first = std::min(it->second.first, mm.first);
    it->second.second = std::max(it->second.second, mm.second);
  }
}

void count(EtlSummary& summary, int split, int64_t n) {
  (split == 0 ? summary.train : split == 1 ? summary.valid : summary.test) += n;
}

}  // namespace

SplitRouter::SplitRouter(const SplitOptions& split, fs::path root) : s_(split), root_(std::move(root)) {}

void SplitRouter::route(const SessionTable& t, const std::vector<int64_t>& start_ms) {
  // Rows by (time bucket, split) first; the folder name is made once per group, not once per session.
  std::map<std::pair<int64_t, int>, std::vector<int64_t>> rows;
  for (int64_t r = 0; r < t.size(); ++r) rows[slot(t.session_ids[r], start_ms[r])].push_back(r);
  for (auto& [s, list] : rows) writer(key(s)).append(t.take(list));
}

void SplitRouter::finish(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths) {
  if (s_.method == SplitMethod::kTime) return finish_time(like, summary, lengths);
  if (s_.method == SplitMethod::kWindow) return finish_windows(like, summary, lengths);
  std::vector<std::string> names = s_.method == SplitMethod::kNone ? std::vector<std::string>{"all"}
                                                       : std::vector<std::string>{"train", "valid", "test"};
  for (size_t k = 0; k < names.size(); ++k) {
    auto it = writers_.find(names[k]);
    SessionWriter* w = it != writers_.end() ? it->second.get() : &writer(names[k]);
    count(summary, static_cast<int>(k), w->rows());
    merge(lengths, w->list_lengths());
    w->finish(like);
  }
}

void SplitRouter::finish_time(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths) {
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
    count(summary, k, out[k].rows());
    merge(lengths, out[k].list_lengths());
    out[k].finish(like);
  }
}

void SplitRouter::finish_windows(const SessionTable& like, EtlSummary& summary,
                                 std::map<std::string, std::pair<int64_t, int64_t>>& lengths) {
  std::vector<int64_t> buckets;
  for (const auto& [k, w] : writers_) {
    int64_t b = std::stoll(k.substr(9, k.find('/', 9) - 9));
    if (buckets.empty() || buckets.back() != b) buckets.push_back(b);
  }
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  SEQREC_CHECK(!buckets.empty(), "no sessions to write after the filters");
  const int64_t unit = s_.window == SplitWindow::kHour ? kMillisPerHour : kMillisPerDay;
  json windows = json::array();
  for (int64_t b : buckets) {
    const std::string name = window_name(s_.window, b - buckets.front() + 1);
    json counts = json::object();
    for (int k = 0; k < 3; ++k) {
      const std::string key = "_windows/" + std::to_string(b) + "/" + kSplitNames[k];
      auto it = writers_.find(key);
      SessionWriter* w = it != writers_.end() ? it->second.get() : &writer(key);
      counts[kSplitNames[k]] = w->rows();
      count(summary, k, w->rows());
      merge(lengths, w->list_lengths());
      w->finish(like);
    }
    fs::create_directories(root_ / name);
    for (const char* split : kSplitNames) fs::rename(root_ / "_windows" / std::to_string(b) / split, root_ / name / split);
    windows.push_back({{"name", name}, {"start", format_timestamp(b * unit, TimestampFormat::kIso8601)}, {"start_ms", b * unit}, {"sessions", counts}});
  }
  fs::remove_all(root_ / "_windows");
  summary.windows = windows;
  json manifest = {{"format", "seqrec-windows"}, {"version", 1}, {"window", choice_name(split_windows(), s_.window)}, {"windows", windows}};
  write_text_file_atomic(root_ / "windows.json", manifest.dump(2) + "\n");
}

int SplitRouter::random_split(const std::string& session) const {
  // A hash of (seed, session id): the same session lands in the same split however the input is ordered.
  const double u = static_cast<double>(mix64(stable_hash(session) ^ mix64(s_.seed)) >> 11) * 0x1.0p-53;
  return u < s_.test_fraction ? 2 : u < s_.test_fraction + s_.valid_fraction ? 1 : 0;
}

std::pair<int64_t, int> SplitRouter::slot(const std::string& session, int64_t ms) const {
  if (s_.method == SplitMethod::kTime) return {floor_div(ms, kMillisPerDay), 0};
  if (s_.method == SplitMethod::kRandom) return {0, random_split(session)};
  if (s_.method == SplitMethod::kCutoffs) return {0, ms >= s_.test_from_ms ? 2 : (s_.valid_from_ms > 0 && ms >= s_.valid_from_ms) ? 1 : 0};
  if (s_.method == SplitMethod::kWindow) return {floor_div(ms, s_.window == SplitWindow::kHour ? kMillisPerHour : kMillisPerDay), random_split(session)};
  return {0, 0};
}

std::string SplitRouter::key(const std::pair<int64_t, int>& slot) const {
  if (s_.method == SplitMethod::kTime) return "_days/" + std::to_string(slot.first);
  if (s_.method == SplitMethod::kWindow) return "_windows/" + std::to_string(slot.first) + "/" + kSplitNames[slot.second];
  if (s_.method == SplitMethod::kNone) return "all";
  return kSplitNames[slot.second];
}

SessionWriter& SplitRouter::writer(const std::string& key) {
  auto& w = writers_[key];
  if (!w) {
    fs::create_directories((root_ / key).parent_path());
    w = std::make_unique<SessionWriter>(root_ / key);
  }
  return *w;
}

}  // namespace seqrec::etl::detail

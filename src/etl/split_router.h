#pragma once
// Where each session goes: the split (and time window) folders under <out>/sessions. Internal to the ETL.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "seqrec/etl/workflow.h"

namespace seqrec::etl::detail {

/// Routes sessions into split folders under the sessions temp folder as the split options say (DESIGN.md §2).
class SplitRouter {
 public:
  SplitRouter(const SplitOptions& split, std::filesystem::path root);
  /// Appends each row of `t` (whose sessions start at `start_ms`) to its split's folder.
  void route(const SessionTable& t, const std::vector<int64_t>& start_ms);
  /// Closes every folder (time splits choose their days, windows get windows.json); counts go to `summary`, list
  /// lengths to `lengths`.
  void finish(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths);

 private:
  void finish_time(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths);
  void finish_windows(const SessionTable& like, EtlSummary& summary, std::map<std::string, std::pair<int64_t, int64_t>>& lengths);
  int random_split(const std::string& session) const;
  /// (time bucket, split) of a session: the bucket is a day or hour for time and window splits, else 0.
  std::pair<int64_t, int> slot(const std::string& session, int64_t ms) const;
  std::string key(const std::pair<int64_t, int>& slot) const;
  SessionWriter& writer(const std::string& key);

  SplitOptions s_;
  std::filesystem::path root_;
  std::map<std::string, std::unique_ptr<SessionWriter>> writers_;
};

}  // namespace seqrec::etl::detail

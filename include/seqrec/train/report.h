#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace seqrec::train {

/// One curve of a report: its name (e.g. "train loss", "valid ndcg@20") and (step, value) points.
struct Curve {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

/// The curves in a run's metrics.jsonl entries: "train loss", "learning rate", and "valid <metric>" for each
/// metric of the valid evaluations, in that order.
std::vector<Curve> curves_from_history(const std::vector<nlohmann::json>& history);

/// A self-contained HTML page with one inline SVG chart per curve (no script, no network), written atomically.
void write_report(const std::filesystem::path& path, const std::vector<nlohmann::json>& history, const std::string& title);

}  // namespace seqrec::train

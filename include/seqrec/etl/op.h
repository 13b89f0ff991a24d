#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "seqrec/etl/frame.h"

namespace seqrec::etl {

/// One step of a workflow: reads columns of a Frame and writes columns (in place or new ones), and may
/// change the rows (Groupby, Filter, Dropna). Stateful ops (Categorify, Normalize, ...) first see every chunk
/// of the fitting data through fit(), then finish_fit() freezes their statistics; transform() is const, so a
/// fitted op serves batch files and live requests alike, from several threads at once.
class Op {
 public:
  virtual ~Op() = default;
  /// The op's name as written in workflow files ("Categorify").
  virtual std::string name() const = 0;
  /// "step 3 (Categorify)": prefixes every message about this step.
  const std::string& label() const { return label_; }
  const nlohmann::json& spec() const { return spec_; }
  /// Columns read, and columns written or created.
  virtual std::vector<std::string> inputs() const = 0;
  virtual std::vector<std::string> outputs() const = 0;
  /// The frame's column names after this step, given those before it (the workflow follows them through the
  /// steps to find a misspelt column before any data is read). Most ops add their outputs.
  virtual std::set<std::string> columns_after(std::set<std::string> columns) const {
    for (const auto& o : outputs()) columns.insert(o);
    return columns;
  }
  /// Whether the step may run without its input columns (MakeTimestamp: a request may carry the timestamp itself).
  virtual bool inputs_may_be_absent() const { return false; }
  /// Columns whose values decide which rows (or list elements) survive; empty for row-preserving ops.
  virtual std::vector<std::string> row_inputs() const { return {}; }
  virtual bool stateful() const { return false; }
  bool fitted() const { return !stateful() || fitted_; }
  /// Accumulates statistics from one chunk; statistics of chunks merge (counts, sums, minima, ...).
  virtual void fit(const Frame& frame) {}
  /// Freezes the statistics; fitted() is true afterwards.
  virtual void finish_fit() { fitted_ = true; }
  /// Transforms a frame; returns how many rows (or, for DropRepeats, list elements) it removed.
  virtual int64_t transform(Frame& frame) const = 0;
  /// Whether the step runs on live requests (transform_frame); Filter defaults to false.
  bool online() const { return online_; }

  /// Fitted state: small statistics inline; large ones (vocabularies) as files written into `dir`.
  virtual nlohmann::json save_state(const std::filesystem::path& dir) const { return nullptr; }
  virtual void load_state(const nlohmann::json& state, const std::filesystem::path& dir) { fitted_ = true; }
  /// What `seqrec etl inspect` prints about the fitted op (vocabulary sizes, means, ...).
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }

 protected:
  std::string label_;
  nlohmann::json spec_;
  bool online_ = true;
  bool fitted_ = false;
  friend std::unique_ptr<Op> make_op(const nlohmann::json& spec, const std::string& label);
};

/// Builds an op from its workflow-file entry (`{"op": "Categorify", "columns": [...], ...}`). Every
/// problem (unknown op, unknown or mistyped option) throws InvalidInput prefixed with `label`.
std::unique_ptr<Op> make_op(const nlohmann::json& spec, const std::string& label);

/// The names make_op knows, for messages and documentation.
std::vector<std::string> op_names();

}  // namespace seqrec::etl

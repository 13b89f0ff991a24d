// Normalize, NormalizeMinMax, LogOp, FillMissing, FillMedian and Clip: element-wise on scalar or list columns.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "etl/ops/op_util.h"

namespace seqrec::etl::detail {

namespace {

/// Base of the ops that turn numeric columns into float columns value by value.
class ElementwiseOp : public Op {
 public:
  explicit ElementwiseOp(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
  }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }

 protected:
  const Column& numeric(const Frame& frame, size_t k) const {
    const Column& c = frame.at(inputs_[k], label_);
    SEQREC_CHECK(c.is_numeric(), label_, ": column '", c.name, "' holds text; ", name(), " needs numbers (declare it int or float)");
    return c;
  }
  /// A float copy of input k named as output k.
  Column float_output(const Frame& frame, size_t k) const {
    Column out = numeric(frame, k);
    out.to_float();
    out.name = outputs_[k];
    return out;
  }
  std::vector<std::string> inputs_, outputs_;
};

/// Count, mean and sum of squared deviations: merges exactly across chunks (Chan et al.).
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  void add(double x) {
    n += 1;
    double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
  }
  /// Sample standard deviation (n - 1), as pandas and NVTabular compute it.
  double stddev() const { return n > 1 ? std::sqrt(m2 / (n - 1)) : 0.0; }
};

class Normalize : public ElementwiseOp {
 public:
  Normalize(OpArgs& a, bool min_max) : ElementwiseOp(a), min_max_(min_max) { moments_.resize(inputs_.size()); }
  std::string name() const override { return min_max_ ? "NormalizeMinMax" : "Normalize"; }
  bool stateful() const override { return true; }
  void fit(const Frame& frame) override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = numeric(frame, k);
      for (size_t i = 0; i < c.num_values(); ++i)
        if (!c.is_null(i) && std::isfinite(c.number(i))) moments_[k].add(c.number(i));
    }
  }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Column out = float_output(frame, k);
      const Moments& m = moments_[k];
      const double shift = min_max_ ? m.min : m.mean;
      const double scale = min_max_ ? m.max - m.min : m.stddev();
      for (auto& x : out.floats) x = scale > 0 && std::isfinite(scale) ? (x - shift) / scale : 0.0;
      out.add_tag("continuous");
      out.cardinality = 0;
      out.remove_tag("categorical");
      frame.set(std::move(out));
    }
    return 0;
  }
  nlohmann::json save_state(const std::filesystem::path&) const override {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : moments_) j.push_back({{"count", m.n}, {"mean", m.mean}, {"m2", m.m2}, {"min", m.min}, {"max", m.max}});
    return j;
  }
  void load_state(const nlohmann::json& state, const std::filesystem::path&) override {
    SEQREC_CHECK(state.size() == moments_.size(), label_, ": saved statistics do not match the columns");
    for (size_t k = 0; k < moments_.size(); ++k) {
      const auto& s = state[k];
      moments_[k].n = s.at("count");
      moments_[k].mean = s.at("mean");
      moments_[k].m2 = s.at("m2");
      moments_[k].min = s.at("min").is_number() ? s.at("min").get<double>() : 0.0;
      moments_[k].max = s.at("max").is_number() ? s.at("max").get<double>() : 0.0;
    }
    fitted_ = true;
  }
  nlohmann::json describe() const override {
    nlohmann::json j = nlohmann::json::object();
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const auto& m = moments_[k];
      j[inputs_[k]] = {{"count", m.n}, {"mean", m.mean}, {"std", m.stddev()}, {"min", m.min}, {"max", m.max}};
    }
    return j;
  }

 private:
  bool min_max_;
  std::vector<Moments> moments_;
};

class LogOp : public ElementwiseOp {
 public:
  using ElementwiseOp::ElementwiseOp;
  std::string name() const override { return "LogOp"; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Column out = float_output(frame, k);
      // log(1 + x) of counts and prices; negative values are clipped to 0 rather than producing NaN.
      for (auto& x : out.floats) x = std::log1p(std::max(0.0, x));
      out.add_tag("continuous");
      frame.set(std::move(out));
    }
    return 0;
  }
};

class Clip : public ElementwiseOp {
 public:
  explicit Clip(OpArgs& a) : ElementwiseOp(a) {
    lo_ = a.number("min_value", -std::numeric_limits<double>::infinity());
    hi_ = a.number("max_value", std::numeric_limits<double>::infinity());
    SEQREC_CHECK(a.has("min_value") || a.has("max_value"), a.label(), ": Clip needs min_value, max_value or both");
    SEQREC_CHECK(lo_ <= hi_, a.label(), ": min_value ", lo_, " is above max_value ", hi_);
  }
  std::string name() const override { return "Clip"; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Column out = numeric(frame, k);
      out.name = outputs_[k];
      if (out.dtype == DType::kFloat64) {
        for (auto& x : out.floats) x = std::clamp(x, lo_, hi_);
      } else {
        for (auto& x : out.ints) x = static_cast<int64_t>(std::clamp(static_cast<double>(x), lo_, hi_));
      }
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  double lo_, hi_;
};

/// FillMissing (a constant) and FillMedian (the fitted median); optionally adds `<col>_filled` 0/1 columns.
class Fill : public Op {
 public:
  Fill(OpArgs& a, bool median) : median_(median) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    add_binary_ = a.boolean("add_binary_cols", false);
    if (!median_) {
      const auto& v = a.raw("fill_val");
      if (v.is_string()) fill_text_ = v.get<std::string>();
      else if (v.is_number()) fill_ = v.get<double>(), fill_text_ = v.dump();
      else if (!v.is_null()) throw InvalidInput(a.label() + ": fill_val must be a number or a string");
      else fill_text_ = "0";
    }
    values_.resize(inputs_.size());
    medians_.resize(inputs_.size(), 0.0);
  }
  std::string name() const override { return median_ ? "FillMedian" : "FillMissing"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override {
    auto out = outputs_;
    if (add_binary_)
      for (const auto& o : outputs_) out.push_back(o + "_filled");
    return out;
  }
  bool stateful() const override { return median_; }
  void fit(const Frame& frame) override {
    // Exact medians from counts of distinct values: prices, counts and durations repeat a lot, so this is
    // far smaller than keeping every value; counts of chunks merge by addition.
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      SEQREC_CHECK(c.is_numeric(), label_, ": column '", c.name, "' holds text; FillMedian needs numbers");
      auto& counts = values_[k];
      for (size_t i = 0; i < c.num_values(); ++i)
        if (!c.is_null(i) && !std::isnan(c.number(i))) ++counts[c.number(i)];
    }
  }
  void finish_fit() override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      std::vector<std::pair<double, int64_t>> sorted(values_[k].begin(), values_[k].end());
      std::sort(sorted.begin(), sorted.end());
      int64_t n = 0;
      for (const auto& [v, c] : sorted) n += c;
      medians_[k] = 0;
      if (n == 0) continue;
      // The values at 0-based ranks (n-1)/2 and n/2: equal for odd n, averaged for even n (as pandas does).
      auto value_at = [&](int64_t rank) {
        for (const auto& [v, c] : sorted) {
          if (rank < c) return v;
          rank -= c;
        }
        return sorted.back().first;
      };
      medians_[k] = (value_at((n - 1) / 2) + value_at(n / 2)) / 2;
      values_[k].clear();
    }
    fitted_ = true;
  }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Column out = frame.at(inputs_[k], label_);
      out.name = outputs_[k];
      Column flag(outputs_[k] + "_filled", DType::kInt64);
      flag.is_list = out.is_list;
      flag.offsets = out.offsets;
      flag.ints.assign(out.num_values(), 0);
      const double value = median_ ? medians_[k] : fill_;
      if (out.dtype == DType::kString && median_) throw InvalidInput(label_ + ": column '" + out.name + "' holds text");
      if (out.dtype == DType::kInt64 && median_ && value != std::floor(value)) out.to_float();
      for (size_t i = 0; i < out.num_values(); ++i) {
        if (!out.is_null(i)) continue;
        flag.ints[i] = 1;
        switch (out.dtype) {
          case DType::kString: out.strings[i] = fill_text_; break;
          case DType::kFloat64: out.floats[i] = value; break;
          default: out.ints[i] = static_cast<int64_t>(value); break;
        }
      }
      out.nulls.clear();
      frame.set(std::move(out));
      if (add_binary_) frame.set(std::move(flag));
    }
    return 0;
  }
  nlohmann::json save_state(const std::filesystem::path&) const override { return median_ ? nlohmann::json(medians_) : nullptr; }
  void load_state(const nlohmann::json& state, const std::filesystem::path&) override {
    if (median_) medians_ = state.get<std::vector<double>>();
    fitted_ = true;
  }
  nlohmann::json describe() const override {
    nlohmann::json j = nlohmann::json::object();
    for (size_t k = 0; k < inputs_.size(); ++k) j[inputs_[k]] = median_ ? nlohmann::json(medians_[k]) : nlohmann::json(fill_text_);
    return j;
  }

 private:
  bool median_;
  bool add_binary_ = false;
  double fill_ = 0;
  std::string fill_text_;
  std::vector<std::string> inputs_, outputs_;
  std::vector<std::unordered_map<double, int64_t>> values_;
  std::vector<double> medians_;
};

}  // namespace

std::unique_ptr<Op> make_numeric_op(const std::string& name, OpArgs& args) {
  if (name == "Normalize") return std::make_unique<Normalize>(args, false);
  if (name == "NormalizeMinMax") return std::make_unique<Normalize>(args, true);
  if (name == "LogOp") return std::make_unique<LogOp>(args);
  if (name == "Clip") return std::make_unique<Clip>(args);
  if (name == "FillMissing") return std::make_unique<Fill>(args, false);
  if (name == "FillMedian") return std::make_unique<Fill>(args, true);
  return nullptr;
}

}  // namespace seqrec::etl::detail

// Groupby (events -> sessions), DropRepeats, ListSlice, Filter and Dropna.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include "etl/ops/op_util.h"

namespace seqrec::etl::detail {

namespace {

const std::vector<std::string> kAggs = {"list", "count", "first", "last", "min", "max", "sum", "mean"};

class Groupby : public Op {
 public:
  explicit Groupby(OpArgs& a) {
    by_ = a.str("by", "", /*required=*/true);
    sort_ = a.columns("sort", /*required=*/false);
    sep_ = a.str("name_sep", "-");
    const auto& aggs = a.raw("aggs", /*required=*/true);
    SEQREC_CHECK(aggs.is_object() && !aggs.empty(), a.label(),
                 ": aggs must map columns to aggregations, e.g. {\"item_id\": [\"list\", \"count\"]}");
    for (auto it = aggs.begin(); it != aggs.end(); ++it) {
      std::vector<std::string> list;
      if (it.value().is_string()) list.push_back(it.value().get<std::string>());
      else if (it.value().is_array())
        for (const auto& e : it.value()) list.push_back(e.is_string() ? e.get<std::string>() : e.dump());
      for (const auto& agg : list)
        SEQREC_CHECK(std::find(kAggs.begin(), kAggs.end(), agg) != kAggs.end(), a.label(), ": unknown aggregation '", agg,
                     "' for column '", it.key(), "'; use list, count, first, last, min, max, sum or mean");
      SEQREC_CHECK(!list.empty(), a.label(), ": no aggregation for column '", it.key(), "'");
      aggs_.emplace_back(it.key(), list);
    }
  }
  std::string name() const override { return "Groupby"; }
  std::vector<std::string> inputs() const override {
    std::vector<std::string> in{by_};
    in.insert(in.end(), sort_.begin(), sort_.end());
    for (const auto& [c, _] : aggs_) in.push_back(c);
    return in;
  }
  std::vector<std::string> outputs() const override {
    std::vector<std::string> out{by_};
    for (const auto& [c, list] : aggs_)
      for (const auto& agg : list) out.push_back(c + sep_ + agg);
    return out;
  }
  std::vector<std::string> row_inputs() const override {
    std::vector<std::string> in{by_};
    in.insert(in.end(), sort_.begin(), sort_.end());
    return in;
  }
  /// Events become sessions: only the key and the aggregates remain.
  std::set<std::string> columns_after(std::set<std::string>) const override {
    const auto out = outputs();
    return std::set<std::string>(out.begin(), out.end());
  }
  const std::string& by() const { return by_; }

  int64_t transform(Frame& frame) const override {
    const Column& key = frame.at(by_, label_);
    SEQREC_CHECK(!key.is_list, label_, ": column '", by_, "' is already a list; Groupby needs one row per event");
    const int64_t n = key.rows();
    // Groups in order of first appearance; rows with a null key cannot belong to a session and are counted.
    std::vector<int64_t> group(n, -1);
    int64_t groups = 0, null_keys = 0;
    if (key.dtype == DType::kString) {
      std::unordered_map<std::string_view, int64_t> index;
      index.reserve(static_cast<size_t>(n / 4 + 16));
      for (int64_t i = 0; i < n; ++i) {
        if (key.is_null(i) || key.strings[i].empty()) { ++null_keys; continue; }
        auto [it, inserted] = index.emplace(key.strings[i], groups);
        if (inserted) ++groups;
        group[i] = it->second;
      }
    } else {
      std::unordered_map<int64_t, int64_t> index;
      index.reserve(static_cast<size_t>(n / 4 + 16));
      for (int64_t i = 0; i < n; ++i) {
        if (key.is_null(i)) { ++null_keys; continue; }
        const int64_t v = key.dtype == DType::kFloat64 ? static_cast<int64_t>(key.floats[i]) : key.ints[i];
        auto [it, inserted] = index.emplace(v, groups);
        if (inserted) ++groups;
        group[i] = it->second;
      }
    }
    // Counting sort by group keeps file order inside a group; then each group is sorted by the sort columns.
    std::vector<int64_t> starts(groups + 1, 0);
    for (int64_t i = 0; i < n; ++i)
      if (group[i] >= 0) ++starts[group[i] + 1];
    std::partial_sum(starts.begin(), starts.end(), starts.begin());
    std::vector<int64_t> order(starts.back());
    {
      std::vector<int64_t> fill(starts.begin(), starts.end() - 1);
      for (int64_t i = 0; i < n; ++i)
        if (group[i] >= 0) order[fill[group[i]]++] = i;
    }
    std::vector<const Column*> sort_cols;
    for (const auto& s : sort_) {
      sort_cols.push_back(&frame.at(s, label_));
      SEQREC_CHECK(!sort_cols.back()->is_list, label_, ": sort column '", s, "' is a list");
    }
    if (!sort_cols.empty()) {
      auto less = [&](int64_t a, int64_t b) {
        for (const Column* c : sort_cols) {
          const bool na = c->is_null(a), nb = c->is_null(b);
          if (na != nb) return nb;  // nulls last
          if (na) continue;
          if (c->dtype == DType::kString) {
            int cmp = c->strings[a].compare(c->strings[b]);
            if (cmp != 0) return cmp < 0;
          } else if (c->dtype == DType::kFloat64) {
            if (c->floats[a] != c->floats[b]) return c->floats[a] < c->floats[b];
          } else if (c->ints[a] != c->ints[b]) {
            return c->ints[a] < c->ints[b];
          }
        }
        return false;
      };
      for (int64_t g = 0; g < groups; ++g)
        std::stable_sort(order.begin() + starts[g], order.begin() + starts[g + 1], less);
    }
    Frame out;
    // The key: the first row of each group.
    std::vector<int64_t> firsts(groups);
    for (int64_t g = 0; g < groups; ++g) firsts[g] = order[starts[g]];
    Column key_out = key.take(firsts);
    key_out.add_tag("session");
    out.columns.push_back(std::move(key_out));
    for (const auto& [name, list] : aggs_) {
      const Column& c = frame.at(name, label_);
      SEQREC_CHECK(!c.is_list, label_, ": column '", name, "' is already a list");
      for (const auto& agg : list) out.columns.push_back(aggregate(c, agg, order, starts));
    }
    frame = std::move(out);
    return null_keys;
  }

 private:
  Column aggregate(const Column& c, const std::string& agg, const std::vector<int64_t>& order,
                   const std::vector<int64_t>& starts) const {
    const int64_t groups = static_cast<int64_t>(starts.size()) - 1;
    const std::string out_name = c.name + sep_ + agg;
    if (agg == "list") {
      Column out = c.take(order);
      out.name = out_name;
      out.is_list = true;
      out.offsets = starts;
      out.add_tag("list");
      return out;
    }
    if (agg == "count") {
      Column out(out_name, DType::kInt64);
      out.ints.resize(groups);
      for (int64_t g = 0; g < groups; ++g) {
        int64_t k = 0;
        for (int64_t i = starts[g]; i < starts[g + 1]; ++i) k += !c.is_null(order[i]);
        out.ints[g] = k;
      }
      return out;
    }
    if (agg == "first" || agg == "last") {
      std::vector<int64_t> pick(groups);
      Column out;
      std::vector<uint8_t> missing(groups, 0);
      for (int64_t g = 0; g < groups; ++g) {
        int64_t chosen = -1;
        if (agg == "first") {
          for (int64_t i = starts[g]; i < starts[g + 1] && chosen < 0; ++i)
            if (!c.is_null(order[i])) chosen = order[i];
        } else {
          for (int64_t i = starts[g + 1] - 1; i >= starts[g] && chosen < 0; --i)
            if (!c.is_null(order[i])) chosen = order[i];
        }
        missing[g] = chosen < 0;
        pick[g] = chosen < 0 ? order[starts[g]] : chosen;
      }
      out = c.take(pick);
      out.name = out_name;
      out.remove_tag("list");
      for (int64_t g = 0; g < groups; ++g)
        if (missing[g]) out.set_null(g, true);
      return out;
    }
    SEQREC_CHECK(c.is_numeric(), label_, ": '", agg, "' of column '", c.name, "' needs numbers, the column holds text");
    const bool as_float = agg == "mean" || c.dtype == DType::kFloat64;
    Column out(out_name, as_float ? DType::kFloat64 : (agg == "sum" ? DType::kInt64 : c.dtype));
    out.tags = c.tags;
    out.cardinality = agg == "min" || agg == "max" ? c.cardinality : 0;
    out.resize_values(groups);
    for (int64_t g = 0; g < groups; ++g) {
      double acc = agg == "min" ? INFINITY : agg == "max" ? -INFINITY : 0.0;
      int64_t iacc = agg == "min" ? INT64_MAX : agg == "max" ? INT64_MIN : 0;
      int64_t k = 0;
      for (int64_t i = starts[g]; i < starts[g + 1]; ++i) {
        const int64_t r = order[i];
        if (c.is_null(r)) continue;
        ++k;
        const double x = c.number(r);
        if (agg == "min") acc = std::min(acc, x), iacc = c.is_int() ? std::min(iacc, c.ints[r]) : iacc;
        else if (agg == "max") acc = std::max(acc, x), iacc = c.is_int() ? std::max(iacc, c.ints[r]) : iacc;
        else acc += x, iacc += c.is_int() ? c.ints[r] : 0;
      }
      if (k == 0 && agg != "sum") {
        out.set_null(g, true);
        continue;
      }
      if (agg == "mean") out.floats[g] = acc / static_cast<double>(k);
      else if (as_float) out.floats[g] = acc;
      else out.ints[g] = iacc;
    }
    return out;
  }

  std::string by_, sep_;
  std::vector<std::string> sort_;
  std::vector<std::pair<std::string, std::vector<std::string>>> aggs_;
};

/// The list columns of `frame` laid out like `key` (same offsets): they move together when elements go.
std::vector<Column*> aligned_lists(Frame& frame, const Column& key) {
  std::vector<Column*> out;
  for (auto& c : frame.columns)
    if (c.is_list && c.offsets == key.offsets) out.push_back(&c);
  return out;
}

/// Keeps the elements flagged in `keep` of every column in `cols` (all with the same offsets).
void keep_elements(const std::vector<Column*>& cols, const std::vector<uint8_t>& keep) {
  if (cols.empty()) return;
  std::vector<int64_t> offsets{0};
  const auto& old = cols.front()->offsets;
  for (size_t r = 0; r + 1 < old.size(); ++r) {
    int64_t k = 0;
    for (int64_t i = old[r]; i < old[r + 1]; ++i) k += keep[i];
    offsets.push_back(offsets.back() + k);
  }
  for (Column* c : cols) {
    size_t w = 0;
    const size_t n = c->num_values();
    const bool masked = !c->nulls.empty();
    for (size_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      switch (c->dtype) {
        case DType::kFloat64: c->floats[w] = c->floats[i]; break;
        case DType::kString: c->strings[w] = std::move(c->strings[i]); break;
        default: c->ints[w] = c->ints[i]; break;
      }
      if (masked) c->nulls[w] = c->nulls[i];
      ++w;
    }
    c->resize_values(w);
    if (masked) c->nulls.resize(w);
    c->offsets = offsets;
  }
}

bool same_value(const Column& c, int64_t i, int64_t j) {
  if (c.is_null(i) || c.is_null(j)) return c.is_null(i) && c.is_null(j);
  switch (c.dtype) {
    case DType::kFloat64: return c.floats[i] == c.floats[j];
    case DType::kString: return c.strings[i] == c.strings[j];
    default: return c.ints[i] == c.ints[j];
  }
}

class DropRepeats : public Op {
 public:
  explicit DropRepeats(OpArgs& a) { column_ = a.str("column", "", /*required=*/true); }
  std::string name() const override { return "DropRepeats"; }
  std::vector<std::string> inputs() const override { return {column_}; }
  std::vector<std::string> outputs() const override { return {column_}; }
  std::vector<std::string> row_inputs() const override { return {column_}; }
  int64_t transform(Frame& frame) const override {
    const Column& key = frame.at(column_, label_);
    SEQREC_CHECK(key.is_list, label_, ": column '", column_,
                 "' is not a list; DropRepeats removes consecutive repeats within a session, so place it after Groupby");
    std::vector<uint8_t> keep(key.num_values(), 1);
    int64_t dropped = 0;
    for (size_t r = 0; r + 1 < key.offsets.size(); ++r)
      for (int64_t i = key.offsets[r] + 1; i < key.offsets[r + 1]; ++i)
        if (same_value(key, i, i - 1)) keep[i] = 0, ++dropped;
    if (dropped) keep_elements(aligned_lists(frame, key), keep);
    return dropped;
  }

 private:
  std::string column_;
};

class ListSlice : public Op {
 public:
  explicit ListSlice(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    // "last": -3 would silently mean "all but the first 3"; a count of items is >= 1.
    for (const char* count : {"last", "first"})
      SEQREC_CHECK(!a.has(count) || a.integer(count, 1) >= 1, a.label(), ": ", count, " must be >= 1 (a number of items), got ",
                   a.integer(count, 1));
    if (a.has("last")) start_ = -a.integer("last", 0), has_start_ = true, pad_length_ = -start_;
    if (a.has("first")) end_ = a.integer("first", 0), has_end_ = true, start_ = 0, pad_length_ = end_;
    if (a.has("start")) start_ = a.integer("start", 0), has_start_ = true;
    if (a.has("end")) end_ = a.integer("end", 0), has_end_ = true;
    SEQREC_CHECK(has_start_ || has_end_, a.label(), ": ListSlice needs last, first, or start/end (Python slice bounds)");
    SEQREC_CHECK(!(a.has("last") && a.has("first")), a.label(), ": give last or first, not both");
    pad_ = a.boolean("pad", false);
    pad_value_ = a.number("pad_value", 0);
    if (pad_ && pad_length_ == 0 && has_start_ && has_end_ && (start_ >= 0) == (end_ >= 0)) pad_length_ = end_ - start_;
    SEQREC_CHECK(!pad_ || pad_length_ > 0, a.label(), ": pad needs a fixed length: use last or first");
  }
  std::string name() const override { return "ListSlice"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      SEQREC_CHECK(c.is_list, label_, ": column '", c.name, "' is not a list; ListSlice works on Groupby's list outputs");
      std::vector<int64_t> picks;
      Column out(outputs_[k], c.dtype);
      out.is_list = true;
      out.tags = c.tags;
      out.cardinality = c.cardinality;
      out.offsets.push_back(0);
      const bool masked = !c.nulls.empty();
      if (masked) out.nulls.reserve(c.num_values());
      for (size_t r = 0; r + 1 < c.offsets.size(); ++r) {
        const int64_t n = c.offsets[r + 1] - c.offsets[r];
        auto bound = [n](int64_t b) { return b < 0 ? std::max<int64_t>(0, n + b) : std::min(b, n); };
        const int64_t s = has_start_ ? bound(start_) : 0;
        const int64_t e = std::max(s, has_end_ ? bound(end_) : n);
        const int64_t b = c.offsets[r] + s, f = c.offsets[r] + e;
        switch (c.dtype) {
          case DType::kFloat64: out.floats.insert(out.floats.end(), c.floats.begin() + b, c.floats.begin() + f); break;
          case DType::kString: out.strings.insert(out.strings.end(), c.strings.begin() + b, c.strings.begin() + f); break;
          default: out.ints.insert(out.ints.end(), c.ints.begin() + b, c.ints.begin() + f); break;
        }
        if (masked) out.nulls.insert(out.nulls.end(), c.nulls.begin() + b, c.nulls.begin() + f);
        int64_t len = e - s;
        for (; pad_ && len < pad_length_; ++len) {
          if (out.dtype == DType::kFloat64) out.floats.push_back(pad_value_);
          else if (out.dtype == DType::kString) out.strings.push_back("");
          else out.ints.push_back(static_cast<int64_t>(pad_value_));
          if (masked || !out.nulls.empty()) out.nulls.push_back(0);
        }
        out.offsets.push_back(static_cast<int64_t>(out.num_values()));
      }
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  std::vector<std::string> inputs_, outputs_;
  int64_t start_ = 0, end_ = 0, pad_length_ = 0;
  bool has_start_ = false, has_end_ = false, pad_ = false;
  double pad_value_ = 0;
};

struct Condition {
  std::string column, op;
  double value = 0;
  std::string text;
  bool is_text = false;
};

class Filter : public Op {
 public:
  explicit Filter(OpArgs& a) {
    const auto& where = a.raw("where", /*required=*/true);
    std::vector<nlohmann::json> items;
    if (where.is_array()) items.assign(where.begin(), where.end());
    else items.push_back(where);
    for (const auto& w : items) {
      SEQREC_CHECK(w.is_object() && w.contains("column") && w.contains("op") && w.contains("value"), a.label(),
                   ": each condition is {\"column\": NAME, \"op\": \">=\", \"value\": 2}; got ", w.dump());
      Condition c;
      c.column = w.at("column").get<std::string>();
      c.op = w.at("op").get<std::string>();
      SEQREC_CHECK(c.op == ">=" || c.op == ">" || c.op == "<=" || c.op == "<" || c.op == "==" || c.op == "!=", a.label(),
                   ": unknown comparison '", c.op, "'; use >=, >, <=, <, == or !=");
      if (w.at("value").is_string()) c.text = w.at("value").get<std::string>(), c.is_text = true;
      else {
        SEQREC_CHECK(w.at("value").is_number(), a.label(), ": value must be a number or a string");
        c.value = w.at("value").get<double>();
      }
      conditions_.push_back(c);
    }
  }
  std::string name() const override { return "Filter"; }
  std::vector<std::string> inputs() const override {
    std::vector<std::string> in;
    for (const auto& c : conditions_) in.push_back(c.column);
    return in;
  }
  std::vector<std::string> outputs() const override { return {}; }
  std::vector<std::string> row_inputs() const override { return inputs(); }
  int64_t transform(Frame& frame) const override {
    const int64_t n = frame.rows();
    std::vector<int64_t> keep;
    keep.reserve(n);
    std::vector<const Column*> cols;
    for (const auto& c : conditions_) cols.push_back(&frame.at(c.column, label_));
    for (int64_t r = 0; r < n; ++r) {
      bool ok = true;
      for (size_t k = 0; k < conditions_.size() && ok; ++k) ok = holds(conditions_[k], *cols[k], r);
      if (ok) keep.push_back(r);
    }
    const int64_t removed = n - static_cast<int64_t>(keep.size());
    if (removed) frame = frame.take(keep);
    return removed;
  }

 private:
  static bool compare(double x, const std::string& op, double v) {
    if (op == ">=") return x >= v;
    if (op == ">") return x > v;
    if (op == "<=") return x <= v;
    if (op == "<") return x < v;
    if (op == "==") return x == v;
    return x != v;
  }
  bool holds(const Condition& cond, const Column& c, int64_t r) const {
    // A list column is compared by its length; a null never satisfies a condition.
    if (c.is_list) return compare(static_cast<double>(c.offsets[r + 1] - c.offsets[r]), cond.op, cond.value);
    if (c.is_null(r)) return false;
    if (cond.is_text) {
      int cmp = c.text(r).compare(cond.text);
      return compare(cmp, cond.op, 0);
    }
    SEQREC_CHECK(c.is_numeric(), label_, ": column '", c.name, "' holds text; compare it with a string value");
    return compare(c.number(r), cond.op, cond.value);
  }
  std::vector<Condition> conditions_;
};

class Dropna : public Op {
 public:
  explicit Dropna(OpArgs& a) { columns_ = a.columns("columns", /*required=*/false); }
  std::string name() const override { return "Dropna"; }
  std::vector<std::string> inputs() const override { return columns_; }
  std::vector<std::string> outputs() const override { return {}; }
  std::vector<std::string> row_inputs() const override { return columns_; }
  int64_t transform(Frame& frame) const override {
    std::vector<const Column*> cols;
    if (columns_.empty())
      for (const auto& c : frame.columns) cols.push_back(&c);
    else
      for (const auto& name : columns_) cols.push_back(&frame.at(name, label_));
    const int64_t n = frame.rows();
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < n; ++r) {
      bool ok = true;
      for (const Column* c : cols) {
        if (!c->is_list) ok = ok && !c->is_null(r);
        else
          for (int64_t i = c->offsets[r]; i < c->offsets[r + 1] && ok; ++i) ok = !c->is_null(i);
      }
      if (ok) keep.push_back(r);
    }
    const int64_t removed = n - static_cast<int64_t>(keep.size());
    if (removed) frame = frame.take(keep);
    return removed;
  }

 private:
  std::vector<std::string> columns_;
};

}  // namespace

std::unique_ptr<Op> make_session_op(const std::string& name, OpArgs& args) {
  if (name == "Groupby") return std::make_unique<Groupby>(args);
  if (name == "DropRepeats") return std::make_unique<DropRepeats>(args);
  if (name == "ListSlice") return std::make_unique<ListSlice>(args);
  if (name == "Filter") return std::make_unique<Filter>(args);
  if (name == "Dropna") return std::make_unique<Dropna>(args);
  return nullptr;
}

const std::string* groupby_key(const Op& op) {
  auto* g = dynamic_cast<const Groupby*>(&op);
  return g ? &g->by() : nullptr;
}

}  // namespace seqrec::etl::detail

// MakeTimestamp, TimeFeatures (day index, weekday, hour, cyclic sin/cos), ItemAge and DifferenceLag.
#include <cmath>
#include <unordered_map>

#include "etl/ops/op_util.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/timestamp.h"

namespace seqrec::etl::detail {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int64_t kMillisPerHour = 3600000;

/// A column with the list layout of `like`, of the given type, sized to its values.
Column shaped_like(const Column& like, const std::string& name, DType dtype) {
  Column out(name, dtype);
  out.is_list = like.is_list;
  out.offsets = like.offsets;
  out.resize_values(like.num_values());
  if (like.has_nulls()) out.nulls = like.nulls;
  return out;
}

class MakeTimestamp : public Op {
 public:
  explicit MakeTimestamp(OpArgs& a) {
    year_ = a.str("year", "", true);
    month_ = a.str("month", "", true);
    day_ = a.str("day", "", true);
    seconds_ = a.str("seconds", "");
    out_ = a.str("out", "timestamp");
  }
  std::string name() const override { return "MakeTimestamp"; }
  std::vector<std::string> inputs() const override {
    std::vector<std::string> in{year_, month_, day_};
    if (!seconds_.empty()) in.push_back(seconds_);
    return in;
  }
  std::vector<std::string> outputs() const override { return {out_}; }
  bool inputs_may_be_absent() const override { return true; }
  int64_t transform(Frame& frame) const override {
    // A live request carries the timestamp itself rather than its parts: then there is nothing to make.
    if (frame.find(out_)) return 0;
    const Column& y = frame.at(year_, label_);
    const Column& m = frame.at(month_, label_);
    const Column& d = frame.at(day_, label_);
    const Column* s = seconds_.empty() ? nullptr : &frame.at(seconds_, label_);
    for (const Column* c : {&y, &m, &d, s})
      SEQREC_CHECK(!c || (c->is_int() && !c->is_list), label_, ": column '", c->name, "' must be an integer column");
    Column out(out_, DType::kTimestamp);
    out.ints.resize(y.num_values());
    out.add_tag("time");
    for (size_t i = 0; i < y.num_values(); ++i) {
      if (y.is_null(i) || m.is_null(i) || d.is_null(i) || (s && s->is_null(i))) {
        out.set_null(i, true);
        continue;
      }
      SEQREC_CHECK(m.ints[i] >= 1 && m.ints[i] <= 12 && d.ints[i] >= 1 && d.ints[i] <= 31, label_, ": not a date: ",
                   y.ints[i], "-", m.ints[i], "-", d.ints[i], " (columns '", year_, "', '", month_, "', '", day_, "')");
      out.ints[i] = days_from_civil(y.ints[i], static_cast<unsigned>(m.ints[i]), static_cast<unsigned>(d.ints[i])) * kMillisPerDay +
                    (s ? s->ints[i] * 1000 : 0);
    }
    frame.set(std::move(out));
    return 0;
  }

 private:
  std::string year_, month_, day_, seconds_, out_;
};

/// sin or cos of 2*pi*k/period for k in 0..period-1: weekdays and hours take few values, so look them up.
const std::vector<double>& cyclic_table(int period, bool cosine) {
  static const auto make = [](int n, bool c) {
    std::vector<double> t(n);
    for (int k = 0; k < n; ++k) t[k] = c ? std::cos(kTwoPi * k / n) : std::sin(kTwoPi * k / n);
    return t;
  };
  static const std::vector<double> tables[4] = {make(7, false), make(7, true), make(24, false), make(24, true)};
  return tables[(period == 24 ? 2 : 0) + (cosine ? 1 : 0)];
}

class TimeFeatures : public Op {
 public:
  explicit TimeFeatures(OpArgs& a) {
    inputs_ = a.columns();
    parts_ = a.strings("parts");
    if (parts_.empty()) parts_ = {"day_index", "weekday", "hour", "weekday_sin", "weekday_cos", "hour_sin", "hour_cos"};
    for (const auto& p : parts_)
      SEQREC_CHECK(p == "day_index" || p == "weekday" || p == "hour" || p == "weekday_sin" || p == "weekday_cos" ||
                       p == "hour_sin" || p == "hour_cos",
                   a.label(), ": unknown time part '", p, "'; parts are day_index, weekday, hour, weekday_sin, weekday_cos, hour_sin, hour_cos");
  }
  std::string name() const override { return "TimeFeatures"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override {
    std::vector<std::string> out;
    for (const auto& c : inputs_)
      for (const auto& p : parts_) out.push_back(c + "_" + p);
    return out;
  }
  int64_t transform(Frame& frame) const override {
    std::vector<Column> made;
    for (const auto& name : inputs_) {
      const Column& c = frame.at(name, label_);
      SEQREC_CHECK(c.is_int(), label_, ": column '", name, "' must be a timestamp (epoch milliseconds)");
      // Day and hour once per value; the parts are read off them.
      const size_t n = c.num_values();
      std::vector<int64_t> day(n), weekday(n), hour(n);
      for (size_t i = 0; i < n; ++i) {
        if (c.is_null(i)) continue;
        day[i] = floor_div(c.ints[i], kMillisPerDay);
        weekday[i] = (day[i] % 7 + 7 + 3) % 7;  // 1970-01-01 was a Thursday; Monday = 0 as in pandas
        hour[i] = floor_div(c.ints[i] - day[i] * kMillisPerDay, kMillisPerHour);
      }
      for (const auto& p : parts_) {
        const bool cyclic = p.size() > 4 && (p.compare(p.size() - 4, 4, "_sin") == 0 || p.compare(p.size() - 4, 4, "_cos") == 0);
        Column out = shaped_like(c, name + "_" + p, cyclic ? DType::kFloat64 : DType::kInt64);
        out.add_tag("time");
        out.add_tag(cyclic ? "continuous" : "categorical");
        const bool weekly = p.rfind("weekday", 0) == 0;
        if (!cyclic && p != "day_index") out.cardinality = weekly ? 7 : 24;
        if (p == "day_index") {
          out.remove_tag("categorical");
          out.ints = day;
        } else if (!cyclic) {
          out.ints = weekly ? weekday : hour;
        } else {
          const auto& table = cyclic_table(weekly ? 7 : 24, p.compare(p.size() - 3, 3, "cos") == 0);
          const auto& index = weekly ? weekday : hour;
          for (size_t i = 0; i < n; ++i) out.floats[i] = table[index[i]];
        }
        made.push_back(std::move(out));
      }
    }
    for (auto& m : made) frame.set(std::move(m));
    return 0;
  }

 private:
  std::vector<std::string> inputs_, parts_;
};

class ItemAge : public Op {
 public:
  explicit ItemAge(OpArgs& a) {
    item_ = a.str("item", "item_id");
    time_ = a.str("timestamp", "timestamp");
    out_ = a.str("out", "item_age_days");
    std::string unit = a.str("unit", "days");
    SEQREC_CHECK(unit == "days" || unit == "hours" || unit == "seconds", a.label(), ": unit must be days, hours or seconds, got '", unit, "'");
    unit_ms_ = unit == "days" ? kMillisPerDay : unit == "hours" ? kMillisPerHour : 1000;
  }
  std::string name() const override { return "ItemAge"; }
  std::vector<std::string> inputs() const override { return {item_, time_}; }
  std::vector<std::string> outputs() const override { return {out_}; }
  bool stateful() const override { return true; }
  void fit(const Frame& frame) override {
    const Column& item = frame.at(item_, label_);
    const Column& time = frame.at(time_, label_);
    check(item, time);
    for (size_t i = 0; i < item.num_values(); ++i) {
      if (item.is_null(i) || time.is_null(i)) continue;
      auto it = item.dtype == DType::kString ? first_seen_.find(item.strings[i]) : first_seen_.find(item.text(i));
      if (it == first_seen_.end()) first_seen_.emplace(item.text(i), time.ints[i]);
      else if (time.ints[i] < it->second) it->second = time.ints[i];
    }
  }
  int64_t transform(Frame& frame) const override {
    const Column& item = frame.at(item_, label_);
    const Column& time = frame.at(time_, label_);
    check(item, time);
    Column out = shaped_like(item, out_, DType::kFloat64);
    out.nulls.clear();
    for (size_t i = 0; i < item.num_values(); ++i) {
      if (item.is_null(i) || time.is_null(i)) {
        out.set_null(i, true);
        continue;
      }
      auto it = item.dtype == DType::kString ? first_seen_.find(item.strings[i]) : first_seen_.find(item.text(i));
      // An item never seen while fitting is new now: age 0. Clicks before the first-seen time also count as 0.
      const int64_t age = it == first_seen_.end() ? 0 : std::max<int64_t>(0, time.ints[i] - it->second);
      out.floats[i] = static_cast<double>(age) / static_cast<double>(unit_ms_);
    }
    out.add_tag("continuous");
    out.add_tag("time");
    frame.set(std::move(out));
    return 0;
  }
  nlohmann::json save_state(const std::filesystem::path& dir) const override {
    std::string text;
    for (const auto& [item, t] : first_seen_) text += item + "\t" + std::to_string(t) + "\n";
    std::string file = "step" + label_.substr(5, label_.find(' ', 5) - 5) + ".first_seen.tsv";
    write_text_file_atomic(dir / file, text);
    return {{"file", file}, {"items", first_seen_.size()}};
  }
  void load_state(const nlohmann::json& state, const std::filesystem::path& dir) override {
    std::string text = read_text_file(dir / state.at("file").get<std::string>());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      size_t tab = text.rfind('\t', end);
      SEQREC_CHECK(tab != std::string::npos && tab >= pos, label_, ": damaged first-seen file");
      first_seen_[text.substr(pos, tab - pos)] = std::stoll(text.substr(tab + 1, end - tab - 1));
      pos = end + 1;
    }
    fitted_ = true;
  }
  nlohmann::json describe() const override { return {{"items", first_seen_.size()}}; }

 private:
  void check(const Column& item, const Column& time) const {
    SEQREC_CHECK(time.is_int(), label_, ": column '", time.name, "' must be a timestamp");
    SEQREC_CHECK(item.is_list == time.is_list && item.num_values() == time.num_values(), label_, ": columns '", item.name,
                 "' and '", time.name, "' are not aligned (both per event, or both lists of one session)");
  }
  std::string item_, time_, out_;
  int64_t unit_ms_ = kMillisPerDay;
  std::unordered_map<std::string, int64_t> first_seen_;
};

class DifferenceLag : public Op {
 public:
  explicit DifferenceLag(OpArgs& a) {
    inputs_ = a.columns();
    shift_ = a.integer("shift", 1);
    SEQREC_CHECK(shift_ >= 1, a.label(), ": shift must be >= 1, got ", shift_);
    auto out = a.strings("out");
    if (out.empty())
      for (const auto& c : inputs_) out.push_back(c + "_difference_lag");
    SEQREC_CHECK(out.size() == inputs_.size(), a.label(), ": give one 'out' name per column");
    outputs_ = out;
  }
  std::string name() const override { return "DifferenceLag"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      SEQREC_CHECK(c.is_list, label_, ": column '", c.name,
                   "' is not a list; DifferenceLag works within a session, so place it after Groupby (on a list column)");
      SEQREC_CHECK(c.is_numeric(), label_, ": column '", c.name, "' holds text");
      Column out = shaped_like(c, outputs_[k], c.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kInt64);
      out.nulls.assign(c.num_values(), 0);
      for (size_t r = 0; r + 1 < c.offsets.size(); ++r) {
        for (int64_t i = c.offsets[r]; i < c.offsets[r + 1]; ++i) {
          const int64_t j = i - shift_;
          if (j < c.offsets[r] || c.is_null(i) || c.is_null(j)) {
            out.nulls[i] = 1;  // no earlier event in this session
            continue;
          }
          if (out.dtype == DType::kFloat64) out.floats[i] = c.floats[i] - c.floats[j];
          else out.ints[i] = c.ints[i] - c.ints[j];
        }
      }
      out.add_tag("continuous");
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  std::vector<std::string> inputs_, outputs_;
  int64_t shift_ = 1;
};

}  // namespace

std::unique_ptr<Op> make_time_op(const std::string& name, OpArgs& args) {
  if (name == "MakeTimestamp") return std::make_unique<MakeTimestamp>(args);
  if (name == "TimeFeatures") return std::make_unique<TimeFeatures>(args);
  if (name == "ItemAge") return std::make_unique<ItemAge>(args);
  if (name == "DifferenceLag") return std::make_unique<DifferenceLag>(args);
  return nullptr;
}

}  // namespace seqrec::etl::detail

// Rename, AddTags, Drop and Select: column bookkeeping; IsIn: a 0/1 flag from a value list.
#include <algorithm>
#include <set>

#include "etl/ops/op_util.h"

namespace seqrec::etl::detail {

namespace {

class Rename : public Op {
 public:
  explicit Rename(OpArgs& a) {
    const auto& m = a.raw("mapping", /*required=*/true);
    SEQREC_CHECK(m.is_object() && !m.empty(), a.label(), ": mapping must be an object {\"old name\": \"new name\"}");
    for (auto it = m.begin(); it != m.end(); ++it) {
      SEQREC_CHECK(it.value().is_string(), a.label(), ": the new name of '", it.key(), "' must be a string");
      from_.push_back(it.key());
      to_.push_back(it.value().get<std::string>());
    }
  }
  std::string name() const override { return "Rename"; }
  std::vector<std::string> inputs() const override { return from_; }
  std::vector<std::string> outputs() const override { return to_; }
  std::set<std::string> columns_after(std::set<std::string> columns) const override {
    for (const auto& in : from_) columns.erase(in);
    for (const auto& out : to_) columns.insert(out);
    return columns;
  }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < from_.size(); ++k) {
      frame.at(from_[k], label_);
      SEQREC_CHECK(from_[k] == to_[k] || !frame.find(to_[k]), label_, ": cannot rename '", from_[k], "' to '", to_[k],
                   "': a column of that name exists");
      frame.at(from_[k]).name = to_[k];
    }
    return 0;
  }

 private:
  std::vector<std::string> from_, to_;
};

class AddTags : public Op {
 public:
  explicit AddTags(OpArgs& a) {
    columns_ = a.columns();
    add_ = a.strings("tags");
    remove_ = a.strings("remove");
    SEQREC_CHECK(!add_.empty() || !remove_.empty(), a.label(), ": give tags to add (tags) or to remove (remove)");
  }
  std::string name() const override { return "AddTags"; }
  std::vector<std::string> inputs() const override { return columns_; }
  std::vector<std::string> outputs() const override { return columns_; }
  int64_t transform(Frame& frame) const override {
    for (const auto& name : columns_) {
      Column& c = frame.at(name, label_);
      for (const auto& t : add_) c.add_tag(t);
      for (const auto& t : remove_) c.remove_tag(t);
    }
    return 0;
  }

 private:
  std::vector<std::string> columns_, add_, remove_;
};

class Drop : public Op {
 public:
  Drop(OpArgs& a, bool keep) : keep_(keep) { columns_ = a.columns(); }
  std::string name() const override { return keep_ ? "Select" : "Drop"; }
  std::vector<std::string> inputs() const override { return columns_; }
  std::vector<std::string> outputs() const override { return keep_ ? columns_ : std::vector<std::string>{}; }
  std::set<std::string> columns_after(std::set<std::string> columns) const override {
    if (keep_) return std::set<std::string>(columns_.begin(), columns_.end());
    for (const auto& c : columns_) columns.erase(c);
    return columns;
  }
  int64_t transform(Frame& frame) const override {
    for (const auto& name : columns_) frame.at(name, label_);
    auto listed = [&](const Column& c) { return std::find(columns_.begin(), columns_.end(), c.name) != columns_.end(); };
    frame.columns.erase(std::remove_if(frame.columns.begin(), frame.columns.end(),
                                       [&](const Column& c) { return listed(c) != keep_; }),
                        frame.columns.end());
    return 0;
  }

 private:
  bool keep_;
  std::vector<std::string> columns_;
};

/// 1 where a value is one of `values` (compared as text), else 0, nulls included: an int64 flag per value (lists stay
/// lists), e.g. "this event is an order" from an event-type column, which a Groupby "max" turns into a session target.
class IsIn : public Op {
 public:
  explicit IsIn(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    const auto values = a.strings("values", /*required=*/true);
    SEQREC_CHECK(!values.empty(), a.label(), ": values must list at least one value");
    values_.insert(values.begin(), values.end());
  }
  std::string name() const override { return "IsIn"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      Column out(outputs_[k], DType::kInt64);
      out.is_list = c.is_list;
      out.offsets = c.offsets;
      out.ints.resize(c.num_values());
      for (size_t i = 0; i < c.num_values(); ++i) out.ints[i] = !c.is_null(i) && values_.count(c.text(i)) ? 1 : 0;
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  std::vector<std::string> inputs_, outputs_;
  std::set<std::string> values_;
};

}  // namespace

std::unique_ptr<Op> make_column_op(const std::string& name, OpArgs& args) {
  if (name == "Rename") return std::make_unique<Rename>(args);
  if (name == "AddTags") return std::make_unique<AddTags>(args);
  if (name == "Drop") return std::make_unique<Drop>(args, false);
  if (name == "Select") return std::make_unique<Drop>(args, true);
  if (name == "IsIn") return std::make_unique<IsIn>(args);
  return nullptr;
}

}  // namespace seqrec::etl::detail

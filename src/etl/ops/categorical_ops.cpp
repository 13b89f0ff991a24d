// Categorify, HashBucket and Bucketize: values to integer ids.
#include <algorithm>

#include "etl/ops/op_util.h"
#include "seqrec/etl/vocabulary.h"

namespace seqrec::etl::detail {

namespace {

/// Writes ids into `out` (replacing or adding it), keeping the list layout of `in`.
Column id_column(const Column& in, const std::string& name) {
  Column out(name, DType::kInt64);
  out.is_list = in.is_list;
  out.offsets = in.offsets;
  out.tags = in.tags;
  out.remove_tag("continuous");
  out.ints.resize(in.num_values());
  return out;
}

class Categorify : public Op {
 public:
  explicit Categorify(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    freq_threshold_ = std::max<int64_t>(1, a.integer("freq_threshold", 1));
    max_size_ = a.integer("max_size", 0);
    num_buckets_ = a.integer("num_buckets", 1);
    SEQREC_CHECK(num_buckets_ >= 1, a.label(), ": num_buckets must be >= 1, got ", num_buckets_);
    SEQREC_CHECK(max_size_ >= 0, a.label(), ": max_size must be >= 0 (0 = no limit), got ", max_size_);
    shared_ = a.boolean("shared", false);
    vocabularies_.resize(shared_ ? 1 : inputs_.size());
  }
  std::string name() const override { return "Categorify"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  bool stateful() const override { return true; }

  void fit(const Frame& frame) override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      Vocabulary& v = vocabularies_[shared_ ? 0 : k];
      const size_t n = c.num_values();
      if (c.dtype == DType::kString) {
        for (size_t i = 0; i < n; ++i)
          if (!c.is_null(i)) v.count(c.strings[i]);
      } else {
        for (size_t i = 0; i < n; ++i)
          if (!c.is_null(i)) v.count(c.text(i));
      }
    }
  }
  void finish_fit() override {
    for (auto& v : vocabularies_) {
      v.finalize(freq_threshold_, max_size_);
      v.set_oov_buckets(num_buckets_);
    }
    fitted_ = true;
  }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      const Vocabulary& v = vocabularies_[shared_ ? 0 : k];
      Column out = id_column(c, outputs_[k]);
      const size_t n = c.num_values();
      for (size_t i = 0; i < n; ++i) {
        if (c.is_null(i)) out.ints[i] = kNullId;
        else out.ints[i] = v.encode(c.dtype == DType::kString ? c.strings[i] : c.text(i));
      }
      out.add_tag("categorical");
      out.cardinality = v.cardinality();
      frame.set(std::move(out));
    }
    return 0;
  }
  nlohmann::json save_state(const std::filesystem::path& dir) const override {
    nlohmann::json files = nlohmann::json::array();
    for (size_t k = 0; k < vocabularies_.size(); ++k) {
      std::string file = label_file() + "." + inputs_[k] + ".vocab.tsv";
      vocabularies_[k].save(dir / file);
      files.push_back({{"file", file}, {"size", vocabularies_[k].size()}, {"cardinality", vocabularies_[k].cardinality()}});
    }
    return {{"vocabularies", files}};
  }
  void load_state(const nlohmann::json& state, const std::filesystem::path& dir) override {
    const auto& files = state.at("vocabularies");
    SEQREC_CHECK(files.size() == vocabularies_.size(), label_, ": the saved state has ", files.size(),
                 " vocabularies, the step needs ", vocabularies_.size());
    for (size_t k = 0; k < vocabularies_.size(); ++k) {
      vocabularies_[k] = Vocabulary::load(dir / files[k].at("file").get<std::string>());
      vocabularies_[k].set_oov_buckets(num_buckets_);
    }
    fitted_ = true;
  }
  nlohmann::json describe() const override {
    nlohmann::json j = nlohmann::json::object();
    for (size_t k = 0; k < vocabularies_.size(); ++k) {
      const auto& v = vocabularies_[k];
      nlohmann::json top = nlohmann::json::array();
      for (int64_t id = v.first_value_id(); id < std::min<int64_t>(v.cardinality(), v.first_value_id() + 5); ++id)
        top.push_back({v.decode(id), v.frequency(id)});
      j[shared_ ? "shared" : inputs_[k]] = {{"values", v.size()}, {"cardinality", v.cardinality()}, {"most_frequent", top}};
    }
    return j;
  }
  /// The vocabulary that encodes output column `column`, or nullptr.
  const Vocabulary* vocabulary_of(const std::string& column) const {
    for (size_t k = 0; k < outputs_.size(); ++k)
      if (outputs_[k] == column) return &vocabularies_[shared_ ? 0 : k];
    return nullptr;
  }

 private:
  std::string label_file() const {
    // "step 3 (Categorify)" -> "step3"; the label is unique within a workflow.
    std::string s;
    for (char ch : label_.substr(0, label_.find(' ', 5)))
      if (ch != ' ') s += ch;
    return s;
  }
  std::vector<std::string> inputs_, outputs_;
  int64_t freq_threshold_ = 1, max_size_ = 0, num_buckets_ = 1;
  bool shared_ = false;
  std::vector<Vocabulary> vocabularies_;
};

class HashBucket : public Op {
 public:
  explicit HashBucket(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    buckets_ = a.integer("num_buckets", 0, /*required=*/true);
    SEQREC_CHECK(buckets_ >= 1, a.label(), ": num_buckets must be >= 1, got ", buckets_);
  }
  std::string name() const override { return "HashBucket"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      Column out = id_column(c, outputs_[k]);
      for (size_t i = 0; i < c.num_values(); ++i)
        out.ints[i] = c.is_null(i) ? kNullId
                                   : kFirstValueId + static_cast<int64_t>(stable_hash(c.text(i)) % static_cast<uint64_t>(buckets_));
      out.add_tag("categorical");
      out.cardinality = kFirstValueId + buckets_;
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  std::vector<std::string> inputs_, outputs_;
  int64_t buckets_ = 0;
};

class Bucketize : public Op {
 public:
  explicit Bucketize(OpArgs& a) {
    inputs_ = a.columns();
    outputs_ = a.outputs_for(inputs_);
    boundaries_ = a.numbers("boundaries", /*required=*/true);
    SEQREC_CHECK(!boundaries_.empty() && std::is_sorted(boundaries_.begin(), boundaries_.end()), a.label(),
                 ": boundaries must be a non-empty ascending list of numbers");
  }
  std::string name() const override { return "Bucketize"; }
  std::vector<std::string> inputs() const override { return inputs_; }
  std::vector<std::string> outputs() const override { return outputs_; }
  int64_t transform(Frame& frame) const override {
    for (size_t k = 0; k < inputs_.size(); ++k) {
      const Column& c = frame.at(inputs_[k], label_);
      SEQREC_CHECK(c.is_numeric(), label_, ": column '", c.name, "' holds text; Bucketize needs numbers");
      Column out = id_column(c, outputs_[k]);
      out.nulls = c.nulls;
      for (size_t i = 0; i < c.num_values(); ++i)
        out.ints[i] = c.is_null(i) ? 0
                                   : std::upper_bound(boundaries_.begin(), boundaries_.end(), c.number(i)) - boundaries_.begin();
      out.cardinality = static_cast<int64_t>(boundaries_.size()) + 1;
      frame.set(std::move(out));
    }
    return 0;
  }

 private:
  std::vector<std::string> inputs_, outputs_;
  std::vector<double> boundaries_;
};

}  // namespace

std::unique_ptr<Op> make_categorical_op(const std::string& name, OpArgs& args) {
  if (name == "Categorify") return std::make_unique<Categorify>(args);
  if (name == "HashBucket") return std::make_unique<HashBucket>(args);
  if (name == "Bucketize") return std::make_unique<Bucketize>(args);
  return nullptr;
}

const Vocabulary* categorify_vocabulary(const Op& op, const std::string& column) {
  auto* c = dynamic_cast<const Categorify*>(&op);
  return c ? c->vocabulary_of(column) : nullptr;
}

}  // namespace seqrec::etl::detail

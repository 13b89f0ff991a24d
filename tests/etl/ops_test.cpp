// Each op against values worked out by hand, nulls and empty lists included.
#include <gtest/gtest.h>

#include <cmath>

#include "etl/etl_test_util.h"
#include "seqrec/common/error.h"
#include "seqrec/etl/timestamp.h"
#include "seqrec/etl/vocabulary.h"

namespace seqrec::etl {

using namespace test_util;
using nlohmann::json;

namespace {
std::string message_of(const json& spec, Frame f) {
  try {
    apply(spec, f);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(CategorifyTest, IdsByDescendingFrequencyNullsAndOov) {
  Frame f = frame({strs("item", {"b", "a", "b", std::nullopt, "c", "b", "a"})});
  apply({{"op", "Categorify"}, {"columns", "item"}}, f);
  // b x3 -> 3, a x2 -> 4, c x1 -> 5, null -> 1.
  EXPECT_EQ(f.at("item").ints, (std::vector<int64_t>{3, 4, 3, 1, 5, 3, 4}));
  EXPECT_EQ(f.at("item").cardinality, 6);
  EXPECT_TRUE(f.at("item").has_tag("categorical"));
  EXPECT_FALSE(f.at("item").has_nulls());
}

TEST(CategorifyTest, FreqThresholdMaxSizeAndHashedOovBuckets) {
  Frame f = frame({strs("item", {"b", "a", "b", "c", "b", "a"})});
  apply({{"op", "Categorify"}, {"columns", "item"}, {"freq_threshold", 2}}, f);
  EXPECT_EQ(f.at("item").ints, (std::vector<int64_t>{3, 4, 3, kOovId, 3, 4}));

  Frame g = frame({strs("item", {"b", "a", "b", "c", "b", "a"})});
  apply({{"op", "Categorify"}, {"columns", "item"}, {"max_size", 1}}, g);
  EXPECT_EQ(g.at("item").ints, (std::vector<int64_t>{3, kOovId, 3, kOovId, 3, kOovId}));

  auto op = make_op({{"op", "Categorify"}, {"columns", "item"}, {"num_buckets", 3}}, "step 1 (Categorify)");
  Frame fit = frame({strs("item", {"b", "a", "b"})});
  op->fit(fit);
  op->finish_fit();
  Frame h = frame({strs("item", {"b", "a", "zz", "zz", "yy"})});
  op->transform(h);
  const auto& ids = h.at("item").ints;
  // OOV ids take 2..4, so real values start at 5.
  EXPECT_EQ(ids[0], 5);
  EXPECT_EQ(ids[1], 6);
  EXPECT_GE(ids[2], 2);
  EXPECT_LE(ids[2], 4);
  EXPECT_EQ(ids[2], ids[3]);
  EXPECT_EQ(ids[2], 2 + static_cast<int64_t>(stable_hash("zz") % 3));
  EXPECT_EQ(h.at("item").cardinality, 7);
}

TEST(CategorifyTest, OneVocabularySharedByTwoColumnsAndListColumns) {
  Frame f = frame({strs("src", {"x", "y"}), strs("dst", {"y", "z"})});
  apply({{"op", "Categorify"}, {"columns", {"src", "dst"}}, {"shared", true}}, f);
  // y x2 -> 3, x -> 4, z -> 5 in both columns.
  EXPECT_EQ(f.at("src").ints, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(f.at("dst").ints, (std::vector<int64_t>{3, 5}));

  Frame l = frame({int_lists("cats", {{7, 7, 9}, {}, {9, 7}})});
  apply({{"op", "Categorify"}, {"columns", "cats"}}, l);
  EXPECT_EQ(row_of(l.at("cats"), 0), (std::vector<int64_t>{3, 3, 4}));
  EXPECT_TRUE(row_of(l.at("cats"), 1).empty());
  EXPECT_EQ(row_of(l.at("cats"), 2), (std::vector<int64_t>{4, 3}));
}

TEST(NumericOpsTest, NormalizeUsesSampleStdAndMergesChunks) {
  Frame f = frame({floats("price", {1, 2, 3, 4, std::nullopt})});
  auto op = make_op({{"op", "Normalize"}, {"columns", "price"}}, "step 1 (Normalize)");
  Frame a = frame({floats("price", {1, 2})}), b = frame({floats("price", {3, 4, std::nullopt})});
  op->fit(a);
  op->fit(b);
  op->finish_fit();
  op->transform(f);
  const double sd = std::sqrt(5.0 / 3.0);  // mean 2.5, squared deviations 2.25+0.25+0.25+2.25 over n-1 = 3
  EXPECT_NEAR(f.at("price").floats[0], -1.5 / sd, 1e-12);
  EXPECT_NEAR(f.at("price").floats[3], 1.5 / sd, 1e-12);
  EXPECT_TRUE(f.at("price").is_null(4));
  EXPECT_TRUE(f.at("price").has_tag("continuous"));
}

TEST(NumericOpsTest, MinMaxLogClipBucketize) {
  Frame f = frame({ints("x", {2, 4, 6})});
  apply({{"op", "NormalizeMinMax"}, {"columns", "x"}}, f);
  EXPECT_EQ(f.at("x").floats, (std::vector<double>{0.0, 0.5, 1.0}));

  Frame g = frame({floats("x", {0, std::exp(1.0) - 1, -5})});
  apply({{"op", "LogOp"}, {"columns", "x"}}, g);
  EXPECT_NEAR(g.at("x").floats[1], 1.0, 1e-12);
  EXPECT_EQ(g.at("x").floats[0], 0.0);
  EXPECT_EQ(g.at("x").floats[2], 0.0);

  Frame h = frame({ints("x", {-1, 5, 11})});
  apply({{"op", "Clip"}, {"columns", "x"}, {"min_value", 0}, {"max_value", 10}}, h);
  EXPECT_EQ(h.at("x").ints, (std::vector<int64_t>{0, 5, 10}));

  Frame k = frame({floats("x", {5, 10, 15, 25, std::nullopt})});
  apply({{"op", "Bucketize"}, {"columns", "x"}, {"boundaries", {10, 20}}, {"out", {"x_bucket"}}}, k);
  EXPECT_EQ(std::vector<int64_t>(k.at("x_bucket").ints.begin(), k.at("x_bucket").ints.begin() + 4), (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_TRUE(k.at("x_bucket").is_null(4));
  EXPECT_EQ(k.at("x_bucket").cardinality, 3);
  EXPECT_TRUE(k.find("x") != nullptr);
}

TEST(NumericOpsTest, FillMissingAndFillMedian) {
  Frame f = frame({ints("x", {1, std::nullopt, 3})});
  apply({{"op", "FillMissing"}, {"columns", "x"}, {"fill_val", 7}, {"add_binary_cols", true}}, f);
  EXPECT_EQ(f.at("x").ints, (std::vector<int64_t>{1, 7, 3}));
  EXPECT_EQ(f.at("x_filled").ints, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_FALSE(f.at("x").has_nulls());

  Frame g = frame({floats("x", {5, std::nullopt, 1, 3, 10})});
  apply({{"op", "FillMedian"}, {"columns", "x"}}, g);
  EXPECT_EQ(g.at("x").floats[1], 4.0);  // median of 1, 3, 5, 10

  Frame s = frame({strs("c", {std::nullopt, "a"})});
  apply({{"op", "FillMissing"}, {"columns", "c"}, {"fill_val", "unknown"}}, s);
  EXPECT_EQ(s.at("c").strings, (std::vector<std::string>{"unknown", "a"}));
}

TEST(NumericOpsTest, HashBucketIsStableAndKeepsNullId) {
  Frame f = frame({strs("u", {"alice", std::nullopt, "alice"})});
  apply({{"op", "HashBucket"}, {"columns", "u"}, {"num_buckets", 10}}, f);
  EXPECT_EQ(f.at("u").ints[0], 3 + static_cast<int64_t>(stable_hash("alice") % 10));
  EXPECT_EQ(f.at("u").ints[1], kNullId);
  EXPECT_EQ(f.at("u").ints[2], f.at("u").ints[0]);
  EXPECT_EQ(f.at("u").cardinality, 13);
}

TEST(TimeOpsTest, TimeFeaturesOfAKnownMonday) {
  const int64_t monday = days_from_civil(2024, 1, 1) * kMillisPerDay;  // 2024-01-01 was a Monday
  Frame f = frame({ints("ts", {monday + 13 * 3600000, monday + 6 * kMillisPerDay, std::nullopt}, DType::kTimestamp)});
  apply({{"op", "TimeFeatures"}, {"columns", "ts"}, {"parts", {"day_index", "weekday", "hour", "hour_sin", "weekday_cos"}}}, f);
  EXPECT_EQ(f.at("ts_day_index").ints[0], 19723);
  EXPECT_EQ(f.at("ts_weekday").ints[0], 0);
  EXPECT_EQ(f.at("ts_weekday").ints[1], 6);
  EXPECT_EQ(f.at("ts_hour").ints[0], 13);
  EXPECT_NEAR(f.at("ts_hour_sin").floats[0], std::sin(2 * M_PI * 13 / 24), 1e-12);
  EXPECT_NEAR(f.at("ts_weekday_cos").floats[1], std::cos(2 * M_PI * 6 / 7), 1e-12);
  EXPECT_TRUE(f.at("ts_hour").is_null(2));
  EXPECT_EQ(f.at("ts_weekday").cardinality, 7);
}

TEST(TimeOpsTest, ItemAgeFromFirstSeenTime) {
  const int64_t day = kMillisPerDay;
  Frame fit = frame({strs("item", {"a", "b", "a"}), ints("ts", {0, day, 2 * day}, DType::kTimestamp)});
  auto op = make_op({{"op", "ItemAge"}, {"item", "item"}, {"timestamp", "ts"}}, "step 1 (ItemAge)");
  op->fit(fit);
  op->finish_fit();
  Frame f = frame({strs("item", {"a", "b", "c", std::nullopt}), ints("ts", {3 * day, day + day / 2, 5 * day, day}, DType::kTimestamp)});
  op->transform(f);
  const auto& age = f.at("item_age_days");
  EXPECT_EQ(age.floats[0], 3.0);
  EXPECT_EQ(age.floats[1], 0.5);
  EXPECT_EQ(age.floats[2], 0.0);  // never seen while fitting: new
  EXPECT_TRUE(age.is_null(3));
}

TEST(TimeOpsTest, DifferenceLagWithinEachSession) {
  Frame f = frame({int_lists("ts", {{10, 15, 30}, {5}, {}})});
  apply({{"op", "DifferenceLag"}, {"columns", "ts"}}, f);
  const auto& d = f.at("ts_difference_lag");
  EXPECT_TRUE(d.is_null(0));
  EXPECT_EQ(d.ints[1], 5);
  EXPECT_EQ(d.ints[2], 15);
  EXPECT_TRUE(d.is_null(3));  // first (and only) event of the second session
  EXPECT_EQ(d.offsets, (std::vector<int64_t>{0, 3, 4, 4}));
  EXPECT_NE(message_of({{"op", "DifferenceLag"}, {"columns", "x"}}, frame({ints("x", {1, 2})})).find("place it after Groupby"),
            std::string::npos);
}

TEST(TimeOpsTest, MakeTimestampFromDateParts) {
  Frame f = frame({ints("y", {2008}), ints("m", {4}), ints("d", {1}), ints("order", {2})});
  apply({{"op", "MakeTimestamp"}, {"year", "y"}, {"month", "m"}, {"day", "d"}, {"seconds", "order"}}, f);
  EXPECT_EQ(f.at("timestamp").ints[0], days_from_civil(2008, 4, 1) * kMillisPerDay + 2000);
  Frame bad = frame({ints("y", {2008}), ints("m", {13}), ints("d", {1})});
  EXPECT_NE(message_of({{"op", "MakeTimestamp"}, {"year", "y"}, {"month", "m"}, {"day", "d"}}, bad).find("not a date: 2008-13-1"),
            std::string::npos);
}

TEST(SessionOpsTest, GroupbySortsAndAggregates) {
  Frame f = frame({strs("s", {"s1", "s2", "s1", "s1", std::nullopt}), strs("item", {"a", "x", "b", "c", "q"}),
                   ints("ts", {30, 5, 10, 20, 1}), floats("price", {1, 2, std::nullopt, 5, 9})});
  const int64_t removed = apply({{"op", "Groupby"}, {"by", "s"}, {"sort", {"ts"}},
                                 {"aggs", {{"item", {"list", "count", "first", "last"}}, {"price", {"min", "max", "sum", "mean"}}}}},
                                f);
  EXPECT_EQ(removed, 1);  // the row without a session id
  ASSERT_EQ(f.rows(), 2);
  EXPECT_EQ(f.at("s").strings, (std::vector<std::string>{"s1", "s2"}));
  const auto& list = f.at("item-list");
  EXPECT_EQ(std::vector<std::string>(list.strings.begin(), list.strings.begin() + 3), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(list.offsets, (std::vector<int64_t>{0, 3, 4}));
  EXPECT_EQ(f.at("item-count").ints, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(f.at("item-first").strings[0], "b");
  EXPECT_EQ(f.at("item-last").strings[0], "a");
  // s1's prices in time order: null (b), 5 (c), 1 (a): nulls are skipped.
  EXPECT_EQ(f.at("price-min").floats[0], 1.0);
  EXPECT_EQ(f.at("price-max").floats[0], 5.0);
  EXPECT_EQ(f.at("price-sum").floats[0], 6.0);
  EXPECT_EQ(f.at("price-mean").floats[0], 3.0);
  EXPECT_EQ(f.at("price-mean").floats[1], 2.0);
}

TEST(SessionOpsTest, DropRepeatsMovesAlignedListsTogether) {
  Frame f = frame({int_lists("item", {{1, 1, 2, 1}, {}, {5, 5}}), int_lists("ts", {{1, 2, 3, 4}, {}, {7, 8}})});
  f.at("ts").offsets = f.at("item").offsets;
  const int64_t removed = apply({{"op", "DropRepeats"}, {"column", "item"}}, f);
  EXPECT_EQ(removed, 2);
  EXPECT_EQ(row_of(f.at("item"), 0), (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(row_of(f.at("ts"), 0), (std::vector<int64_t>{1, 3, 4}));
  EXPECT_TRUE(row_of(f.at("item"), 1).empty());
  EXPECT_EQ(row_of(f.at("ts"), 2), (std::vector<int64_t>{7}));
}

TEST(SessionOpsTest, ListSliceLastFirstAndPadding) {
  Frame f = frame({int_lists("x", {{1, 2, 3}, {4}, {}})});
  apply({{"op", "ListSlice"}, {"columns", "x"}, {"last", 2}}, f);
  EXPECT_EQ(row_of(f.at("x"), 0), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(row_of(f.at("x"), 1), (std::vector<int64_t>{4}));
  Frame p = frame({int_lists("x", {{1, 2, 3}, {4}, {}})});
  apply({{"op", "ListSlice"}, {"columns", "x"}, {"last", 2}, {"pad", true}}, p);
  EXPECT_EQ(row_of(p.at("x"), 1), (std::vector<int64_t>{4, 0}));
  EXPECT_EQ(row_of(p.at("x"), 2), (std::vector<int64_t>{0, 0}));
  Frame g = frame({int_lists("x", {{1, 2, 3}})});
  apply({{"op", "ListSlice"}, {"columns", "x"}, {"first", 2}}, g);
  EXPECT_EQ(row_of(g.at("x"), 0), (std::vector<int64_t>{1, 2}));
  Frame h = frame({int_lists("x", {{1, 2, 3, 4}})});
  apply({{"op", "ListSlice"}, {"columns", "x"}, {"start", 1}, {"end", -1}}, h);
  EXPECT_EQ(row_of(h.at("x"), 0), (std::vector<int64_t>{2, 3}));
}

TEST(SessionOpsTest, FilterAndDropna) {
  Frame f = frame({strs("s", {"a", "b", "c", "d"}), ints("n", {1, 2, 3, std::nullopt}), int_lists("l", {{1}, {1, 2}, {}, {1, 2, 3}})});
  EXPECT_EQ(apply({{"op", "Filter"}, {"where", {{"column", "n"}, {"op", ">="}, {"value", 2}}}}, f), 2);
  EXPECT_EQ(f.at("s").strings, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(apply({{"op", "Filter"}, {"where", json::array({{{"column", "l"}, {"op", ">"}, {"value", 0}}})}}, f), 1);
  EXPECT_EQ(f.at("s").strings, (std::vector<std::string>{"b"}));

  Frame g = frame({strs("s", {"a", std::nullopt, "c"}), ints("n", {1, 2, std::nullopt})});
  EXPECT_EQ(apply({{"op", "Dropna"}, {"columns", "s"}}, g), 1);
  EXPECT_EQ(g.at("n").ints, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(apply({{"op", "Dropna"}}, g), 1);
  EXPECT_EQ(g.rows(), 1);
}

TEST(ColumnOpsTest, RenameAddTagsDropSelect) {
  Frame f = frame({ints("a", {1}), ints("b", {2}), ints("c", {3})});
  apply({{"op", "Rename"}, {"mapping", {{"a", "alpha"}}}}, f);
  apply({{"op", "AddTags"}, {"columns", "alpha"}, {"tags", {"user", "id"}}}, f);
  EXPECT_TRUE(f.at("alpha").has_tag("user"));
  apply({{"op", "Drop"}, {"columns", "b"}}, f);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"alpha", "c"}));
  apply({{"op", "Select"}, {"columns", "c"}}, f);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"c"}));
}

TEST(OpFactoryTest, BadStepsAreNamed) {
  EXPECT_NE(message_of({{"op", "Categorise"}, {"columns", "x"}}, Frame()).find("unknown op 'Categorise'"), std::string::npos);
  EXPECT_NE(message_of({{"op", "Categorify"}, {"columns", "x"}, {"freq_treshold", 2}}, Frame()).find("unknown key 'freq_treshold' (did you mean 'freq_threshold'?"),
            std::string::npos);
  EXPECT_NE(message_of({{"op", "Clip"}, {"columns", "x"}}, Frame()).find("Clip needs min_value"), std::string::npos);
  EXPECT_NE(message_of({{"op", "ListSlice"}, {"columns", "x"}, {"last", -3}}, Frame()).find("last must be >= 1 (a number of items), got -3"),
            std::string::npos);
  EXPECT_NE(message_of({{"op", "Normalize"}, {"columns", "x"}}, frame({strs("x", {"a"})})).find("holds text"), std::string::npos);
  EXPECT_NE(message_of({{"op", "Normalize"}, {"columns", "nope"}}, frame({ints("x", {1})})).find("no column named 'nope'"),
            std::string::npos);
  EXPECT_NE(message_of({{"op", "Groupby"}, {"by", "s"}, {"aggs", {{"x", {"median"}}}}}, Frame()).find("unknown aggregation 'median'"),
            std::string::npos);
}

TEST(OpFactoryTest, OpsRunOnEmptyFrames) {
  Frame f = frame({strs("s", {}), strs("item", {}), ints("ts", {}, DType::kTimestamp)});
  apply({{"op", "Categorify"}, {"columns", "item"}}, f);
  apply({{"op", "Groupby"}, {"by", "s"}, {"sort", {"ts"}}, {"aggs", {{"item", {"list"}}, {"ts", {"list"}}}}}, f);
  apply({{"op", "ListSlice"}, {"columns", {"item-list", "ts-list"}}, {"last", 3}}, f);
  apply({{"op", "DifferenceLag"}, {"columns", "ts-list"}}, f);
  EXPECT_EQ(f.rows(), 0);
  EXPECT_EQ(f.at("item-list").cardinality, 3);
}

}  // namespace seqrec::etl

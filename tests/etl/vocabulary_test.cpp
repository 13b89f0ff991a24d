#include "seqrec/etl/vocabulary.h"

#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::etl {

using VocabularyTest = test::TempDirTest;

TEST_F(VocabularyTest, AssignsIdsFromThreeByDescendingFrequency) {
  Vocabulary v;
  for (const char* item : {"b", "a", "b", "c", "b", "a", ""}) v.count(item);
  v.finalize();
  EXPECT_EQ(v.encode("b"), 3);
  EXPECT_EQ(v.encode("a"), 4);
  EXPECT_EQ(v.encode("c"), 5);
  EXPECT_EQ(v.encode(""), kNullId);
  EXPECT_EQ(v.encode("never seen"), kOovId);
  EXPECT_EQ(v.cardinality(), 6);
  EXPECT_EQ(v.decode(4), "a");
  EXPECT_EQ(v.frequency(3), 3);
}

TEST_F(VocabularyTest, BreaksFrequencyTiesByValue) {
  Vocabulary v;
  for (const char* item : {"z", "y", "x"}) v.count(item);
  v.finalize();
  EXPECT_EQ(v.encode("x"), 3);
  EXPECT_EQ(v.encode("z"), 5);
}

TEST_F(VocabularyTest, MinimumFrequencyMapsRareValuesToOov) {
  Vocabulary v;
  for (const char* item : {"a", "a", "b"}) v.count(item);
  v.finalize(/*min_frequency=*/2);
  EXPECT_EQ(v.encode("a"), 3);
  EXPECT_EQ(v.encode("b"), kOovId);
  EXPECT_EQ(v.size(), 1);
}

TEST_F(VocabularyTest, SaveLoadRoundTripKeepsIdsAndEscapes) {
  Vocabulary v;
  for (const char* item : {"tab\there", "new\nline", "back\\slash", "plain", "plain"}) v.count(item);
  v.finalize();
  v.save(path("items.tsv"));
  auto loaded = Vocabulary::load(path("items.tsv"));
  ASSERT_EQ(loaded.cardinality(), v.cardinality());
  for (int64_t id = kFirstValueId; id < v.cardinality(); ++id) {
    EXPECT_EQ(loaded.decode(id), v.decode(id));
    EXPECT_EQ(loaded.encode(v.decode(id)), id);
    EXPECT_EQ(loaded.frequency(id), v.frequency(id));
  }
}

TEST_F(VocabularyTest, LoadNamesTheLineOfADamagedFile) {
  write("bad.tsv", "a\t3\nno-count-here\n");
  try {
    Vocabulary::load(path("bad.tsv"));
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tsv:2"), std::string::npos) << e.what();
  }
}

}  // namespace seqrec::etl

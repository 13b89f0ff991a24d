#include "seqrec/etl/delimited_reader.h"

#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::etl {

using DelimitedReaderTest = test::TempDirTest;

TEST_F(DelimitedReaderTest, DetectsSemicolonAndReadsRows) {
  auto file = write("a.csv", "year;session ID;page 2 (clothing model)\r\n2008;1;A13\r\n\r\n2008;1;B4\r\n");
  DelimitedReader reader(file.string());
  EXPECT_EQ(reader.delimiter(), ';');
  EXPECT_EQ(reader.column_index("page 2 (clothing model)"), 2);
  std::vector<std::string> fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"2008", "1", "A13"}));
  EXPECT_EQ(reader.line_number(), 2);
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields[2], "B4");
  EXPECT_EQ(reader.line_number(), 4);  // the blank line counts
  EXPECT_FALSE(reader.next(fields));
}

TEST_F(DelimitedReaderTest, HandlesQuotedFieldsAndTabs) {
  auto csv = write("q.csv", "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n");
  DelimitedReader reader(csv.string());
  std::vector<std::string> fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"x, y", "say \"hi\""}));
  auto tsv = write("t.tsv", "a\tb\n1\t2\n");
  DelimitedReader tabs(tsv.string());
  EXPECT_EQ(tabs.delimiter(), '\t');
}

TEST_F(DelimitedReaderTest, MissingColumnErrorListsTheColumns) {
  auto file = write("a.csv", "session_id,item\n1,2\n");
  DelimitedReader reader(file.string());
  try {
    reader.column_index("item_id");
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("a.csv:1: no column named 'item_id'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'session_id', 'item'"), std::string::npos) << msg;
  }
}

TEST_F(DelimitedReaderTest, EmptyAndMissingFilesAreClearErrors) {
  auto empty = write("empty.csv", "");
  EXPECT_THROW(
      {
        try {
          DelimitedReader r(empty.string());
        } catch (const InvalidInput& e) {
          EXPECT_NE(std::string(e.what()).find("empty.csv: the file is empty"), std::string::npos) << e.what();
          throw;
        }
      },
      InvalidInput);
  EXPECT_THROW(DelimitedReader(path("nope.csv").string()), InvalidInput);
}

}  // namespace seqrec::etl

#include "seqrec/etl/event_reader.h"

#include <cstdlib>
#include <fstream>

#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::etl {

namespace {
InputSpec spec3() {
  InputSpec s;
  s.columns = {{"session_id", DType::kString, TimestampFormat::kAuto, true},
               {"item_id", DType::kString},
               {"timestamp", DType::kTimestamp}};
  return s;
}

Frame read_all(const std::string& path, const InputSpec& spec, ReadStats& stats, ReaderOptions options = {}) {
  Frame all;
  read_frames(path, spec, options, stats, [&](Frame&& f) { all.append(f); });
  return all;
}

std::string error_of(const std::string& path, const InputSpec& spec) {
  ReadStats stats;
  try {
    read_all(path, spec, stats);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

using EventReaderTest = test::TempDirTest;

TEST_F(EventReaderTest, CsvWithQuotesCrlfNullsAndExtraColumns) {
  auto path = write("e.csv", "item_id,ignored,session_id,timestamp\r\n\"a,1\",x,s1,100\r\n,y,s1,2024-01-01T00:00:01Z\r\n\r\nb,z,s2,\r\n");
  ReadStats stats;
  Frame f = read_all(path.string(), spec3(), stats);
  ASSERT_EQ(f.rows(), 3);
  EXPECT_EQ(stats.rows_read, 3);
  EXPECT_EQ(f.at("item_id").strings[0], "a,1");
  EXPECT_TRUE(f.at("item_id").is_null(1));
  EXPECT_EQ(f.at("timestamp").ints[0], 100000);
  EXPECT_EQ(f.at("timestamp").ints[1], 1704067201000);
  EXPECT_TRUE(f.at("timestamp").is_null(2));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"session_id", "item_id", "timestamp"}));
}

TEST_F(EventReaderTest, TsvJsonLinesAndGzipReadAlike) {
  auto tsv = write("e.tsv", "session_id\titem_id\ttimestamp\ns1\ta\t100\ns1\tb\t200\n");
  auto jsonl = write("e.jsonl",
                     "{\"session_id\": \"s1\", \"item_id\": \"a\", \"timestamp\": 100}\n"
                     "{\"session_id\": \"s1\", \"item_id\": \"b\", \"timestamp\": 200, \"extra\": [1]}\n");
  write("g.csv", "session_id,item_id,timestamp\ns1,a,100\ns1,b,200\n");
  ASSERT_EQ(std::system(("gzip -f " + path("g.csv").string()).c_str()), 0);
  for (const auto& p : {tsv, jsonl, path("g.csv.gz")}) {
    ReadStats stats;
    Frame f = read_all(p.string(), spec3(), stats);
    ASSERT_EQ(f.rows(), 2) << p;
    EXPECT_EQ(f.at("item_id").strings, (std::vector<std::string>{"a", "b"})) << p;
    EXPECT_EQ(f.at("timestamp").ints, (std::vector<int64_t>{100000, 200000})) << p;
  }
  auto nulls = write("n.jsonl", "{\"session_id\": 7, \"item_id\": null, \"timestamp\": 1}\n");
  ReadStats stats;
  Frame f = read_all(nulls.string(), spec3(), stats);
  EXPECT_EQ(f.at("session_id").strings[0], "7");
  EXPECT_TRUE(f.at("item_id").is_null(0));
}

TEST_F(EventReaderTest, ChunksAndThreadsDoNotChangeTheResultOrLineNumbers) {
  std::string csv = "session_id,item_id,timestamp\n";
  for (int i = 0; i < 3000; ++i) csv += "s" + std::to_string(i / 3) + ",item" + std::to_string(i % 17) + "," + std::to_string(1000 + i) + "\n";
  csv += "s9,x,not-a-time\n";
  auto p = write("big.csv", csv);
  InputSpec spec = spec3();
  spec.on_bad_row = BadRowPolicy::kSkip;
  ReadStats one, many;
  Frame a = read_all(p.string(), spec, one, ReaderOptions{1, 1 << 20, {}});
  int chunks = 0;
  Frame b;
  read_frames(p.string(), spec, ReaderOptions{2, 4096, {}}, many, [&](Frame&& f) { b.append(f), ++chunks; });
  EXPECT_GT(chunks, 4);
  EXPECT_EQ(a.at("item_id").strings, b.at("item_id").strings);
  EXPECT_EQ(a.at("timestamp").ints, b.at("timestamp").ints);
  EXPECT_EQ(many.rows_read, 3001);
  EXPECT_EQ(many.rows_skipped, 1);
  ASSERT_EQ(many.first_skip_reasons.size(), 1u);
  EXPECT_NE(many.first_skip_reasons[0].find("big.csv:3002:3: column 'timestamp'"), std::string::npos) << many.first_skip_reasons[0];
}

TEST_F(EventReaderTest, ValuesNoIdShouldBeAreBadRowsNeverStoredSilently) {
  std::string csv = "session_id,item_id,timestamp\ns1,ok,1704067200\n";
  csv += std::string("s1,nul") + '\0' + "byte,1704067201\n";
  csv += "s1,bad\xff\xfeutf8,1704067202\n";
  csv += "s1," + std::string(70000, 'x') + ",1704067203\n";
  csv += "s1,future,100000000000000\n";  // year 5138 as milliseconds
  csv += "s1,past,-5\n";
  csv += "s1,caf\xc3\xa9,1704067204\n";  // valid UTF-8 stays
  auto p = write("hostile.csv", csv);
  InputSpec spec = spec3();
  spec.on_bad_row = BadRowPolicy::kSkip;
  ReadStats stats;
  Frame f = read_all(p.string(), spec, stats);
  EXPECT_EQ(f.at("item_id").strings, (std::vector<std::string>{"ok", "caf\xc3\xa9"}));
  ASSERT_EQ(stats.rows_skipped, 5);
  const auto& why = stats.first_skip_reasons;
  EXPECT_NE(why[0].find("hostile.csv:3:2: column 'item_id': a NUL byte in the value"), std::string::npos) << why[0];
  EXPECT_NE(why[1].find("hostile.csv:4:2: column 'item_id': the value is not valid UTF-8"), std::string::npos) << why[1];
  EXPECT_NE(why[2].find("hostile.csv:5:2: column 'item_id': a value of 70000 bytes (the limit is 65536)"), std::string::npos) << why[2];
  EXPECT_NE(why[3].find("hostile.csv:6:3: column 'timestamp': timestamp '100000000000000' is outside 1970-01-01 .. 2199-12-31"),
            std::string::npos) << why[3];
  EXPECT_NE(why[4].find("hostile.csv:7:3: column 'timestamp': timestamp '-5' is outside"), std::string::npos) << why[4];
}

TEST_F(EventReaderTest, StrictModeNamesFileLineColumnAndRow) {
  auto bad = write("bad.csv", "session_id,item_id,timestamp\ns1,a,100\ns1,b,not-a-time\n");
  std::string msg = error_of(bad.string(), spec3());
  EXPECT_NE(msg.find("bad.csv:3:3: column 'timestamp': cannot parse 'not-a-time' as a timestamp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row: 's1,b,not-a-time'"), std::string::npos) << msg;

  auto ragged = write("ragged.csv", "session_id,item_id,timestamp\ns1,a\n");
  EXPECT_NE(error_of(ragged.string(), spec3()).find("ragged.csv:2: expected 3 comma-separated fields as in the header, found 2"),
            std::string::npos);
  auto empty_id = write("empty_id.csv", "session_id,item_id,timestamp\n,a,1\n");
  EXPECT_NE(error_of(empty_id.string(), spec3()).find("empty_id.csv:2:1: column 'session_id': empty value in a required column"),
            std::string::npos);
  auto quote = write("quote.csv", "session_id,item_id,timestamp\ns1,\"a,1\n");
  EXPECT_NE(error_of(quote.string(), spec3()).find("quote.csv:2: unterminated quoted field"), std::string::npos);
  auto json = write("bad.jsonl", "{\"session_id\": \"s\", \"item_id\": \"a\", \"timestamp\": 1}\n{oops\n");
  EXPECT_NE(error_of(json.string(), spec3()).find("bad.jsonl:2: not valid JSON"), std::string::npos);
  auto header = write("header.csv", "session,item_id,timestamp\ns1,a,1\n");
  EXPECT_NE(error_of(header.string(), spec3()).find("header.csv:1: no column named 'session_id'"), std::string::npos);
  EXPECT_NE(error_of(path("missing.csv").string(), spec3()).find("does not exist"), std::string::npos);
  auto empty = write("empty.csv", "");
  EXPECT_NE(error_of(empty.string(), spec3()).find("the file is empty"), std::string::npos);
  InputSpec ints = spec3();
  ints.columns[1].dtype = DType::kInt64;
  auto notint = write("notint.csv", "session_id,item_id,timestamp\ns1,12x,1\n");
  EXPECT_NE(error_of(notint.string(), ints).find("notint.csv:2:2: column 'item_id': cannot parse '12x' as an integer"),
            std::string::npos);
}

TEST_F(EventReaderTest, QuarantineKeepsRejectedRowsWithReasons) {
  auto p = write("mixed.csv", "session_id,item_id,timestamp\ns1,a,1\ns1,b,oops\ns1\ns1,c,3\n");
  InputSpec spec = spec3();
  spec.on_bad_row = BadRowPolicy::kQuarantine;
  ReadStats stats;
  ReaderOptions options;
  options.quarantine = path("rejects.tsv");
  Frame f = read_all(p.string(), spec, stats, options);
  EXPECT_EQ(f.rows(), 2);
  EXPECT_EQ(stats.rows_read, 4);
  EXPECT_EQ(stats.rows_skipped, 2);
  EXPECT_EQ(stats.rows_quarantined, 2);
  std::ifstream in(path("rejects.tsv"));
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, "file\tline\tfield\treason\trow");
  EXPECT_NE(first.find("\t3\t3\tcolumn 'timestamp': cannot parse 'oops'"), std::string::npos) << first;
  EXPECT_NE(first.find("\ts1,b,oops"), std::string::npos) << first;
  EXPECT_NE(second.find("\t4\t\texpected 3 comma-separated fields"), std::string::npos) << second;
}

TEST_F(EventReaderTest, SemicolonsBomAndBlankLinesAsTheUciFilesHaveThem) {
  auto path = write("a.csv", "\xEF\xBB\xBFyear;session ID;page 2 (clothing model)\r\n2008;1;A13\r\n\r\n2008;1;\"B;4\"\r\n");
  InputSpec spec;
  spec.columns = {{"session ID", DType::kString, TimestampFormat::kAuto, true}, {"page 2 (clothing model)", DType::kString},
                  {"year", DType::kInt64}};
  ReadStats stats;
  Frame f = read_all(path.string(), spec, stats);
  ASSERT_EQ(f.rows(), 2);
  EXPECT_EQ(f.at("page 2 (clothing model)").strings, (std::vector<std::string>{"A13", "B;4"}));
  EXPECT_EQ(f.at("year").ints[1], 2008);
  // The blank line counts: the second row is line 4.
  auto bad = write("b.csv", "year;session ID;page 2 (clothing model)\n2008;1;A13\n\nx;1;B4\n");
  EXPECT_NE(error_of(bad.string(), spec).find("b.csv:4:1: column 'year'"), std::string::npos) << error_of(bad.string(), spec);
}

TEST_F(EventReaderTest, MissingColumnEmptyFileAndMissingFileAreClearErrors) {
  auto file = write("a.csv", "session_id,item\n1,2\n");
  const auto msg = error_of(file.string(), spec3());
  EXPECT_NE(msg.find("a.csv:1: no column named 'item_id'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'session_id', 'item'"), std::string::npos) << msg;
  EXPECT_NE(error_of(write("empty.csv", "").string(), spec3()).find("empty.csv: the file is empty"), std::string::npos);
  EXPECT_NE(error_of(path("nope.csv").string(), spec3()), "(no error)");
}

TEST_F(EventReaderTest, AliasesNameAColumnThatARequestCallsOtherwise) {
  InputSpec spec = spec3();
  spec.columns[0].name = "session ID";
  spec.columns[0].aliases = {"sid", "session_id"};
  auto csv = write("r.csv", "session_id,item_id,timestamp\ns1,a,100\n");
  auto jsonl = write("r.jsonl", "{\"sid\": \"s2\", \"item_id\": \"b\", \"timestamp\": 200}\n");
  ReadStats stats;
  Frame a = read_all(csv.string(), spec, stats), b = read_all(jsonl.string(), spec, stats);
  EXPECT_EQ(a.at("session ID").strings, (std::vector<std::string>{"s1"}));  // the column keeps its own name
  EXPECT_EQ(b.at("session ID").strings, (std::vector<std::string>{"s2"}));
}

TEST_F(EventReaderTest, ATruncatedGzipFileIsAnErrorEvenWhenBadRowsAreSkipped) {
  std::string csv = "session_id,item_id,timestamp\n";
  for (int i = 0; i < 6000; ++i) csv += "s" + std::to_string(i % 97) + ",item" + std::to_string(i * 7919 % 1013) + "," + std::to_string(1000 + i) + "\n";
  write("t.csv", csv);
  ASSERT_EQ(std::system(("gzip -f " + path("t.csv").string()).c_str()), 0);
  const auto gz = path("t.csv.gz");
  std::filesystem::resize_file(gz, std::filesystem::file_size(gz) / 2);
  InputSpec spec = spec3();
  spec.on_bad_row = BadRowPolicy::kSkip;
  const auto msg = error_of(gz.string(), spec);
  EXPECT_NE(msg.find("t.csv.gz: the gzip data ends early or is damaged"), std::string::npos) << msg;
}

}  // namespace seqrec::etl

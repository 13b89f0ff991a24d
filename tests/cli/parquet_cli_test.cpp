// Parquet input as a user runs it: `seqrec etl run --input` on a Parquet file, a zstd/v2 file and a hive-partitioned
// folder gives the same sessions as the same events in CSV (fixtures written by pyarrow, tests/data/parquet).
#include <nlohmann/json.hpp>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {
namespace {

using test::run_cli;

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
std::filesystem::path fixture(const std::string& name) { return std::filesystem::path(SEQREC_TEST_DATA_DIR) / "parquet" / name; }

constexpr const char* kWorkflow = R"({
  "input": {"columns": {
    "session_id": {"type": "string", "required": true}, "item_id": {"type": "string", "required": true},
    "timestamp": {"type": "timestamp", "format": "s", "required": true},
    "category": "string", "price": "float", "day": "int"}},
  "steps": [
    {"op": "Categorify", "columns": ["item_id", "category"]},
    {"op": "Normalize", "columns": "price"},
    {"op": "Groupby", "by": "session_id", "sort": ["timestamp"], "aggs": {
      "item_id": ["list"], "category": ["list"], "price": ["list"], "timestamp": ["list", "first"], "day": ["first"]}}
  ],
  "output": {"session_id": "session_id", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"},
  "split": {"method": "random", "valid_fraction": 0.2, "test_fraction": 0.2, "seed": 1}
})";

class ParquetCliTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    write("workflow.json", kWorkflow);
  }
  /// Runs the ETL on `input` into `out`; returns every split's sessions as text, with the schema.
  std::string sessions_of(const std::filesystem::path& input, const std::string& out) {
    auto etl = run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(input) + " --out " + q(path(out)));
    EXPECT_EQ(etl.exit_code, 0) << etl.output;
    std::string all = read_text_file(path(out) / "schema.json");
    for (const char* split : {"train", "valid", "test"}) {
      auto r = run_cli("etl export-csv --sessions " + q(path(out) / "sessions" / split) + " --workflow " + q(path(out) / "workflow"));
      EXPECT_EQ(r.exit_code, 0) << r.output;
      all += r.output;
    }
    return all;
  }
};

TEST_F(ParquetCliTest, ParquetFilesAndHivePartitionedFoldersGiveTheSessionsTheirCsvGives) {
  const std::string from_csv = sessions_of(fixture("events.csv"), "csv");
  ASSERT_NE(from_csv.find("category-list"), std::string::npos);
  // Snappy with dictionary pages and several row groups; timestamps as timestamp[ms], item ids as int64.
  EXPECT_EQ(sessions_of(fixture("events_snappy.parquet"), "snappy"), from_csv);
  // zstd, data pages v2, no dictionary, timestamp[us], item ids as strings, float32 prices.
  EXPECT_EQ(sessions_of(fixture("events_zstd_v2.parquet"), "zstd"), from_csv);
  // day=N folders: the partition key is the column `day`; _SUCCESS is not data.
  EXPECT_EQ(sessions_of(fixture("events_by_day"), "hive"), from_csv);
}

TEST_F(ParquetCliTest, DamagedParquetAndMissingColumnsAreClearErrors) {
  auto r = run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(fixture("truncated.parquet")) + " --out " +
                   q(path("out")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("truncated.parquet"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(path("out") / "schema.json")) << "nothing that looks complete";

  r = run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(fixture("bad_timestamps.parquet")) + " --out " +
              q(path("out")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad_timestamps.parquet: row group 0, row 0, column 'timestamp'"), std::string::npos) << r.output;

  std::string with_country = kWorkflow;
  with_country.replace(with_country.find("\"day\": \"int\""), 12, "\"day\": \"int\", \"country\": \"string\"");
  write("country.json", with_country);
  r = run_cli("etl run --workflow " + q(path("country.json")) + " --input " + q(fixture("events_snappy.parquet")) + " --out " +
              q(path("out")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no column named 'country'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace seqrec

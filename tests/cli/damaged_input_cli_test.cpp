// Hostile and damaged inputs through the binary (issue 18): a damaged sessions dataset is refused naming the file,
// never a crash; bad option values are refused rather than accepted.
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {

class DamagedInputCliTest : public test::TempDirTest {
 protected:
  std::string q(const std::filesystem::path& p) const { return "'" + p.string() + "'"; }
  void make_data() {
    ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 200 --items 40 --days 3 --seed 3").exit_code, 0);
    auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")));
    ASSERT_EQ(etl.exit_code, 0) << etl.output;
  }
  /// Overwrites the int64 at `index` of a binary column file.
  void poke(const std::filesystem::path& file, int64_t index, int64_t value) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << file;
    f.seekp(index * static_cast<int64_t>(sizeof value));
    f.write(reinterpret_cast<const char*>(&value), sizeof value);
  }
};

TEST_F(DamagedInputCliTest, DamagedOffsetsOrIdsAreRefusedNamingTheFileNeverACrash) {
  make_data();
  const auto train_dir = path("data/sessions/train");
  poke(train_dir / "item_id.offsets.bin", 1, int64_t{1} << 40);
  const std::string train = "train --data " + q(path("data")) + " --run " + q(path("run")) + " --epochs 1 --threads 1";
  for (const auto& command : std::vector<std::string>{train, "evaluate --data " + q(path("data")) + " --split train"}) {
    auto r = test::run_cli(command);
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("is damaged: item_id.offsets.bin has checksum"), std::string::npos) << r.output;
  }
  // A folder written before checksums (no "files" in its manifest) is still checked for its structure.
  auto manifest = nlohmann::json::parse(read_text_file(train_dir / "manifest.json"));
  manifest.erase("files");
  write("data/sessions/train/manifest.json", manifest.dump());
  auto structure = test::run_cli(train);
  EXPECT_EQ(structure.exit_code, 1) << structure.output;
  EXPECT_NE(structure.output.find("item_id.offsets.bin: offset 1 ("), std::string::npos) << structure.output;
  EXPECT_NE(structure.output.find("the dataset is damaged"), std::string::npos) << structure.output;

  make_data();  // a fresh copy, then an item id past the catalogue, in a folder without checksums
  poke(train_dir / "item_id.values.bin", 2, 1000000);
  manifest = nlohmann::json::parse(read_text_file(train_dir / "manifest.json"));
  manifest.erase("files");
  write("data/sessions/train/manifest.json", manifest.dump());
  auto ids = test::run_cli(train);
  EXPECT_EQ(ids.exit_code, 1) << ids.output;
  EXPECT_NE(ids.output.find("item_id.values.bin: value 2 is id 1000000, outside 0.."), std::string::npos) << ids.output;
}

TEST_F(DamagedInputCliTest, AFlippedByteInAWorkflowVocabularyIsRefused) {
  make_data();
  std::filesystem::path vocabulary;
  for (const auto& entry : std::filesystem::directory_iterator(path("data/workflow")))
    if (entry.path().filename().string().find("vocab.tsv") != std::string::npos) vocabulary = entry.path();
  ASSERT_FALSE(vocabulary.empty());
  std::string text = read_text_file(vocabulary);
  text[text.size() / 2] = static_cast<char>(text[text.size() / 2] == '7' ? '8' : '7');
  std::ofstream(vocabulary, std::ios::binary) << text;
  write("new.csv", "session_id,item_id,timestamp\nu1,100001,1704067200\nu1,100002,1704067260\n");
  auto r = test::run_cli("etl inspect " + q(path("data/workflow")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("fitted workflow '" + path("data/workflow").string() + "' is damaged: " +
                          vocabulary.filename().string() + " has checksum"), std::string::npos) << r.output;
}

TEST_F(DamagedInputCliTest, AFlippedByteInACheckpointIsRefusedNotLoaded) {
  make_data();
  auto trained = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --max-steps 2 --threads 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto original = read_text_file(path("run/checkpoint.pt"));
  // Positions inside the weights (most of the file); LibTorch's zip reader checks no CRCs of its own.
  for (double at : {0.3, 0.45, 0.6}) {
    std::string damaged = original;
    const size_t position = static_cast<size_t>(at * static_cast<double>(damaged.size()));
    damaged[position] = static_cast<char>(damaged[position] ^ 0x5A);
    write("damaged.pt", damaged);
    auto r = test::run_cli("evaluate --data " + q(path("data")) + " --checkpoint " + q(path("damaged.pt")) + " --baselines none");
    EXPECT_EQ(r.exit_code, 1) << "byte " << position << "\n" << r.output;
    EXPECT_NE(r.output.find("damaged"), std::string::npos) << "byte " << position << "\n" << r.output;
  }
  write("intact.pt", original);
  auto intact = test::run_cli("evaluate --data " + q(path("data")) + " --checkpoint " + q(path("intact.pt")) + " --baselines none");
  EXPECT_EQ(intact.exit_code, 0) << intact.output;
}

TEST_F(DamagedInputCliTest, ResumeReusesTheRunsOwnOptionsAndNamesAChangedModel) {
  make_data();
  const std::string base = "train --data " + q(path("data")) + " --run " + q(path("run")) + " --threads 1";
  auto first = test::run_cli(base + " --seed 11 --d-model 16 --num-heads 2 --batch-size 32 --epochs 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto resumed = test::run_cli(base + " --resume --epochs 2");  // nothing else repeated: the run's config.json is the base
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  auto config = nlohmann::json::parse(read_text_file(path("run/config.json")));
  EXPECT_EQ(config["train"]["seed"], 11);
  EXPECT_EQ(config["train"]["epochs"], 2);
  EXPECT_EQ(config["model"]["d_model"], 16);
  auto changed = test::run_cli(base + " --resume --epochs 3 --d-model 32");
  EXPECT_EQ(changed.exit_code, 1) << changed.output;
  EXPECT_NE(changed.output.find("--resume: model d_model was 16"), std::string::npos) << changed.output;
}

TEST_F(DamagedInputCliTest, ASecondTrainerOnABusyRunFolderIsRefused) {
  make_data();
  const std::string train = std::string(SEQREC_CLI_PATH) + " train --data " + q(path("data")) + " --run " + q(path("run")) +
                            " --threads 1 --d-model 16 --num-heads 2 --epochs 100000";
  ASSERT_EQ(std::system((train + " > " + q(path("first.log")) + " 2>&1 & echo $! > " + q(path("pid"))).c_str()), 0);
  const std::string pid = read_text_file(path("pid"));
  bool training = false;  // the first trainer holds the lock from before its first step
  for (int i = 0; i < 300 && !training; ++i) {
    training = std::filesystem::exists(path("run/metrics.jsonl"));
    if (!training) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(training) << read_text_file(path("first.log"));
  auto second = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --threads 1 --epochs 1");
  std::system(("kill -TERM " + pid).c_str());
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("is in use by another seqrec train"), std::string::npos) << second.output;
  // Once the first trainer has ended (SIGTERM saves its state and exits), the folder is free again. (Its exit is seen
  // through its log: an orphan may stay a zombie where PID 1 does not reap, so kill -0 cannot tell.)
  for (int i = 0; i < 200 && read_text_file(path("first.log")).find("state saved") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  test::CliResult after{1, ""};
  for (int i = 0; i < 50 && after.exit_code != 0; ++i) {
    after = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --threads 1 --epochs 1");
    if (after.exit_code != 0 && after.output.find("is in use") != std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    else
      break;
  }
  EXPECT_EQ(after.exit_code, 0) << after.output;
}

TEST_F(DamagedInputCliTest, EveryCommandAcceptsThreads) {
  ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 100 --items 30 --days 3 --threads 1").exit_code, 0);
  auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")) + " --threads 1");
  ASSERT_EQ(etl.exit_code, 0) << etl.output;
  ASSERT_EQ(test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --max-steps 2 --threads 1").exit_code, 0);
  auto exported = test::run_cli("export --data " + q(path("data")) + " --run " + q(path("run")) + " --out " + q(path("bundle")) +
                                " --threads 1");
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
}

}  // namespace seqrec

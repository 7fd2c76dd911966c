// The l7conform binary misused as a hostile or careless user would (issue
// 22): every misuse is a clear error, an exit code a script can act on, and
// nothing left behind. The binary runs as a child process with a hard
// deadline (tests/skywalking/http_test_util.h), so a regression that hangs
// fails instead of hanging the suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "skywalking/http_test_util.h"

#ifndef L7CONFORM_BIN
#error "L7CONFORM_BIN: the path of the l7conform binary (tests/harness/CMakeLists.txt)"
#endif

namespace l7h {
namespace {

namespace fs = std::filesystem;
using skywalking::test::ProcessResult;
using skywalking::test::runProcess;

const std::string kSource = L7_SOURCE_DIR;

ProcessResult l7conform(std::vector<std::string> args) {
  args.insert(args.begin(), L7CONFORM_BIN);
  return runProcess(args, std::chrono::seconds(60));
}

TEST(SkywalkingCommand, AWriteErrorIsReported) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not writable here";
  const ProcessResult r = l7conform({"skywalking", kSource + "/corpus/skywalking/java-http.json", "-o", "/dev/full"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("writing /dev/full failed: No space left on device"), std::string::npos) << r.err;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

TEST(ReplayCommand, AnErrorNamesThePathOnce) {
  const std::string missing = "/nonexistent-l7conform-dir/x.pcap";
  const ProcessResult r = l7conform({"replay", "-q", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count(r.err, missing), 1u) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

// A fresh directory, removed with everything in it.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "l7cli-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(NumericOptions, BenchWithNegativeMessagesFailsAndLeavesNoTempFolder) {
  ScratchDir tmp;
  const ProcessResult r =
      runProcess({"/usr/bin/env", "TMPDIR=" + tmp.path.string(), L7CONFORM_BIN, "bench", "--messages", "-5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--messages takes a number from 1"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(tmp.path));
}

TEST(NumericOptions, OutOfRangeValuesAreUsageErrors) {
  for (const char* cases : {"-1", "0", "99999999999999999999"}) {
    SCOPED_TRACE(cases);
    const ProcessResult r = l7conform({"versions", "--cases", cases});  // -1 ran for ever
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--cases takes a number from 1 to 1000000"), std::string::npos) << r.err;
  }
}

const std::string kCapture = kSource + "/corpus/nats/pubsub.pcap";

size_t lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

TEST(ReplayCommand, OutOfRangeLimitsAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--max-message-mib", "17592186044416"},  // << 20 would wrap to 0
      {"--max-pending", "0"},
      {"--session-timeout", "99999999999999999999"},
      {"--max-connections", "-1"},
  };
  for (const auto& option : cases) {
    SCOPED_TRACE(option[0] + " " + option[1]);
    const ProcessResult r = l7conform({"replay", option[0], option[1], kCapture});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(option[0] + " takes a number from"), std::string::npos) << r.err;
  }
}

TEST(ReplayCommand, AnUnknownProtocolIsAUsageErrorNamingTheKnownOnes) {
  const ProcessResult r = l7conform({"replay", "--protocol", "kafak", kCapture});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("'kafak' is not a known protocol"), std::string::npos) << r.err;
  for (const char* known : {"kafka", "mqtt", "nats"}) EXPECT_NE(r.err.find(known), std::string::npos) << known;
  EXPECT_EQ(r.out, "");
}

TEST(ReplayCommand, TheCaptureFilterAppliesToFiles) {
  const ProcessResult all = l7conform({"replay", "-q", kCapture});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ASSERT_GT(lines(all.out), 0u);
  const ProcessResult nats = l7conform({"replay", "-q", "-f", "tcp port 4222", kCapture});
  EXPECT_EQ(nats.exit_code, 0) << nats.err;
  EXPECT_EQ(nats.out, all.out);
  const ProcessResult none = l7conform({"replay", "-q", "-f", "tcp port 1", kCapture});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
  const ProcessResult bad = l7conform({"replay", "-q", "-f", "tcp port (((", kCapture});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("bad filter 'tcp port ((('"), std::string::npos) << bad.err;
}

TEST(ReplayCommand, HelpStatesLibpcapsLimits) {
  const ProcessResult r = l7conform({"replay", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* needle : {"snap length", "pcapng", "link type", "on -i and on FILEs"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
  }
}

TEST(CheckCommand, AHungImplementationFailsItsCaptureByNameAfterTheTimeout) {
  const ProcessResult r = l7conform({"check", kCapture, "--golden", kSource + "/golden", "--impl", "sleep 30 # {pcap}",
                                     "--impl-timeout", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL     nats/pubsub"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nats/pubsub: timed out after 1 s"), std::string::npos) << r.out;
}

TEST(CheckCommand, AnEmptyImplIsAUsageError) {
  const ProcessResult r = l7conform({"check", kCapture, "--golden", kSource + "/golden", "--impl", ""});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--impl needs a command"), std::string::npos) << r.err;
}

TEST(CheckCommand, AFolderWithoutCapturesFails) {
  ScratchDir dir;
  std::ofstream(dir.path / "notes.txt") << "no captures here\n";
  const ProcessResult r = l7conform({"check", dir.path.string(), "--golden", kSource + "/golden"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(dir.path.string() + ": no captures in this folder"), std::string::npos) << r.err;
  // Also next to a folder that has captures: the empty one still fails the run.
  const ProcessResult both = l7conform({"check", kCapture, dir.path.string(), "--golden", kSource + "/golden", "-q"});
  EXPECT_EQ(both.exit_code, 1) << both.out << both.err;
}

TEST(CheckCommand, AProtocolWithoutAMappingTableIsALoudWarning) {
  ScratchDir golden;
  fs::create_directories(golden.path / "nats");
  for (const char* ext : {".jsonl", ".metrics.json"}) {
    fs::copy_file(kSource + "/golden/nats/pubsub" + ext, golden.path / "nats" / (std::string("pubsub") + ext));
  }
  const ProcessResult r = l7conform({"check", kCapture, "--golden", golden.path.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // the records still match their goldens
  EXPECT_EQ(count(r.err, "WARNING: no mapping table"), 1u) << r.err;
  EXPECT_NE(r.out.find("WARNING: 1 nats capture not checked against a mapping"), std::string::npos) << r.out;
  // With the table there is no warning.
  const ProcessResult with_table = l7conform({"check", kCapture, "--golden", kSource + "/golden"});
  EXPECT_EQ(with_table.exit_code, 0);
  EXPECT_EQ(with_table.err.find("WARNING"), std::string::npos) << with_table.err;
  EXPECT_EQ(with_table.out.find("WARNING"), std::string::npos) << with_table.out;
}

TEST(CheckCommand, ANegativeMaxDiffsIsAUsageError) {
  const ProcessResult r = l7conform({"check", kCapture, "--max-diffs", "-3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--max-diffs takes a number from 0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace l7h

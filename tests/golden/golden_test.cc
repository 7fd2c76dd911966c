// Every capture in corpus/ against its golden, whole and re-segmented:
// replayed as captured, one byte at a time, and in random pieces (seeded),
// the records must be byte-identical to golden/<proto>/<name>.jsonl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "l7/record_json.h"
#include "session/replay.h"

namespace fs = std::filesystem;

namespace l7h {
namespace {

struct Case {
  fs::path capture;
  fs::path golden;
  std::string name;
};

std::vector<Case> corpusCases() {
  std::vector<Case> out;
  const fs::path corpus = fs::path(L7_SOURCE_DIR) / "corpus";
  const fs::path golden = fs::path(L7_SOURCE_DIR) / "golden";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(corpus, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    if (it->is_directory() && (p.filename() == "node_modules" || p.filename() == "client")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || (p.extension() != ".pcap" && p.extension() != ".pcapng")) continue;
    const std::string proto = p.parent_path().filename().string();
    out.push_back({p, golden / proto / (p.stem().string() + ".jsonl"), proto + "/" + p.stem().string()});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replayToText(const fs::path& capture, uint32_t resegment_max, uint64_t seed) {
  ReplayOptions options;
  options.resegment_max = resegment_max;
  options.resegment_seed = seed;
  ReplayResult result;
  const auto records = replayCaptureToVector(capture.string(), options, &result);
  EXPECT_TRUE(result.ok) << result.error;
  std::string text;
  for (const auto& r : records) l7::appendRecordJson(r, text);
  return text;
}

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesWholeAndAtAnySegmentation) {
  const Case& c = GetParam();
  ASSERT_TRUE(fs::exists(c.golden)) << c.golden << " is missing: run ./run check " << c.capture << " --update";
  // Goldens are written by `check --update` in the canonical form the
  // record writer produces, so a byte comparison is exact.
  const std::string golden = readAll(c.golden);
  EXPECT_EQ(replayToText(c.capture, 0, 0), golden) << "as captured";
  EXPECT_EQ(replayToText(c.capture, 1, 0), golden) << "one byte at a time";
  for (uint64_t seed : {1u, 2u, 3u}) {
    EXPECT_EQ(replayToText(c.capture, 7, seed), golden) << "random pieces of 1..7 bytes, seed " << seed;
  }
}

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, Golden, ::testing::ValuesIn(corpusCases()), caseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

}  // namespace
}  // namespace l7h

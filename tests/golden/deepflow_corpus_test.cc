// DeepFlow's own captures (third-party, read from ../shared/corpus/deepflow,
// never copied here): every protocol we decode must decode them without a
// single parse failure. Field-by-field comparisons with DeepFlow's .result
// files live in each protocol's own tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "l7/registry.h"
#include "session/replay.h"

namespace fs = std::filesystem;

namespace l7h {
namespace {

TEST(DeepFlowCorpus, EveryRegisteredProtocolDecodesWithoutParseFailures) {
  const fs::path root = L7_SHARED_CORPUS;
  if (!fs::is_directory(root)) {
    std::printf("DeepFlow corpus not found at %s: skipping the third-party capture checks\n", root.c_str());
    GTEST_SKIP() << "DeepFlow corpus absent: " << root;
  }
  size_t captures = 0;
  for (const l7::DecoderInfo& d : l7::allDecoders()) {
    const fs::path dir = root / std::string(d.key);
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".pcap") continue;
      ++captures;
      ReplayOptions options;
      // DeepFlow's captures use arbitrary ports and sometimes start
      // mid-connection: decode every connection as the folder's protocol.
      options.force_protocol = std::string(d.key);
      ReplayResult result;
      const auto records = replayCaptureToVector(entry.path().string(), options, &result);
      EXPECT_TRUE(result.ok) << entry.path() << ": " << result.error;
      EXPECT_FALSE(records.empty()) << entry.path() << ": no records";
      for (const auto& r : records) {
        EXPECT_NE(r.f.response_status, l7::ResponseStatus::kParseFailed)
            << entry.path() << ": parse failure at start_time " << r.start_time_us << ": " << r.f.response_exception;
      }
    }
  }
  std::printf("decoded %zu DeepFlow captures of registered protocols\n", captures);
}

}  // namespace
}  // namespace l7h

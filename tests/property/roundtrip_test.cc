// Property-based conformance, for every protocol and every version its
// decoder claims, each version a property run of its own (so no version goes
// without cases): replay(synthesize(model)) == expected(model), at any
// segmentation, with retransmissions and reordering, IPv4 or IPv6, any link
// type, behind a handshake or joined mid-stream at any message boundary —
// and, under noise (a lost segment, a garbage connection, a truncated
// capture), every record of the unaffected traffic is still there.
//
// Mid-stream joins: at any message boundary the protocol's decoder claims
// to decode from (Generator::joinable: MQTT 5.0 only at the CONNECT, whose
// properties are not understood before one), with the records its README
// documents for the join (Generator::join), in every property. The decoder
// bugs these properties found are regression tests of their own, their
// shrunk cases frozen as bytes (tests/regressions, KnownDecoderBugs).
//
// Case counts: casesPerVersion() below. A failure prints the shrunk case as
// the `l7conform synth ...` command that writes its capture and expected
// records, the RC_PARAMS seed and gtest filter that rerun that version's
// property, and RapidCheck's reproduce string at the end of the run.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "l7/record_json.h"
#include "l7/registry.h"
#include "session/replay.h"
#include "support/synth_replay.h"
#include "synth/synthesizer.h"

// How RapidCheck prints the generated enums in a failure report (found by
// argument-dependent lookup, so in the enums' namespaces).
namespace l7h {
inline void showValue(LinkType link, std::ostream& os) {
  static constexpr const char* kNames[] = {"ethernet", "sll", "sll2", "null", "raw"};
  os << kNames[static_cast<int>(link)];
}
namespace synth {
inline void showValue(Segmentation s, std::ostream& os) { os << segmentationName(s); }
}  // namespace synth
}  // namespace l7h

namespace l7h::synth {
namespace {

std::vector<l7::Record> replayFrames(const Synthesized& s) {
  bool ok = false;
  auto records = replayFrames(s, ok);
  RC_ASSERT(ok);
  return records;
}

// One protocol version: a registry key and a version in the decoder's notation.
struct VersionCase {
  std::string protocol, version;
};
void PrintTo(const VersionCase& v, std::ostream* os) { *os << v.protocol << " " << v.version; }

// Every version a decoder claims, plus any other its generator speaks.
std::vector<VersionCase> everyVersion() {
  std::vector<VersionCase> out;
  for (const l7::DecoderInfo& d : l7::allDecoders()) {
    std::vector<std::string> versions(d.versions.begin(), d.versions.end());
    if (const Generator* g = findGenerator(d.key)) {
      for (const std::string& v : g->versions) {
        if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
      }
    }
    for (const std::string& v : versions) out.push_back({std::string(d.key), v});
  }
  return out;
}

// RapidCheck's max_success (100 unless RC_PARAMS says otherwise; 5000 with
// ./run test --long) is what one protocol's versions share per property, as
// one property per protocol ran before: each version runs
// max_success / versions cases, but at least 10 * sqrt(max_success) (and
// at most max_success). By default that is 100 per version (NATS 2, MQTT 3,
// Kafka 59 API versions: 6400 cases per property); with --long NATS runs
// 2500, MQTT 1667 and each Kafka version 708. The square root lets every
// Kafka version grow with --long without taking that run past ctest's 900 s
// timeout on a 2-core machine.
int casesPerVersion(const Generator& g) {
  const int max_success = rc::detail::configuration().testParams.maxSuccess;
  const int versions = static_cast<int>(std::max<size_t>(1, g.versions.size()));
  const int shared = (max_success + versions - 1) / versions;
  const int floor = std::min(max_success, static_cast<int>(std::ceil(10.0 * std::sqrt(max_success))));
  return std::max(shared, floor);
}

// rc::check runs every property with the configured max_success and seed;
// to give each version its own count (and its own random sequence, derived
// from the configured seed, so RC_PARAMS="seed=S" reruns exactly it) the
// property goes through rc::detail::checkTestable, as rc::check does inside.
// Its id is the description, which RapidCheck's reproduce strings name.
template <typename Testable>
bool checkPerVersion(const std::string& description, const Generator& g, Testable&& testable) {
  const rc::detail::Configuration& config = rc::detail::configuration();
  rc::detail::TestParams params = config.testParams;
  params.maxSuccess = casesPerVersion(g);
  uint64_t hash = 1469598103934665603ull;  // FNV-1a of the description
  for (unsigned char c : description) hash = (hash ^ c) * 1099511628211ull;
  params.seed = config.testParams.seed ^ hash;
  rc::detail::TestMetadata metadata;
  metadata.id = description;
  metadata.description = description;
  std::cerr << "\n- " << description << " (" << params.maxSuccess << " cases)\n";
  const rc::detail::TestResult result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  rc::detail::printResultMessage(result, std::cerr);
  std::cerr << "\n";
  const bool ok = result.template is<rc::detail::SuccessResult>();
  if (!ok) {
    const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
    std::cerr << "rerun this version's property: RC_PARAMS=\"seed=" << config.testParams.seed
              << "\" tests/property/test_property --gtest_filter='" << t->test_suite_name() << "." << t->name()
              << "'\n";
  }
  return ok;
}

SynthOptions arbitraryOptions(const Generator& g, const std::string& version) {
  SynthOptions o;
  o.protocol = std::string(g.protocol);
  o.version = version;
  o.seed = *rc::gen::arbitrary<uint64_t>();
  o.messages = *rc::gen::inRange<size_t>(2, 40);
  o.connections = *rc::gen::inRange<size_t>(1, 4);
  o.ipv6 = *rc::gen::arbitrary<bool>();
  o.plan.segmentation = *rc::gen::element(Segmentation::kWhole, Segmentation::kCoalesced, Segmentation::kRandom,
                                          Segmentation::kOneByte);
  o.plan.seed = *rc::gen::arbitrary<uint64_t>();
  o.plan.mss = *rc::gen::inRange<size_t>(1, 1460);
  o.plan.retransmit_percent = *rc::gen::inRange<uint32_t>(0, 30);
  o.plan.reorder_percent = *rc::gen::inRange<uint32_t>(0, 30);
  // Some captures join their connections mid-stream (about half: the
  // choice is size-scaled, so RapidCheck's small first sizes favour it, as
  // does shrinking): at the first message or at any later boundary (the
  // generator moves it back to where the decoder claims to decode from, and
  // derives what it documents).
  o.plan.handshake = *rc::gen::inRange(0, 3) != 0;
  if (!o.plan.handshake) o.join_at = *rc::gen::inRange<size_t>(0, o.messages);
  o.plan.link = *rc::gen::element(LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kNull,
                                  LinkType::kRawIp);
  if (o.plan.link == LinkType::kEthernet && *rc::gen::arbitrary<bool>()) o.plan.vlan_tags = {42};
  return o;
}

class Roundtrip : public ::testing::TestWithParam<VersionCase> {
 protected:
  const Generator* generator() const { return findGenerator(GetParam().protocol); }
  std::string name(const std::string& what) const { return GetParam().protocol + " " + GetParam().version + ": " + what; }
};

// A version the decoder claims but the synthesizer cannot speak would get
// no property at all: that is a gap in the suite, so it fails here.
TEST_P(Roundtrip, TheSynthesizerSpeaksTheVersion) {
  const Generator* g = generator();
  ASSERT_NE(g, nullptr) << "no synthesizer generator for " << GetParam().protocol;
  EXPECT_NE(std::find(g->versions.begin(), g->versions.end(), GetParam().version), g->versions.end())
      << "the decoder claims " << GetParam().protocol << " " << GetParam().version
      << " but its generator does not speak it";
}

TEST_P(Roundtrip, ReplayOfSynthesizedTrafficEqualsTheModelsRecords) {
  const Generator* g = generator();
  ASSERT_NE(g, nullptr);
  const std::string version = GetParam().version;
  const bool ok = checkPerVersion(name("replay(synthesize(model)) == expected(model)"), *g, [g, version] {
    const SynthOptions o = arbitraryOptions(*g, version);
    RC_LOG() << reproduceCommand(o) << "\n";
    Model model;
    std::string error;
    RC_ASSERT(buildModel(o, model, error));
    const Synthesized s = synthesize(model, o);
    const auto actual = replayFrames(s);
    RC_CLASSIFY(!o.plan.handshake, "mid-stream");
    RC_ASSERT(lines(actual) == lines(s.expected));
  });
  EXPECT_TRUE(ok);
}

TEST_P(Roundtrip, AGapLosesOnlyTheTrafficItTouches) {
  const Generator* g = generator();
  ASSERT_NE(g, nullptr);
  const std::string version = GetParam().version;
  const bool ok = checkPerVersion(name("a gap loses only what it touches"), *g, [g, version] {
    SynthOptions o = arbitraryOptions(*g, version);
    o.connections = 1;
    o.plan.drop_one = true;
    o.plan.reorder_percent = 0;
    o.plan.retransmit_percent = 0;
    RC_LOG() << reproduceCommand(o) << "\n";
    Model model;
    std::string error;
    RC_ASSERT(buildModel(o, model, error));
    size_t checked_exchanges = 0;
    const std::string missing = gapLosesOnlyWhatItTouches(*g, o, model, checked_exchanges);
    if (!missing.empty()) {
      RC_LOG() << missing << "\n";
      RC_FAIL("a record untouched by the gap is missing");
    }
    RC_CLASSIFY(checked_exchanges > 0, "exchanges checked");
  });
  EXPECT_TRUE(ok);
}

// Garbage on a connection of its own, and a capture cut short: the other
// connection's records are untouched, and nothing crashes.
TEST_P(Roundtrip, GarbageConnectionsAndTruncationDoNotDisturbOthers) {
  const Generator* g = generator();
  ASSERT_NE(g, nullptr);
  const std::string version = GetParam().version;
  const bool ok = checkPerVersion(name("garbage and truncation are contained"), *g, [g, version] {
    SynthOptions o = arbitraryOptions(*g, version);
    o.connections = 1;
    o.plan.reorder_percent = 0;
    o.plan.retransmit_percent = 0;
    RC_LOG() << reproduceCommand(o) << "\n";
    Model model;
    std::string error;
    RC_ASSERT(buildModel(o, model, error));
    Synthesized s = synthesize(model, o);
    // A second connection to the same server port carrying random bytes,
    // starting after the real one so flow ids stay put.
    Conversation junk_conv = model.conversations[0].endpoints;
    junk_conv.client.port = static_cast<uint16_t>(junk_conv.client.port + 1);
    PacketPlan junk_plan = o.plan;
    Packetizer junk(junk_conv, junk_plan);
    const auto garbage = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange<size_t>(1, 5),
                                                                       rc::gen::string<std::string>());
    int64_t ts = s.frames.empty() ? 10 : s.frames.front().ts_us + 10;  // its first packet after the real one's
    for (size_t i = 0; i < garbage.size(); ++i) {
      junk.write(i % 2 ? l7::Direction::kToClient : l7::Direction::kToServer, garbage[i], ts + static_cast<int64_t>(i) * 3);
    }
    for (CapturedFrame& f : junk.finish()) s.frames.push_back(std::move(f));
    std::stable_sort(s.frames.begin(), s.frames.end(),
                     [](const CapturedFrame& a, const CapturedFrame& b) { return a.ts_us < b.ts_us; });
    const auto actual = replayFrames(s);
    std::vector<l7::Record> real;
    for (const auto& r : actual) {
      if (r.client_port == model.conversations[0].endpoints.client.port) real.push_back(r);
    }
    RC_ASSERT(lines(real) == lines(s.expected));

    // Truncation: cut the capture anywhere; whatever is produced is valid and
    // ordered (each record was checked by the writer), and nothing crashes.
    const size_t cut = *rc::gen::inRange<size_t>(0, s.frames.size() + 1);
    Synthesized truncated = s;
    truncated.frames.resize(cut);
    const auto partial = replayFrames(truncated);
    for (size_t i = 1; i < partial.size(); ++i) RC_ASSERT(partial[i - 1].start_time_us <= partial[i].start_time_us);
  });
  EXPECT_TRUE(ok);
}

// Test names: "<protocol>_<version>" with every other character as '_'
// ("kafka_Produce_v9", "mqtt_3_1_1").
std::string testName(const ::testing::TestParamInfo<VersionCase>& info) {
  std::string n = info.param.protocol + "_" + info.param.version;
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(EveryVersion, Roundtrip, ::testing::ValuesIn(everyVersion()), testName);

}  // namespace
}  // namespace l7h::synth

// Property-based conformance, for every synthesizer generator and every
// version it speaks: replay(synthesize(model)) == expected(model), at any
// segmentation, with retransmissions and reordering, IPv4 or IPv6, any link
// type — and, under noise (a lost segment, a garbage connection, a truncated
// capture), every record of the unaffected traffic is still there.
//
// Case counts: RapidCheck's default (100 per property) in ./run test;
// ./run test --long raises it through RC_PARAMS (e.g. max_success=2000).
// A failure prints the shrunk model parameters; re-run one with
// `l7conform synth --protocol P --seed S ...`.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <filesystem>
#include <set>

#include "l7/record_json.h"
#include "session/replay.h"
#include "synth/synthesizer.h"

namespace l7h::synth {
namespace {

namespace fs = std::filesystem;

std::string lines(const std::vector<l7::Record>& records) {
  std::string out;
  for (const auto& r : records) l7::appendRecordJson(r, out);
  return out;
}

std::vector<std::string> lineList(const std::vector<l7::Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    std::string line;
    l7::appendRecordJson(r, line);
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<l7::Record> replayFrames(const Synthesized& s) {
  const auto bytes = pcapBytes(s.link, s.frames);
  ReplayOptions options;
  ReplayResult result;
  std::vector<l7::Record> records;
  result = replayCaptureBytes(bytes, options, [&](const l7::Record& r) { records.push_back(r); });
  RC_ASSERT(result.ok);
  return records;
}

SynthOptions arbitraryOptions(const Generator& g) {
  SynthOptions o;
  o.protocol = std::string(g.protocol);
  o.version = *rc::gen::elementOf(g.versions);
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
  o.plan.handshake = true;
  o.plan.link = *rc::gen::element(LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kNull,
                                  LinkType::kRawIp);
  if (o.plan.link == LinkType::kEthernet && *rc::gen::arbitrary<bool>()) o.plan.vlan_tags = {42};
  return o;
}

// The l7conform command that writes the same capture (logged on failure).
std::string reproduceCommand(const SynthOptions& o) {
  static constexpr const char* kLinks[] = {"ethernet", "sll", "sll2", "null", "raw"};
  std::string c = "l7conform synth --protocol " + o.protocol + " --version " + o.version +
                  " --seed " + std::to_string(o.seed) + " --plan-seed " + std::to_string(o.plan.seed) +
                  " --count " + std::to_string(o.messages) + " --connections " + std::to_string(o.connections) +
                  " --segmentation " + segmentationName(o.plan.segmentation) + " --mss " + std::to_string(o.plan.mss) +
                  " --retransmit " + std::to_string(o.plan.retransmit_percent) + " --reorder " +
                  std::to_string(o.plan.reorder_percent) + " --link " + kLinks[static_cast<int>(o.plan.link)];
  if (!o.plan.vlan_tags.empty()) c += " --vlan " + std::to_string(o.plan.vlan_tags[0]);
  if (o.plan.drop_one) c += " --drop-one";
  if (!o.plan.handshake) c += " --no-handshake";
  if (o.ipv6) c += " --ipv6";
  return c + " -o case.pcap --expect case.jsonl";
}

class Roundtrip : public ::testing::TestWithParam<std::string> {};

TEST_P(Roundtrip, ReplayOfSynthesizedTrafficEqualsTheModelsRecords) {
  const Generator* g = findGenerator(GetParam());
  ASSERT_NE(g, nullptr);
  const bool ok = rc::check(GetParam() + ": replay(synthesize(model)) == expected(model)", [g] {
    const SynthOptions o = arbitraryOptions(*g);
    RC_LOG() << reproduceCommand(o) << "\n";
    Model model;
    std::string error;
    RC_ASSERT(buildModel(o, model, error));
    const Synthesized s = synthesize(model, o);
    const auto actual = replayFrames(s);
    RC_ASSERT(lines(actual) == lines(s.expected));
  });
  EXPECT_TRUE(ok);
}

// One lost segment: every record that is not touched by the loss, nor by
// the first message after it in that direction (where the decoder
// resynchronizes), is still produced: one-way messages, and exchanges whose
// request and response are both untouched. Where responses pair by order,
// a lost exchange message may shift the pairing of every later exchange, so
// only exchanges before it are checked; with ids (Kafka) all are.
TEST_P(Roundtrip, AGapLosesOnlyTheTrafficItTouches) {
  const Generator* g = findGenerator(GetParam());
  ASSERT_NE(g, nullptr);
  const bool ok = rc::check(GetParam() + ": a gap loses only what it touches", [g] {
    SynthOptions o = arbitraryOptions(*g);
    o.connections = 1;
    o.plan.drop_one = true;
    o.plan.reorder_percent = 0;
    o.plan.retransmit_percent = 0;
    RC_LOG() << reproduceCommand(o) << "\n";
    Model model;
    std::string error;
    RC_ASSERT(buildModel(o, model, error));
    const ModelConversation& conv = model.conversations[0];
    // Which message lost bytes? Re-packetize the same plan to learn it.
    Packetizer probe(conv.endpoints, PacketPlan{o.plan.segmentation, o.plan.seed * 1000003u, o.plan.mss, true, true, 0, 0,
                                                true, o.plan.link, o.plan.vlan_tags});
    for (size_t i = 0; i < conv.messages.size(); ++i) probe.write(conv.messages[i].dir, conv.messages[i].bytes, 1 + i);
    probe.finish();
    std::set<size_t> affected;
    size_t first_lost_exchange_message = conv.messages.size();
    for (size_t i = 0; i < conv.messages.size(); ++i) {
      if (!probe.placements()[i].lost) continue;
      affected.insert(i);
      if (conv.messages[i].kind != l7::MessageKind::kOneWay) {
        first_lost_exchange_message = std::min(first_lost_exchange_message, i);
      }
      for (size_t j = i + 1; j < conv.messages.size(); ++j) {
        if (conv.messages[j].dir == conv.messages[i].dir) {
          affected.insert(j);  // where the decoder resynchronizes
          if (conv.messages[j].kind != l7::MessageKind::kOneWay) {
            first_lost_exchange_message = std::min(first_lost_exchange_message, j);
          }
          break;
        }
      }
    }
    // Losing the message that carries connection state (NATS INFO: version,
    // server name) legitimately changes every later record.
    if (affected.count(0) != 0) return;
    const Synthesized s = synthesize(model, o);
    const auto actual = lineList(replayFrames(s));
    const std::multiset<std::string> produced(actual.begin(), actual.end());
    // The expected record of message i (a one-way message, or the request of
    // an exchange answered by message `answer`), found by type, start time
    // and sizes.
    auto expectedLine = [&](size_t i, const ModelMessage* answer) -> std::optional<std::string> {
      const ModelMessage& m = conv.messages[i];
      for (const auto& r : s.expected) {
        if (r.f.request_type != m.fields.request_type) continue;
        const bool request_side = m.kind == l7::MessageKind::kRequest || m.dir == l7::Direction::kToServer;
        const int64_t bytes = request_side ? r.captured_request_byte : r.captured_response_byte;
        if (bytes != static_cast<int64_t>(m.bytes.size())) continue;
        if (answer != nullptr && r.captured_response_byte != static_cast<int64_t>(answer->bytes.size())) continue;
        if (r.f.request_id != m.fields.request_id || r.f.x_request_id_0 != m.fields.x_request_id_0) continue;
        std::string line;
        l7::appendRecordJson(r, line);
        if (produced.count(line)) return line;
      }
      return std::nullopt;
    };
    size_t checked_exchanges = 0;
    for (size_t i = 0; i < conv.messages.size(); ++i) {
      const ModelMessage& m = conv.messages[i];
      if (affected.count(i)) continue;
      if (m.kind == l7::MessageKind::kOneWay) {
        if (!expectedLine(i, nullptr)) {
          RC_LOG() << "lost one-way message " << i << " (" << m.fields.request_type << ", " << m.bytes.size()
                   << " bytes, direction " << static_cast<int>(m.dir) << ")\n";
          RC_FAIL("a one-way message untouched by the gap is missing");
        }
        continue;
      }
      if (m.kind != l7::MessageKind::kResponse || m.answers < 0) continue;
      const size_t request = static_cast<size_t>(m.answers);
      if (affected.count(request)) continue;
      if (!g->pairs_by_id && std::max(request, i) > first_lost_exchange_message) continue;
      ++checked_exchanges;
      if (!expectedLine(request, &m)) {
        RC_LOG() << "lost exchange " << request << " -> " << i << " (" << conv.messages[request].fields.request_type
                 << ")\n";
        RC_FAIL("an exchange untouched by the gap is missing");
      }
    }
    RC_CLASSIFY(checked_exchanges > 0, "exchanges checked");
  });
  EXPECT_TRUE(ok);
}

// Garbage on a connection of its own, and a capture cut short: the other
// connection's records are untouched, and nothing crashes.
TEST_P(Roundtrip, GarbageConnectionsAndTruncationDoNotDisturbOthers) {
  const Generator* g = findGenerator(GetParam());
  ASSERT_NE(g, nullptr);
  const bool ok = rc::check(GetParam() + ": garbage and truncation are contained", [g] {
    SynthOptions o = arbitraryOptions(*g);
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
    int64_t ts = s.frames.empty() ? 10 : s.frames.front().ts_us + 10;  // its SYN after the real SYN
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

std::vector<std::string> protocols() {
  std::vector<std::string> out;
  for (const Generator& g : generators()) out.emplace_back(g.protocol);
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryGenerator, Roundtrip, ::testing::ValuesIn(protocols()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace l7h::synth

// The template decoder (parsers/template) through the production session:
// each test shows one thing decoder contract v2 lets a protocol say.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "capture/frame_builder.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "template/toy_decoder.h"

namespace l7::toy {
namespace {

using l7test::be;
using l7test::ScriptedConnection;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

std::string frame(FrameType type, uint8_t channel, const std::string& body) {
  return be(body.size() + 2, 4) + static_cast<char>(type) + static_cast<char>(channel) + body;
}
std::string hello(uint8_t version) { return frame(FrameType::kHello, 0, std::string(1, static_cast<char>(version))); }
std::string req(uint8_t channel, uint64_t id, uint64_t id2, Op op, const std::string& resource) {
  return frame(FrameType::kRequest, channel, be(id, 8) + be(id2, 8) + static_cast<char>(op) + resource);
}
std::string res(uint8_t channel, uint64_t id, uint64_t id2, const std::string& body) {
  return frame(FrameType::kResponse, channel, be(id, 8) + be(id2, 8) + body);
}
std::string part(uint8_t channel, bool more, const std::string& data) {
  return frame(FrameType::kPart, channel, std::string(1, more ? '\1' : '\0') + data);
}
std::string note(const std::string& text) { return frame(FrameType::kNote, 0, text); }

// One connection's writes, each its own packet (its own time and sequence
// number), both greetings first.
struct Script {
  struct Step {
    Direction dir;
    std::string bytes;
    int64_t ts;
  };
  std::vector<Step> steps;
  Script& add(Direction d, std::string b, int64_t ts) {
    steps.push_back({d, std::move(b), ts});
    return *this;
  }
  std::vector<Record> run() const {
    ScriptedConnection sc(toyDecoderInfo(), [&](l7h::Connection& conn) {
      uint64_t offset[2] = {0, 0};
      for (const Step& s : steps) {
        const int d = static_cast<int>(s.dir);
        conn.data(s.dir, offset[d], static_cast<uint32_t>(1000 + offset[d]), s.ts, asBytes(std::string_view(s.bytes)));
        offset[d] += s.bytes.size();
      }
    });
    return sc.records;
  }
};

Script greeted() { return Script().add(kC2S, hello(1), 1).add(kS2C, hello(1), 2); }

// A body spread over frames with other channels' frames between them is one
// record: placed at its first frame, sized by all of them.
TEST(ToyContract, AMessageOfSeveralFramesIsPlacedAtItsFirstAndSizedByAll) {
  const std::string first = part(1, true, "abc"), second = part(1, true, "defg"), last = part(1, false, "h");
  Script s = greeted();
  s.add(kC2S, first, 10);
  s.add(kC2S, note("between"), 20);
  s.add(kC2S, part(2, false, "other"), 30);
  s.add(kC2S, second, 40);
  s.add(kC2S, last, 50);
  const std::vector<Record> records = s.run();
  const Record& body = l7test::get(records, "BODY");
  EXPECT_EQ(body.start_time_us, 10);
  EXPECT_EQ(body.req_tcp_seq, 1000u + hello(1).size());
  EXPECT_EQ(body.captured_request_byte, first.size() + second.size() + last.size());
  EXPECT_EQ(body.f.response_status, ResponseStatus::kOk);
  // In time order: the body began before the note that came between its frames.
  ASSERT_GE(records.size(), 5u);
  EXPECT_EQ(records[2].f.request_type, "BODY");
  EXPECT_EQ(records[3].f.request_type, "NOTE");
}

// An open body holds output ordering: nothing after its first frame can be
// released before it, and a body the stream cuts is still reported.
TEST(ToyContract, ABodyCutByTheEndIsReportedWhereItBegan) {
  Script s = greeted();
  s.add(kC2S, part(3, true, "xyz"), 10);
  s.add(kC2S, note("later"), 20);
  const std::vector<Record> records = s.run();
  const Record& body = l7test::get(records, "BODY");
  EXPECT_EQ(body.start_time_us, 10);
  EXPECT_EQ(body.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(body.f.response_exception, "stream ended inside a body");
}

// Pairing by two 64-bit ids: answers in the other order still find their own
// request, which one id alone could not tell.
TEST(ToyContract, KeysOfTwoIdsPairEachAnswerWithItsOwnRequest) {
  Script s = greeted();
  s.add(kC2S, req(1, 7, 1ull << 40, Op::kText, "first"), 10);
  s.add(kC2S, req(1, 7, (1ull << 40) + 1, Op::kText, "second"), 11);
  s.add(kS2C, res(1, 7, (1ull << 40) + 1, "answer-2"), 20);
  s.add(kS2C, res(1, 7, 1ull << 40, "answer-1"), 21);
  const std::vector<Record> records = s.run();
  EXPECT_EQ(l7test::get(records, "REQ", 0).f.request_resource, "first");
  EXPECT_EQ(l7test::get(records, "REQ", 0).f.response_result, "answer-1");
  EXPECT_EQ(l7test::get(records, "REQ", 1).f.request_resource, "second");
  EXPECT_EQ(l7test::get(records, "REQ", 1).f.response_result, "answer-2");
}

// A response's body is read by what its request asked (the request's context
// from the session's pending store); the protocol's merge keeps a request's
// own failure.
TEST(ToyContract, AResponseIsDecodedWithItsRequestsContextAndMergedByTheProtocolsRule) {
  Script s = greeted();
  s.add(kC2S, req(2, 1, 0, Op::kStatus, "a"), 10);
  s.add(kS2C, res(2, 1, 0, be(503, 2)), 11);
  s.add(kC2S, req(2, 2, 0, static_cast<Op>(9), "b"), 12);
  s.add(kS2C, res(2, 2, 0, be(0, 2)), 13);
  const std::vector<Record> records = s.run();
  const Record& status = l7test::get(records, "REQ", 0);
  EXPECT_EQ(status.type, RecordType::kSession);
  EXPECT_EQ(status.f.response_code, 503);
  EXPECT_EQ(status.f.response_status, ResponseStatus::kServerError);
  const Record& unknown = l7test::get(records, "REQ", 1);
  EXPECT_EQ(unknown.type, RecordType::kSession);
  EXPECT_EQ(unknown.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(unknown.f.response_exception, "unknown operation");
}

// State from the other direction: the client's request waits for the
// server's greeting (the version is the lower of both), and is decoded the
// moment it comes, not when the client sends more.
TEST(ToyContract, BytesWaitingForThePeersStateAreDecodedWhenItComes) {
  ScriptedConnection sc(toyDecoderInfo(), [](l7h::Connection& conn, const l7h::ConnectionCounters& counters) {
    const std::string client = hello(2) + req(0, 5, 0, Op::kText, "r");
    conn.data(kC2S, 0, 1000, 10, asBytes(std::string_view(client)));
    EXPECT_EQ(counters.messages, 1u);  // the HELLO only
    EXPECT_GT(conn.bufferedBytes(), 0u);
    const std::string server = hello(1);
    conn.data(kS2C, 0, 5000, 20, asBytes(std::string_view(server)));
    EXPECT_EQ(counters.messages, 3u);
    EXPECT_EQ(conn.bufferedBytes(), 0u);
  });
  const Record& r = l7test::get(sc.records, "REQ");
  EXPECT_EQ(r.f.version, "1");
  EXPECT_EQ(r.start_time_us, 10);
}

// After lost bytes the shared engine takes a start confirmed by a chain of
// two frames, and every frame of that chain is a record.
TEST(ToyContract, AfterAGapEveryFrameOfTheConfirmingChainIsDecoded) {
  ScriptedConnection sc(toyDecoderInfo(), [](l7h::Connection& conn) {
    const std::string greet = hello(1);
    conn.data(kC2S, 0, 1000, 1, asBytes(std::string_view(greet)));
    conn.data(kS2C, 0, 5000, 2, asBytes(std::string_view(greet)));
    conn.gap(kC2S, 100);
    const std::string rest = std::string("\x07\x01\x02", 3) + note("one") + note("two") + note("three");
    conn.data(kC2S, greet.size() + 100, 1000 + static_cast<uint32_t>(greet.size() + 100), 10,
              asBytes(std::string_view(rest)));
  });
  EXPECT_NE(l7test::byType(sc.records, "NOTE", 2), nullptr);
  EXPECT_EQ(l7test::get(sc.records, "NOTE", 0).f.request_resource, "one");
  for (const Record& r : sc.records) EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed);
}

// Both sides open alike: the session names the client by the SYN, else by
// the well-known port, else by who spoke first, and counts which.
struct SymmetricCase {
  bool syn;
  uint16_t server_port;
  bool server_speaks_first;
  uint16_t expected_client_port;
};

l7h::ReplayResult replaySymmetric(const SymmetricCase& c, std::vector<Record>& records) {
  static const std::array<DecoderInfo, 1> kDecoders = {toyDecoderInfo()};
  const Direction first = c.server_speaks_first ? kS2C : kC2S;
  const std::vector<l7test::Write> segments = {
      {first, hello(1), 1}, {reverse(first), hello(1), 2}, {kC2S, note("from the client"), 3}};
  l7h::ReplayOptions options;
  options.decoders = kDecoders;
  return l7h::replayCaptureBytes(l7test::captureOf(segments, c.server_port, c.syn), options,
                                 [&](const Record& r) { records.push_back(r); });
}

TEST(ToyContract, SymmetricOpeningsNameTheClientBySynThenPortThenFirstSpeaker) {
  const SymmetricCase cases[] = {
      {true, 5000, true, 40000},    // the SYN sender, though the server spoke first
      {false, 7777, true, 40000},   // the side off the well-known port
      {false, 5000, false, 40000},  // whoever spoke first
      {false, 5000, true, 5000},    // ... even the real server, which no rule can know
  };
  for (const SymmetricCase& c : cases) {
    std::vector<Record> records;
    const l7h::ReplayResult r = replaySymmetric(c, records);
    ASSERT_TRUE(r.ok) << r.error;
    const Record& n = l7test::get(records, "NOTE");
    EXPECT_EQ(n.client_port, c.expected_client_port) << "syn " << c.syn << " port " << c.server_port;
    EXPECT_EQ(r.stats.clients_by_port, !c.syn && c.server_port == 7777 ? 1u : 0u);
    EXPECT_EQ(r.stats.clients_by_first_speaker, !c.syn && c.server_port != 7777 ? 1u : 0u);
  }
}

}  // namespace
}  // namespace l7::toy

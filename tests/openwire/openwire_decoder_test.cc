// OpenWire decoder through the production connection path: the
// WireFormatInfo negotiation, every size-prefix x encoding combination at
// any segmentation, the boolean stream's three length forms, the marshal
// cache, pairing from either side, caps and hostile sizes, resynchronization,
// versions 1 to 9 in their marshallers' layouts written by hand,
// DeepFlow's captures against their .result files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "openwire/openwire_decoder.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"
#include "support/synth_replay.h"
#include "synth/openwire_wire.h"

namespace l7::openwire {
namespace {

using l7test::get;
using l7test::runConversation;
using l7test::Split;
using l7test::Write;
using wire::Command;
using wire::SenderCache;
using wire::Writer;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

WireSettings settingsOf(bool tight, bool prefix, bool cache, uint32_t version = 12) {
  WireSettings s;
  s.tight = tight;
  s.size_prefix_disabled = !prefix;
  s.cache = cache;
  s.cache_size = cache ? 1024 : 0;
  s.stack_trace = true;
  s.version = version;
  return s;
}

// Both sides' writers (each side its own marshal cache).
struct Peer {
  WireSettings s;
  SenderCache cache[2];
  std::string say(Direction dir, const Command& c) { return Writer(s, cache[static_cast<int>(dir)]).command(c); }
};

Command connectionInfo(uint32_t id) {
  Command c;
  c.type = 3;
  c.command_id = id;
  c.response_required = true;
  c.filler = "ID:client-1";
  return c;
}
Command response(uint32_t id, uint32_t correlation) {
  Command c;
  c.type = kResponseType;
  c.command_id = id;
  c.correlation_id = correlation;
  return c;
}
Command text(uint32_t id, std::string dest, bool response_required = true, uint8_t dest_type = kQueueType) {
  Command c;
  c.type = kTextMessageType;
  c.command_id = id;
  c.response_required = response_required;
  c.has_destination = true;
  c.destination = {dest_type, std::move(dest)};
  c.long_value = 0x1234567;
  return c;
}

std::vector<Record> run(const std::vector<Write>& writes, Split split = Split::kWhole) {
  return runConversation(openwireDecoderInfo(), writes, split, 11);
}

size_t parseFailures(const std::vector<Record>& records) {
  return static_cast<size_t>(std::count_if(records.begin(), records.end(), [](const Record& r) {
    return r.f.response_status == ResponseStatus::kParseFailed;
  }));
}

std::string attr(const Record& r, std::string_view name) {
  for (const Attribute& a : r.f.attributes) {
    if (a.name == name) return a.value;
  }
  return "";
}

// A connection in every encoding: handshake, ConnectionInfo -> Response,
// a text message with properties and a JMS correlation id -> Response, a
// dispatch the other way, a one-way message.
std::vector<Write> conversation(bool tight, bool prefix, bool cache, uint32_t client_version = 12,
                                uint32_t server_version = 12) {
  Peer p{settingsOf(tight, prefix, cache, std::min(client_version, server_version))};
  std::vector<Write> w;
  w.push_back({kC2S, wire::wireFormatInfo(client_version, settingsOf(tight, prefix, cache)), 1});
  w.push_back({kS2C, wire::wireFormatInfo(server_version, settingsOf(tight, prefix, cache)), 2});
  w.push_back({kC2S, p.say(kC2S, connectionInfo(1)), 3});
  w.push_back({kS2C, p.say(kS2C, response(0, 1)), 4});
  Command m = text(2, "orders");
  m.jms_correlation_id = "corr-7";
  m.properties = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                  {"color", "blue"},
                  {"sw8", "1-MzAzMDMwMzAzMDMwMzAzMDMwMzAzMDMwMzAzMDMw-MzEzMTMxMzEzMTMxMzEzMTMxMzEzMTMxMzEzMTMx-0-"
                          "c2VydmljZQ==-aW5zdGFuY2U=-L2VuZHBvaW50-dGFyZ2V0OjEyMw=="}};
  w.push_back({kC2S, p.say(kC2S, m), 5});
  w.push_back({kS2C, p.say(kS2C, response(0, 2)), 6});
  Command dispatch;
  dispatch.type = kMessageDispatchType;
  dispatch.has_destination = true;
  dispatch.destination = {kTopicType, "prices"};
  dispatch.message = std::make_shared<Command>(text(9, "prices", false, kTopicType));
  dispatch.message->jms_correlation_id = "corr-9";
  w.push_back({kS2C, p.say(kS2C, dispatch), 7});
  w.push_back({kC2S, p.say(kC2S, text(3, "orders", false)), 8});
  return w;
}

class EveryEncoding : public ::testing::TestWithParam<std::tuple<bool, bool, bool>> {};

TEST_P(EveryEncoding, DecodesTheSameRecordsAtAnySegmentation) {
  const auto [tight, prefix, cache] = GetParam();
  const std::vector<Write> w = conversation(tight, prefix, cache);
  const std::vector<Record> whole = run(w);
  ASSERT_EQ(parseFailures(whole), 0u) << l7test::toJsonLines(whole);
  std::vector<std::string> types;
  for (const Record& r : whole) types.push_back(r.f.request_type);
  EXPECT_EQ(types, (std::vector<std::string>{"WireFormatInfo", "WireFormatInfo", "ConnectionInfo", "ActiveMQTextMessage",
                                             "MessageDispatch", "ActiveMQTextMessage"}));
  const Record& conn = get(whole, "ConnectionInfo");
  EXPECT_EQ(conn.type, RecordType::kSession);
  EXPECT_EQ(conn.f.request_id, 1);
  EXPECT_EQ(conn.f.version, "12");
  const Record& sent = get(whole, "ActiveMQTextMessage");
  EXPECT_EQ(sent.type, RecordType::kSession);  // merged with its Response
  EXPECT_EQ(sent.f.request_resource, "orders");
  EXPECT_EQ(sent.f.endpoint, "orders");
  EXPECT_EQ(sent.f.x_request_id_0, "corr-7");
  EXPECT_EQ(sent.f.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_FALSE(sent.f.trace_id_2.empty());  // sw8's, the second distinct id
  EXPECT_EQ(sent.f.response_status, ResponseStatus::kOk);
  const Record& dispatch = get(whole, "MessageDispatch");
  EXPECT_EQ(dispatch.f.request_resource, "prices");
  EXPECT_EQ(dispatch.f.x_request_id_1, "corr-9");  // the dispatched message's, travelling to the client
  EXPECT_EQ(get(whole, "ActiveMQTextMessage", 1).f.request_resource, "orders");
  for (Split split : {Split::kOneByte, Split::kRandom}) {
    const std::vector<Record> cut = run(w, split);
    ASSERT_EQ(cut.size(), whole.size()) << l7test::toJsonLines(cut);
    for (size_t i = 0; i < cut.size(); ++i) EXPECT_EQ(cut[i].f, whole[i].f) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(TightLoosePrefixCache, EveryEncoding,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool()));

TEST(OpenWireNegotiation, SettingsAreBothSidesAndAndTheVersionTheLower) {
  // The client asks for tight without a prefix; the server for loose with
  // one: the connection runs loose with the prefix, at version 11.
  Peer p{settingsOf(false, true, false, 11)};
  const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, settingsOf(true, false, true)), 1},
                                     {kS2C, wire::wireFormatInfo(11, settingsOf(false, true, false)), 2},
                                     {kC2S, p.say(kC2S, connectionInfo(1)), 3},
                                     {kS2C, p.say(kS2C, response(0, 1)), 4}});
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[0].f.version, "12");  // each WireFormatInfo its own
  EXPECT_EQ(r[1].f.version, "11");
  EXPECT_EQ(get(r, "ConnectionInfo").f.version, "11");
  EXPECT_EQ(get(r, "ConnectionInfo").type, RecordType::kSession);
}

TEST(OpenWireNegotiation, CommandsSentBeforeThePeersWireFormatInfoWaitForIt) {
  // The client's WireFormatInfo and first commands arrive before the
  // server's: they can only be read with the negotiated (tight) format.
  Peer p{settingsOf(true, true, true)};
  const std::string client = wire::wireFormatInfo(12, settingsOf(true, true, true)) + p.say(kC2S, connectionInfo(1)) +
                             p.say(kC2S, text(2, "q1"));
  for (Split split : {Split::kWhole, Split::kOneByte}) {
    const std::vector<Record> r = run({{kC2S, client, 1},
                                       {kS2C, wire::wireFormatInfo(12, settingsOf(true, true, true)), 2},
                                       {kS2C, p.say(kS2C, response(0, 1)) + p.say(kS2C, response(0, 2)), 3}},
                                      split);
    ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
    EXPECT_EQ(get(r, "ConnectionInfo").type, RecordType::kSession);
    EXPECT_EQ(get(r, "ActiveMQTextMessage").f.request_resource, "q1");
  }
}

TEST(OpenWireBooleanStream, ItsThreeLengthFormsAreRead) {
  // A KeepAliveInfo needs one bit; a stream may be longer (the 0xC0 form
  // for 64..255 bytes, 0x80 for more): the unused bits are passed over.
  Peer p{settingsOf(true, true, false)};
  auto keepAlive = [](const std::string& length_form, size_t bytes) {
    const std::string body = std::string("\x0A") + length_form + std::string(bytes, '\0') + Writer::be(5, 4);
    return Writer::be(body.size(), 4) + body;
  };
  const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                     {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                     {kC2S, keepAlive("\x01", 1), 3},
                                     {kC2S, keepAlive("\xC0\x46", 70), 4},
                                     {kC2S, keepAlive(std::string("\x80\x01\x2C", 3), 300), 5},
                                     {kC2S, keepAlive(std::string("\x00", 1), 0), 6}});
  ASSERT_EQ(r.size(), 6u) << l7test::toJsonLines(r);
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(r[i].f.request_type, "KeepAliveInfo");
    EXPECT_EQ(r[i].f.request_id, 5);
    EXPECT_EQ(r[i].f.response_status, ResponseStatus::kOk);
  }
  // An empty stream has no bit for responseRequired: malformed, framed by its prefix.
  EXPECT_EQ(r[5].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(r[5].f.response_exception, "boolean stream exhausted");
}

TEST(OpenWireBooleanStream, LongsOfEverySizeAndNonAsciiStringsKeepTheCommandAligned) {
  for (uint64_t v : {0ull, 0x12ull, 0x123456ull, 0x123456789Aull}) {
    Peer p{settingsOf(true, true, true)};
    Command m = text(4, "caf\xC3\xA9");
    m.long_value = v;
    m.filler = "gr\xC3\xBC\xC3\x9F";
    const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                       {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                       {kC2S, p.say(kC2S, m) + p.say(kC2S, text(5, "next", false)), 3}});
    ASSERT_EQ(parseFailures(r), 0u) << v << l7test::toJsonLines(r);
    EXPECT_EQ(get(r, "ActiveMQTextMessage").f.request_resource, "caf\xC3\xA9");
    EXPECT_EQ(get(r, "ActiveMQTextMessage", 1).f.request_resource, "next");
  }
}

// The cache: a destination sent by value fills its index; later commands
// name it by index alone and still carry the name.
TEST(OpenWireCache, DestinationsByIndexResolvePerDirection) {
  for (bool tight : {true, false}) {
    Peer p{settingsOf(tight, true, true)};
    const std::string first = p.say(kC2S, text(2, "orders", false));
    const std::string second = p.say(kC2S, text(3, "orders", false));
    EXPECT_LT(second.size(), first.size());  // by index: the name is not on the wire again
    // The other direction's index 0 is its own: a topic there.
    const std::string other = p.say(kS2C, text(4, "news", false, kTopicType));
    const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                       {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                       {kC2S, first + second, 3},
                                       {kS2C, other, 4}});
    ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
    EXPECT_EQ(get(r, "ActiveMQTextMessage", 0).f.request_resource, "orders");
    EXPECT_EQ(get(r, "ActiveMQTextMessage", 1).f.request_resource, "orders");
    EXPECT_EQ(get(r, "ActiveMQTextMessage", 2).f.request_resource, "news");
    EXPECT_EQ(attr(get(r, "ActiveMQTextMessage", 1), "cache_misses"), "");
  }
}

TEST(OpenWireCache, AnIndexNeverFilledIsAnEmptyFieldAndACounterAnIndexPastCacheSizeIsMalformed) {
  Peer p{settingsOf(false, true, true)};
  p.cache[0].index_of["100:orders"] = 5;  // as if sent before the capture
  p.cache[0].next = 6;
  const std::string by_index = p.say(kC2S, text(2, "orders", false));
  WireSettings small = p.s;
  small.cache_size = 4;
  const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                     {kS2C, wire::wireFormatInfo(12, small), 2},
                                     {kC2S, by_index, 3}});
  ASSERT_EQ(r.size(), 3u) << l7test::toJsonLines(r);
  // CacheSize is the smaller one, 4: index 5 cannot exist.
  EXPECT_EQ(r[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(r[2].f.response_exception, "cache index out of range");
  const std::vector<Record> ok = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                      {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                      {kC2S, by_index, 3}});
  ASSERT_EQ(parseFailures(ok), 0u) << l7test::toJsonLines(ok);
  EXPECT_EQ(ok[2].f.request_resource, "");
  EXPECT_EQ(attr(ok[2], "cache_misses"), "1");
}

TEST(OpenWireCache, OffMeansEveryDestinationByValue) {
  Peer p{settingsOf(true, true, false)};
  const std::string first = p.say(kC2S, text(2, "orders", false));
  EXPECT_EQ(p.say(kC2S, text(2, "orders", false)), first);
  // One side without the cache turns it off for both.
  const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, settingsOf(true, true, true)), 1},
                                     {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                     {kC2S, first + first, 3}});
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  EXPECT_EQ(get(r, "ActiveMQTextMessage", 1).f.request_resource, "orders");
}

TEST(OpenWirePairing, TheBrokersRequestsPairWithTheClientsResponsesByTheirOwnSide) {
  // Both sides use command id 1 for a request: each Response pairs with the
  // request of the side it answers.
  Peer p{settingsOf(true, true, true)};
  Command dispatch;
  dispatch.type = kMessageDispatchType;
  dispatch.command_id = 1;
  dispatch.response_required = true;
  dispatch.has_destination = true;
  dispatch.destination = {kQueueType, "work"};
  dispatch.message = std::make_shared<Command>(text(0, "work", false));
  const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                     {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                     {kC2S, p.say(kC2S, connectionInfo(1)), 3},
                                     {kS2C, p.say(kS2C, dispatch), 4},
                                     {kC2S, p.say(kC2S, response(2, 1)), 5},
                                     {kS2C, p.say(kS2C, response(3, 1)), 6}});
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  ASSERT_EQ(r.size(), 4u) << l7test::toJsonLines(r);
  const Record& conn = get(r, "ConnectionInfo");
  const Record& disp = get(r, "MessageDispatch");
  EXPECT_EQ(conn.type, RecordType::kSession);
  EXPECT_EQ(disp.type, RecordType::kSession);
  EXPECT_EQ(conn.end_time_us, 6);  // answered by the broker's Response
  EXPECT_EQ(disp.end_time_us, 5);  // answered by the client's
}

TEST(OpenWireExceptions, AnExceptionResponseGivesItsClassAndMessageAndAServerError) {
  for (bool tight : {true, false}) {
    Peer p{settingsOf(tight, true, false)};
    Command ex;
    ex.type = kExceptionResponseType;
    ex.correlation_id = 1;
    ex.has_exception = true;
    ex.exception_class = "java.lang.SecurityException";
    ex.exception_message = "User name [x] or password is invalid.";
    const std::vector<Record> r = run({{kC2S, wire::wireFormatInfo(12, p.s), 1},
                                       {kS2C, wire::wireFormatInfo(12, p.s), 2},
                                       {kC2S, p.say(kC2S, connectionInfo(1)), 3},
                                       {kS2C, p.say(kS2C, ex), 4}});
    ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
    const Record& conn = get(r, "ConnectionInfo");
    EXPECT_EQ(conn.type, RecordType::kSession);
    EXPECT_EQ(conn.f.response_status, ResponseStatus::kServerError);
    EXPECT_EQ(conn.f.response_exception, "java.lang.SecurityException: User name [x] or password is invalid.");
  }
}

std::vector<Write> handshakeOf(const WireSettings& s) {
  return {{kC2S, wire::wireFormatInfo(12, s), 1}, {kS2C, wire::wireFormatInfo(12, s), 2}};
}

TEST(OpenWireUnknown, AnUnknownTypeIsSkippedByItsPrefixAndReported) {
  Peer p{settingsOf(true, true, true)};
  std::vector<Write> w = handshakeOf(p.s);
  w.push_back({kC2S, Writer::be(6, 4) + "\xC8" + "abcde" + p.say(kC2S, text(2, "after", false)), 3});
  const std::vector<Record> r = run(w);
  ASSERT_EQ(r.size(), 4u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(r[2].f.response_exception, "unknown command type 200");
  EXPECT_EQ(r[3].f.request_resource, "after");
}

TEST(OpenWireUnknown, WithoutAPrefixItIsAParseFailureAndTheEngineFindsTheNextCommands) {
  Peer p{settingsOf(false, false, false)};
  std::vector<Write> w = handshakeOf(p.s);
  std::string after;
  for (uint32_t i = 2; i < 6; ++i) after += p.say(kC2S, text(i, "after", false));
  w.push_back({kC2S, std::string("\xC8\x01\x02\x03", 4) + after, 3});
  for (Split split : {Split::kWhole, Split::kOneByte}) {
    const std::vector<Record> r = run(w, split);
    ASSERT_GE(r.size(), 4u) << l7test::toJsonLines(r);
    EXPECT_EQ(r[2].f.response_status, ResponseStatus::kParseFailed);
    EXPECT_EQ(r[2].f.response_exception, "unknown command type 200");
    size_t found = 0;
    for (const Record& rec : r) found += rec.f.request_resource == "after";
    EXPECT_EQ(found, 4u) << l7test::toJsonLines(r);  // every command of the confirming chain
  }
}

TEST(OpenWireTruncation, AStreamEndingInsideACommandIsReportedOnceForEveryEncoding) {
  for (bool tight : {true, false}) {
    for (bool prefix : {true, false}) {
      Peer p{settingsOf(tight, prefix, true)};
      std::vector<Write> w = handshakeOf(p.s);
      const std::string m = p.say(kC2S, text(2, "q", false));
      for (size_t cut : {size_t{1}, m.size() / 2, m.size() - 1}) {
        std::vector<Write> ww = w;
        ww.push_back({kC2S, m.substr(0, cut), 3});
        const std::vector<Record> r = run(ww);
        ASSERT_EQ(r.size(), 3u) << tight << prefix << cut << l7test::toJsonLines(r);
        EXPECT_EQ(r[2].f.response_status, ResponseStatus::kParseFailed);
        EXPECT_EQ(r[2].f.response_exception, "stream ended inside a command");
      }
    }
  }
}

TEST(OpenWireCaps, HostileSizesGiveAStatus6RecordNeverMemory) {
  Peer p{settingsOf(true, true, false)};
  // A size prefix over max_message_bytes: framing is lost, the engine
  // resynchronizes on the next commands.
  std::vector<Write> w = handshakeOf(p.s);
  w.push_back({kC2S, std::string("\xFF\xFF\xFF\xF0\x1C", 5) + p.say(kC2S, text(2, "a", false)) +
                         p.say(kC2S, text(3, "b", false)),
               3});
  std::vector<Record> r = run(w);
  EXPECT_GE(parseFailures(r), 1u);
  EXPECT_EQ(r.back().f.request_resource, "b") << l7test::toJsonLines(r);
  // A size under the message cap but over the buffering cap: reported from
  // its prefix, its body skipped unseen.
  w = handshakeOf(p.s);
  w.push_back({kC2S, Writer::be(5u << 20, 4) + "\x1C" + std::string(64, '\0'), 3});
  r = run(w);
  ASSERT_EQ(r.size(), 3u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[2].f.request_type, "ActiveMQTextMessage");
  EXPECT_EQ(r[2].f.response_exception, "command over the buffering cap");
  // Without a prefix, a byte array declaring 2 GiB: waits no longer than
  // the buffering cap allows, then a status 6 at the end.
  Peer loose{settingsOf(false, false, false)};
  std::string m = loose.say(kC2S, text(2, "q", false));
  w = handshakeOf(loose.s);
  w.push_back({kC2S, m.substr(0, 20) + std::string("\x01\x7F\xFF\xFF\xFF", 5), 3});
  r = run(w);
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(r[2].f.response_status, ResponseStatus::kParseFailed);
}

TEST(OpenWireCaps, DeepNestingAndHugeMapsAreMalformedNotUnbounded) {
  Peer p{settingsOf(false, true, false)};
  // A ConnectionError whose exception has causes nested 100 deep.
  std::string body = std::string("\x10") + Writer::be(1, 4) + std::string(1, '\0');
  for (int i = 0; i < 100; ++i) body += std::string("\x01\x01", 2) + Writer::utf("E") + std::string(1, '\0') + Writer::be(0, 2);
  body += std::string(1, '\0') + std::string(1, '\0');
  std::vector<Write> w = handshakeOf(p.s);
  w.push_back({kC2S, Writer::be(body.size(), 4) + body, 3});
  const std::vector<Record> r = run(w);
  ASSERT_EQ(r.size(), 3u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[2].f.response_exception, "exception causes nested too deep");
  // A properties map declaring 2^31 entries: no trace, no failure of the command.
  const std::string map = Writer::be(0x7FFFFFFF, 4);
  int visited = 0;
  EXPECT_FALSE(forEachMapEntry(asBytes(map), 100000, [&](std::string_view, const MapValue&) { ++visited; }));
  EXPECT_EQ(visited, 0);
}

TEST(OpenWireProbe, RecognizesAWireFormatInfoFromEitherSide) {
  const std::string wfi = wire::wireFormatInfo(12, settingsOf(true, true, true));
  EXPECT_EQ(probeOpenWire(asBytes(wfi)), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probeOpenWire(asBytes(std::string_view(wfi).substr(0, 8))), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probeOpenWire(asBytes(std::string("\x00\x00\x00\x10\x02", 5))), ProbeVerdict::kNo);
  EXPECT_EQ(probeOpenWire(asBytes(std::string("\x00\x00\x01\x27\x01" "ActiveMX", 13))), ProbeVerdict::kNo);
}

TEST(OpenWireResync, AConnectionJoinedAfterItsHandshakeIsReadWithActiveMqsDefaults) {
  // Tight, size-prefixed, cache on: destinations sent by value are read,
  // those by index before the join are empty and counted.
  Peer p{settingsOf(true, true, true)};
  p.say(kC2S, text(1, "early", false));  // by value before the join
  std::vector<Write> w;
  w.push_back({kC2S, p.say(kC2S, text(2, "early", false)), 1});
  for (uint32_t i = 3; i < 6; ++i) w.push_back({kC2S, p.say(kC2S, text(i, "later" + std::to_string(i), false)), i});
  const std::vector<Record> r = l7test::replayMidStream(w, 61616);
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  ASSERT_EQ(r.size(), 4u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[0].f.request_resource, "");
  // The destination and the five null ids (ActiveMQ caches a null too),
  // all sent by value before the join.
  EXPECT_EQ(attr(r[0], "cache_misses"), "6");
  EXPECT_EQ(r[3].f.request_resource, "later5");
  EXPECT_EQ(r[3].f.version, "");  // no WireFormatInfo seen
}

// DeepFlow's captures: as many messages as its .result lines, the same
// command types, destinations, broker URLs, JMS correlation ids and error
// messages (it writes one line per command; a request and its Response
// are one record here).
TEST(OpenWireDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("openwire");
  if (dir.empty()) GTEST_SKIP();
  size_t captures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".pcap") continue;
    ++captures;
    std::ifstream in(std::filesystem::path(entry.path()).replace_extension(".result"));
    ASSERT_TRUE(in) << entry.path();
    l7h::ReplayOptions options;
    options.force_protocol = "openwire";
    l7h::ReplayResult result;
    const auto records = l7h::replayCaptureToVector(entry.path().string(), options, &result);
    ASSERT_TRUE(result.ok) << result.error;
    ASSERT_EQ(parseFailures(records), 0u) << entry.path();
    std::multiset<std::string> expected_types, actual_types;
    std::set<std::string> expected_topics, actual_topics, expected_corr, actual_corr, expected_urls, actual_urls;
    std::multiset<std::string> expected_errors, actual_errors;
    size_t lines = 0, responses = 0;
    std::string line;
    auto some = [&](const std::string& key) -> std::string {
      const size_t at = line.find(key + ": Some(\"");
      if (at == std::string::npos) return "";
      const size_t from = at + key.size() + 8;
      return line.substr(from, line.find("\")", from) - from);
    };
    while (std::getline(in, line)) {
      if (line.find("OpenWireInfo") == std::string::npos) continue;
      ++lines;
      const size_t at = line.find("command_type: ") + 14;
      const std::string type = line.substr(at, line.find(',', at) - at);
      if (line.find("msg_type: Response") != std::string::npos) {
        ++responses;
      } else {
        expected_types.insert(type);
      }
      if (!some("topic").empty()) expected_topics.insert(type + " " + some("topic"));
      if (!some("correlation_id").empty()) expected_corr.insert(some("correlation_id"));
      if (!some("broker_url").empty()) expected_urls.insert(some("broker_url"));
      if (!some("err_msg").empty()) expected_errors.insert(some("err_msg"));
    }
    size_t responses_alone = 0;
    for (const Record& r : records) {
      const bool response_alone = r.type == RecordType::kResponse;
      responses_alone += response_alone;
      if (!response_alone) actual_types.insert(r.f.request_type);
      if (!r.f.request_resource.empty()) actual_topics.insert(r.f.request_type + " " + r.f.request_resource);
      for (const std::string* c : {&r.f.x_request_id_0, &r.f.x_request_id_1}) {
        if (!c->empty()) actual_corr.insert(*c);
      }
      if (r.f.request_type == "BrokerInfo") actual_urls.insert(r.f.request_domain);
      const size_t colon = r.f.response_exception.find(": ");
      if (colon != std::string::npos) actual_errors.insert(r.f.response_exception.substr(colon + 2));
    }
    EXPECT_EQ(result.stats.messages, lines) << entry.path();
    EXPECT_EQ(actual_types, expected_types) << entry.path();
    // Each merged record stands for two lines; the rest answered nothing seen.
    EXPECT_EQ(lines - records.size() + responses_alone, responses) << entry.path();
    // DeepFlow names no destination sent by cache index; every one it names is ours too.
    for (const std::string& t : expected_topics) EXPECT_TRUE(actual_topics.count(t)) << entry.path() << " " << t;
    EXPECT_EQ(actual_corr, expected_corr) << entry.path();
    EXPECT_EQ(actual_urls, expected_urls) << entry.path();
    EXPECT_EQ(actual_errors, expected_errors) << entry.path();
  }
  EXPECT_EQ(captures, 4u);
}


// A long producer session (the benchmark's shape): every send is answered,
// whatever the encoding.
TEST(OpenWireLongSession, ThousandsOfAnsweredSendsAreThousandsOfRecords) {
  for (bool tight : {true, false}) {
    Peer p{settingsOf(tight, true, tight)};
    std::vector<Write> w = {{kC2S, wire::wireFormatInfo(12, p.s), 1}, {kS2C, wire::wireFormatInfo(12, p.s), 2}};
    for (uint32_t i = 1; i <= 2000; ++i) {
      Command m = text(i, "orders");
      m.jms_correlation_id = "corr-" + std::to_string(i);
      m.properties = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
      m.long_value = 1767225600000 + i;
      m.filler = std::string(40, 'x');
      w.push_back({kC2S, p.say(kC2S, m), 3 + i});
      w.push_back({kS2C, p.say(kS2C, response(0, i)), 3 + i});
    }
    const std::vector<Record> r = run(w);
    EXPECT_EQ(parseFailures(r), 0u);
    EXPECT_EQ(r.size(), 2002u) << tight;
  }
}


// Only the client's direction was captured: its commands wait for the
// broker's WireFormatInfo, but not past half the buffering cap, and at the
// end they are decoded with the client's own settings.
TEST(OpenWireNegotiation, OneCapturedDirectionIsDecodedWithoutThePeer) {
  Peer p{settingsOf(true, true, true)};
  std::vector<Write> w = {{kC2S, wire::wireFormatInfo(12, p.s), 1}};
  for (uint32_t i = 1; i <= 3; ++i) w.push_back({kC2S, p.say(kC2S, text(i, "q", false)), 1 + i});
  const std::vector<Record> r = run(w);
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].f.request_resource, "q");

  l7h::ReplayOptions small;
  small.limits.max_buffered_bytes = 4096;
  std::vector<Write> many = {{kC2S, wire::wireFormatInfo(12, p.s), 1}};
  for (uint32_t i = 1; i <= 200; ++i) many.push_back({kC2S, p.say(kC2S, text(i, "q", false)), 1 + i});
  l7h::ConnectionCounters counters;
  const std::vector<Record> rr = l7test::ScriptedConnection(openwireDecoderInfo(), [&](l7h::Connection& conn, const l7h::ConnectionCounters& c) {
    uint64_t off = 0;
    for (const Write& x : many) {
      conn.data(x.dir, off, static_cast<uint32_t>(off), x.ts_us, asBytes(x.bytes));
      off += x.bytes.size();
    }
    counters = c;
  }, small).records;
  EXPECT_EQ(counters.contract_violations, 0u);
  EXPECT_EQ(rr.size(), 201u);
  EXPECT_EQ(parseFailures(rr), 0u);
}


// Without a size prefix, a command of thousands of fields in small pieces:
// decoded whole (the waits between its costly walks grow), and the
// Response that answers it waits for it to be read, so they pair.
TEST(OpenWireNoPrefix, ACommandOfManySmallFieldsInSmallPiecesIsDecoded) {
  Peer p{settingsOf(false, false, false)};
  std::string body = std::string("\x03") + Writer::be(1, 4) + std::string("\x01", 1);  // ConnectionInfo, id 1, response required
  body += std::string("\x00", 1);                                                         // connectionId: null
  for (int i = 0; i < 3; ++i) body += std::string("\x01", 1) + Writer::utf("x");        // clientId, password, userName
  body += std::string("\x01", 1) + Writer::be(3000, 2);                                  // brokerPath: 3000 BrokerIds
  for (int i = 0; i < 3000; ++i) body += std::string("\x01\x7C\x01", 3) + Writer::utf("broker-" + std::to_string(i));
  body += std::string(5, '\0') + std::string("\x00", 1);  // five booleans, clientIp null
  std::vector<Write> w = handshakeOf(p.s);
  w.push_back({kC2S, body + p.say(kC2S, text(2, "after", false)), 3});
  w.push_back({kS2C, p.say(kS2C, response(0, 1)), 4});
  const std::vector<Record> r = run(w, Split::kRandom);
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  EXPECT_EQ(get(r, "ConnectionInfo").type, RecordType::kSession);
  EXPECT_EQ(get(r, "ActiveMQTextMessage").f.request_resource, "after");
}


// A synchronous send without a size prefix: a large command in many small
// segments, then the broker's Response, which pairs with it (the stream
// pauses there: the command must not wait for more than it lacks).
TEST(OpenWireNoPrefix, AnAnswerWaitsForTheLargeCommandItAnswers) {
  Peer p{settingsOf(false, false, false)};
  Command m = text(7, "big");
  m.filler = std::string(3000, 'f');  // every string field: many reads, many pieces
  const std::string send = p.say(kC2S, m);
  std::vector<Write> w = handshakeOf(p.s);
  for (size_t at = 0; at < send.size(); at += 100) w.push_back({kC2S, send.substr(at, 100), 10});
  w.push_back({kS2C, p.say(kS2C, response(0, 7)), 20});
  const std::vector<Record> r = run(w);
  ASSERT_EQ(parseFailures(r), 0u) << l7test::toJsonLines(r);
  ASSERT_EQ(r.size(), 3u) << l7test::toJsonLines(r);
  EXPECT_EQ(r[2].type, RecordType::kSession);
  EXPECT_EQ(r[2].f.request_resource, "big");
  EXPECT_EQ(r[2].end_time_us, 20);
}


// A command may name an index by reference and then refill that index by
// value (a small CacheSize wraps). Without a size prefix a command cut
// short is walked again: only a whole one may fill the cache, or the
// second walk reads its own later entry. (Found by fuzz_roundtrip_openwire.)
TEST(OpenWireCache, ACommandWalkedAgainFindsTheCacheAsItWas) {
  for (bool tight : {true, false}) {
    WireSettings s = settingsOf(tight, false, true);
    s.cache_size = 2;
    Peer p{s};
    std::vector<Write> w = handshakeOf(s);
    const char* names[] = {"a", "b", "a", "c", "b", "a"};
    for (uint32_t i = 0; i < 6; ++i) w.push_back({kC2S, p.say(kC2S, text(i + 1, names[i], false)), 3});
    const std::vector<Record> whole = run(w);
    const std::vector<Record> cut = run(w, Split::kOneByte);
    ASSERT_EQ(parseFailures(cut), 0u) << l7test::toJsonLines(cut);
    ASSERT_EQ(cut.size(), 8u);
    for (uint32_t i = 0; i < 6; ++i) {
      EXPECT_EQ(whole[2 + i].f.request_resource, names[i]) << tight << " " << i;
      EXPECT_EQ(cut[2 + i].f.request_resource, names[i]) << tight << " " << i;
    }
  }
  // The model the fuzzer found it with (version 11, CacheSize 2 to 7, no
  // size prefix), one byte per segment.
  l7h::synth::SynthOptions o;
  o.protocol = "openwire";
  o.version = "11";
  o.seed = 13845257555833384ull;
  o.messages = 20;
  o.plan.segmentation = l7h::synth::Segmentation::kOneByte;
  l7h::synth::Model model;
  std::string error;
  ASSERT_TRUE(l7h::synth::buildModel(o, model, error)) << error;
  const l7h::synth::Synthesized synthesized = l7h::synth::synthesize(model, o);
  bool ok = false;
  const std::vector<Record> replayed = l7h::synth::replayFrames(synthesized, ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(l7h::synth::lines(replayed), l7h::synth::lines(synthesized.expected));
}


// Commands written by hand in the loose layout of ActiveMQ's own v1 and v9
// marshallers (ConnectionInfoMarshaller, ProducerInfoMarshaller), not by the
// synthesizer's writer that shares the decoder's tables: the version gates
// must take exactly these fields, and one version's layout under the other's
// handshake must not fit its size prefix.
namespace handwritten {
std::string flag(bool b) { return std::string(1, b ? '\x01' : '\x00'); }
std::string str(std::string_view v) { return flag(true) + Writer::utf(v); }
std::string nested(uint8_t type, const std::string& fields) {
  return flag(true) + std::string(1, static_cast<char>(type)) + fields;
}
std::string framed(uint8_t type, uint32_t command_id, bool response_required, const std::string& fields) {
  const std::string body =
      std::string(1, static_cast<char>(type)) + Writer::be(command_id, 4) + flag(response_required) + fields;
  return Writer::be(body.size(), 4) + body;
}
// connectionId, clientId, password, userName, brokerPath, brokerMasterConnector,
// manageable; from 2 clientMaster; from 6 faultTolerant, failoverReconnect;
// from 8 clientIp.
std::string connectionInfo(uint32_t version) {
  std::string f = nested(120, str("ID:conn-1")) + str("client-1") + flag(false) + flag(false) + flag(false) +
                  flag(false) + flag(true);
  if (version >= 2) f += flag(false);
  if (version >= 6) f += flag(false) + flag(false);
  if (version >= 8) f += str("10.0.0.7");
  return framed(3, 1, true, f);
}
// producerId, destination, brokerPath; from 2 dispatchAsync; from 3 windowSize.
std::string producerInfo(uint32_t version) {
  std::string f = nested(kProducerIdType, str("ID:conn-1") + Writer::be(1, 8) + Writer::be(1, 8)) +
                  nested(kQueueType, str("orders")) + flag(false);
  if (version >= 2) f += flag(false);
  if (version >= 3) f += Writer::be(1000, 4);
  return framed(6, 2, true, f);
}
std::string response(uint32_t command_id, uint32_t correlation_id) {
  return framed(kResponseType, command_id, false, Writer::be(correlation_id, 4));
}
std::vector<Write> connection(uint32_t negotiated, uint32_t layout) {
  const WireSettings s = settingsOf(false, true, false, negotiated);
  return {{kC2S, wire::wireFormatInfo(negotiated, s), 1}, {kS2C, wire::wireFormatInfo(negotiated, s), 2},
          {kC2S, connectionInfo(layout), 3},               {kS2C, response(1, 1), 4},
          {kC2S, producerInfo(layout), 5},                 {kS2C, response(2, 2), 6}};
}
}  // namespace handwritten

TEST(OpenWireVersions, VersionsOneToNineReadTheirMarshallersLayouts) {
  for (uint32_t v = 1; v <= 9; ++v) {
    const std::vector<Record> r = run(handwritten::connection(v, v));
    ASSERT_EQ(parseFailures(r), 0u) << "version " << v << "\n" << l7test::toJsonLines(r);
    ASSERT_EQ(r.size(), 4u) << l7test::toJsonLines(r);
    EXPECT_EQ(get(r, "ConnectionInfo").f.version, std::to_string(v));
    EXPECT_EQ(get(r, "ConnectionInfo").f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(get(r, "ProducerInfo").f.request_resource, "orders");
    EXPECT_EQ(get(r, "ProducerInfo").f.response_status, ResponseStatus::kOk);
  }
}

TEST(OpenWireVersions, OneVersionsLayoutUnderTheOthersHandshakeIsMalformed) {
  EXPECT_EQ(parseFailures(run(handwritten::connection(9, 1))), 2u);
  EXPECT_EQ(parseFailures(run(handwritten::connection(1, 9))), 2u);
}

}  // namespace
}  // namespace l7::openwire

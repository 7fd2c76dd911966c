// ZMTP decoder through the production connection path: greetings however
// they are split, every mechanism, every socket-type pair, multipart and
// long frames, caps, peer state, resynchronization, DeepFlow's captures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"
#include "synth/zmtp_wire.h"
#include "zmtp/zmtp_decoder.h"

namespace l7::zmtp {
namespace {

using l7test::get;
using l7test::runConversation;
using l7test::ScriptedConnection;
using l7test::Split;
using l7test::Write;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

using l7h::synth::zmtpwire::command;
using l7h::synth::zmtpwire::message;
using l7h::synth::zmtpwire::property;
std::string be(uint64_t v, int bytes) { return l7h::synth::zmtpwire::bigEndian(v, bytes); }

std::string greeting(const std::string& mechanism = "NULL", uint8_t minor = 1, bool as_server = false) {
  return l7h::synth::zmtpwire::greeting(minor, mechanism, as_server);
}
// flags: 0x01 MORE, 0x04 COMMAND; LONG is chosen by the size.
std::string frame(uint8_t flags, const std::string& body) {
  return l7h::synth::zmtpwire::frame((flags & 0x01) != 0, (flags & 0x04) != 0, body);
}
std::string ready(const std::string& type, const std::string& identity = "") {
  return command("READY", property("Socket-Type", type) + (identity.empty() ? "" : property("Identity", identity)));
}

// Both greetings and READYs, then `rest`.
std::vector<Write> handshake(const std::string& client_type, const std::string& server_type) {
  return {{kC2S, greeting(), 1}, {kS2C, greeting(), 2}, {kC2S, ready(client_type), 3}, {kS2C, ready(server_type), 4}};
}

std::vector<Record> run(std::vector<Write> writes, Split split = Split::kWhole, const l7h::ReplayOptions& options = {}) {
  return runConversation(zmtpDecoderInfo(), writes, split, 7, options);
}

size_t count(const std::vector<Record>& records, std::string_view type) {
  return static_cast<size_t>(std::count_if(records.begin(), records.end(), [&](const Record& r) { return r.f.request_type == type; }));
}

std::string attr(const Record& r, std::string_view name) {
  for (const Attribute& a : r.f.attributes) {
    if (a.name == name) return a.value;
  }
  return "<none>";
}

TEST(ZmtpProbe, TheSignatureOpensEitherSide) {
  const std::string g = greeting();
  EXPECT_EQ(probeZmtp(asBytes(g)), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probeZmtp(asBytes(std::string_view(g).substr(0, 10))), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probeZmtp(asBytes(std::string_view(g).substr(0, 9))), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probeZmtp(asBytes(std::string_view("\xFF\0\0\0\0\0\0\0\x01\x7E", 10))), ProbeVerdict::kNo);
  EXPECT_EQ(probeZmtp(asBytes(std::string_view("GET / HTTP/1.1\r\n"))), ProbeVerdict::kNo);
}

// libzmq writes its greeting in three pieces (10, 1, 53 bytes) as each
// side learns the other's: one record per side, placed at the first piece
// and sized by all 64 bytes.
TEST(ZmtpGreeting, ASplitGreetingIsOneRecordPerSide) {
  const std::string g = greeting("NULL", 1);
  std::vector<Write> w = {{kC2S, g.substr(0, 10), 10}, {kS2C, g.substr(0, 10), 11}, {kC2S, g.substr(10, 1), 12},
                          {kS2C, g.substr(10, 1), 13}, {kC2S, g.substr(11), 14},     {kS2C, g.substr(11), 15}};
  const auto records = run(w);
  ASSERT_EQ(records.size(), 2u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    EXPECT_EQ(r.f.request_type, "Greeting");
    EXPECT_EQ(r.f.version, "3.1");
    EXPECT_EQ(attr(r, "mechanism"), "NULL");
    EXPECT_EQ(r.f.response_status, ResponseStatus::kOk);
  }
  EXPECT_EQ(records[0].start_time_us, 10);
  EXPECT_EQ(records[0].captured_request_byte, 64);
  EXPECT_EQ(records[1].start_time_us, 11);
  EXPECT_EQ(records[1].captured_response_byte, 64);
  // The same at every segmentation.
  EXPECT_EQ(l7test::toJsonLines(run(w, Split::kOneByte)), l7test::toJsonLines(records));
}

TEST(ZmtpGreeting, VersionAndAsServerAreReported) {
  const auto records = run({{kC2S, greeting("NULL", 0), 1}, {kS2C, greeting("PLAIN", 1, true), 2}});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].f.version, "3.0");
  EXPECT_EQ(attr(records[0], "as_server"), "0");
  EXPECT_EQ(records[1].f.version, "3.1");
  EXPECT_EQ(attr(records[1], "mechanism"), "PLAIN");
  EXPECT_EQ(attr(records[1], "as_server"), "1");
}

// RFC 15: a 2.0 peer's greeting carries its socket type and identity, and
// its frames are those of 3.0 without commands.
TEST(ZmtpGreeting, A20PeerIsReportedAndDecoded) {
  const std::string g2 = std::string("\xFF\0\0\0\0\0\0\0\x01\x7F", 10) + "\x01\x03" + std::string("\0\x02id", 4);
  const std::string r2 = std::string("\xFF\0\0\0\0\0\0\0\x01\x7F", 10) + "\x01\x04" + std::string("\0\0", 2);
  const auto records = run({{kC2S, g2, 1}, {kS2C, r2, 2}, {kC2S, message({"", "ask"}), 3}, {kS2C, message({"", "answer"}), 4}});
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.version, "2.0");
  EXPECT_EQ(attr(records[0], "socket_type"), "REQ");
  EXPECT_EQ(attr(records[0], "identity"), "id");
  EXPECT_EQ(attr(records[1], "socket_type"), "REP");
  EXPECT_EQ(records[2].type, RecordType::kSession);
  EXPECT_EQ(records[2].f.request_length, 3);
  EXPECT_EQ(records[2].f.response_length, 6);
}

// RFC 23 §4.1: a peer whose first byte is not 0xFF speaks 1.0; it is
// reported as such, and what follows is passed over (README "Known gaps").
TEST(ZmtpGreeting, A10PeerIsReported) {
  const auto records = run({{kC2S, std::string("\x01\x00", 2) + std::string("\x06\x00hello", 7), 1}});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].f.request_type, "Greeting");
  EXPECT_EQ(records[0].f.version, "1.0");
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kOk);
}

// Every pair of socket types RFC 28-31 allow: what each side's messages are.
struct PairCase {
  const char* client;
  const char* server;
  RecordType client_message;  // the record of the client's message (after its answer, if any)
  size_t records_after_handshake;
};

TEST(ZmtpClassification, EverySocketTypePair) {
  const PairCase cases[] = {
      {"REQ", "REP", RecordType::kSession, 1},      // request + reply: one session
      {"REQ", "ROUTER", RecordType::kSession, 1},
      {"DEALER", "REP", RecordType::kSession, 1},
      {"DEALER", "ROUTER", RecordType::kSession, 2},  // one-way each
      {"DEALER", "DEALER", RecordType::kSession, 2},
      {"ROUTER", "ROUTER", RecordType::kSession, 2},
      {"PUSH", "PULL", RecordType::kSession, 2},
      {"PAIR", "PAIR", RecordType::kSession, 2},
      {"SUB", "PUB", RecordType::kSession, 2},
      {"XSUB", "XPUB", RecordType::kSession, 2},
      {"PUB", "SUB", RecordType::kSession, 2},
      {"XPUB", "XSUB", RecordType::kSession, 2},
  };
  for (const PairCase& c : cases) {
    SCOPED_TRACE(std::string(c.client) + "-" + c.server);
    auto w = handshake(c.client, c.server);
    w.push_back({kC2S, message({"", "from the client"}), 10});
    w.push_back({kS2C, message({"", "from the server x"}), 20});
    const auto records = run(w);
    ASSERT_EQ(records.size(), 4u + c.records_after_handshake) << l7test::toJsonLines(records);
    const Record& first = get(records, "Message", 0);
    EXPECT_EQ(first.type, c.client_message);
    EXPECT_EQ(first.f.request_length, 15);
    if (c.records_after_handshake == 1) {
      EXPECT_EQ(first.f.response_length, 17);
      EXPECT_EQ(first.response_duration_us, 10);
    } else {
      EXPECT_EQ(get(records, "Message", 1).f.response_length, 17);
      EXPECT_EQ(get(records, "Message", 1).type, RecordType::kSession);
    }
    EXPECT_EQ(attr(records[2], "socket_type"), c.client);
    EXPECT_EQ(attr(records[3], "socket_type"), c.server);
  }
}

// The requester may be the side that binds: REP connecting to a bound REQ.
TEST(ZmtpClassification, TheRequesterIsTheReqSideWhicheverConnects) {
  auto w = handshake("REP", "REQ");
  w.push_back({kS2C, message({"", "question"}), 10});
  w.push_back({kC2S, message({"", "reply"}), 20});
  const auto records = run(w);
  const Record& m = get(records, "Message");
  EXPECT_EQ(m.type, RecordType::kSession);
  EXPECT_EQ(m.f.request_length, 8);
  EXPECT_EQ(m.f.response_length, 5);
  EXPECT_EQ(m.start_time_us, 10);
}

// A multipart message is one record: placed at its first frame, sized by
// all of them; the REQ/REP delimiter is part of it, never a record.
TEST(ZmtpMessages, AMultipartMessageIsOneRecord) {
  auto w = handshake("REQ", "REP");
  const std::string parts = message({"", "header", "part-1", "part-22"});
  w.push_back({kC2S, parts.substr(0, 5), 10});
  w.push_back({kC2S, parts.substr(5, 9), 11});
  w.push_back({kC2S, parts.substr(14), 12});
  w.push_back({kS2C, message({"", "ok"}), 20});
  const auto records = run(w);
  ASSERT_EQ(count(records, "Message"), 1u) << l7test::toJsonLines(records);
  const Record& m = get(records, "Message");
  EXPECT_EQ(m.start_time_us, 10);
  EXPECT_EQ(m.captured_request_byte, static_cast<int64_t>(parts.size()));
  EXPECT_EQ(m.f.request_length, 6 + 6 + 7);
  EXPECT_EQ(m.f.response_length, 2);
  EXPECT_EQ(m.type, RecordType::kSession);
}

// Long frames (8-byte sizes) at every segmentation; a frame larger than the
// buffering cap is decoded from its header and passed over unbuffered.
TEST(ZmtpMessages, LongFramesAtEverySegmentation) {
  auto w = handshake("PUSH", "PULL");
  const std::string body(70000, 'z');
  w.push_back({kC2S, message({body, std::string(300, 'q')}), 10});
  w.push_back({kC2S, message({"after"}), 11});
  for (Split split : {Split::kWhole, Split::kRandom, Split::kOneByte}) {
    const auto records = run(w, split);
    ASSERT_EQ(count(records, "Message"), 2u);
    EXPECT_EQ(get(records, "Message", 0).f.request_length, 70300);
    EXPECT_EQ(get(records, "Message", 0).captured_request_byte, 9 + 70000 + 9 + 300);
    EXPECT_EQ(get(records, "Message", 1).f.request_length, 5);
  }
  l7h::ReplayOptions small;
  small.limits.max_buffered_bytes = 4096;
  ScriptedConnection sc(zmtpDecoderInfo(), [&](l7h::Connection& conn) {
    uint64_t off[2] = {0, 0};
    for (const Write& x : w) {
      const int d = static_cast<int>(x.dir);
      for (size_t i = 0; i < x.bytes.size(); i += 1000) {
        const std::string piece = x.bytes.substr(i, 1000);
        conn.data(x.dir, off[d], 1, x.ts_us, asBytes(std::string_view(piece)));
        off[d] += piece.size();
        EXPECT_LE(conn.bufferedBytes(), 4096u);
      }
    }
  }, small);
  EXPECT_EQ(get(sc.records, "Message", 0).f.request_length, 70300);
  EXPECT_EQ(get(sc.records, "Message", 1).f.request_length, 5);
  EXPECT_EQ(sc.counters.contract_violations, 0u);
  // Frames between the cap and 64 KiB are not waited for whole either.
  auto mid = handshake("PUSH", "PULL");
  mid.push_back({kC2S, message({std::string(10000, 'm')}), 10});
  mid.push_back({kC2S, message({"after"}), 11});
  ScriptedConnection sm(zmtpDecoderInfo(), [&](l7h::Connection& conn) {
    uint64_t off[2] = {0, 0};
    for (const Write& x : mid) {
      const int d = static_cast<int>(x.dir);
      conn.data(x.dir, off[d], 1, x.ts_us, asBytes(std::string_view(x.bytes)));
      off[d] += x.bytes.size();
    }
  }, small);
  EXPECT_EQ(get(sm.records, "Message", 0).f.request_length, 10000);
  EXPECT_EQ(get(sm.records, "Message", 1).f.request_length, 5);
  EXPECT_EQ(sm.counters.contract_violations, 0u);
}

// NULL, PLAIN (accepted and refused by ZAP) and CURVE.
TEST(ZmtpMechanisms, NullPlainAndCurve) {
  {  // PLAIN accepted: the socket types come from INITIATE and READY.
    const auto records = run({{kC2S, greeting("PLAIN"), 1},
                              {kS2C, greeting("PLAIN", 1, true), 2},
                              {kC2S, command("HELLO", "\x05" "alice" "\x06" "secret"), 3},
                              {kS2C, command("WELCOME", ""), 4},
                              {kC2S, command("INITIATE", property("Socket-Type", "REQ") + property("Identity", "")), 5},
                              {kS2C, ready("REP"), 6},
                              {kC2S, message({"", "hi"}), 7},
                              {kS2C, message({"", "hello"}), 8}});
    ASSERT_EQ(records.size(), 7u) << l7test::toJsonLines(records);
    EXPECT_EQ(attr(get(records, "Command INITIATE"), "socket_type"), "REQ");
    EXPECT_EQ(get(records, "Command HELLO").f.request_length, 19);  // name and data
    EXPECT_EQ(get(records, "Message").type, RecordType::kSession);
  }
  {  // PLAIN refused: ERROR with ZAP's status 400 (libzmq's 0x5E name size).
    const std::string error = frame(0x04, std::string("\x5E" "RROR\x03" "400"));
    const auto records = run({{kC2S, greeting("PLAIN"), 1},
                              {kS2C, greeting("PLAIN", 1, true), 2},
                              {kC2S, command("HELLO", "\x05" "alice" "\x05" "wrong"), 3},
                              {kS2C, error, 4}});
    const Record& e = get(records, "Command ERROR");
    EXPECT_EQ(e.f.response_exception, "400");
    EXPECT_EQ(e.f.response_status, ResponseStatus::kClientError);
    const auto spec = run({{kS2C, greeting(), 1}, {kS2C, command("ERROR", "\x0b" "server busy"), 2}});
    EXPECT_EQ(get(spec, "Command ERROR").f.response_status, ResponseStatus::kServerError);
    EXPECT_EQ(get(spec, "Command ERROR").f.response_exception, "server busy");
  }
  {  // CURVE: handshake commands are boxes; every MESSAGE is counted and sized.
    const std::string box(40, '\x5a');
    const auto records = run({{kC2S, greeting("CURVE"), 1},
                              {kS2C, greeting("CURVE", 1, true), 2},
                              {kC2S, command("HELLO", std::string(194, '\0')), 3},
                              {kS2C, command("WELCOME", std::string(160, '\x11')), 4},
                              {kC2S, command("INITIATE", std::string(250, '\x22')), 5},
                              {kS2C, command("READY", std::string(40, '\x33')), 6},
                              {kC2S, frame(0x00, "\x07MESSAGE" + std::string(8, '\0') + box), 7},
                              {kC2S, frame(0x00, "\x07MESSAGE" + std::string(8, '\x01') + box + "more"), 8},
                              {kS2C, frame(0x00, "\x07MESSAGE" + std::string(8, '\x02') + box), 9}});
    ASSERT_EQ(count(records, "Command MESSAGE"), 3u) << l7test::toJsonLines(records);
    EXPECT_EQ(get(records, "Command MESSAGE", 0).f.request_length, 48);
    EXPECT_EQ(get(records, "Command MESSAGE", 1).f.request_length, 52);
    EXPECT_EQ(get(records, "Command MESSAGE", 2).f.response_length, 48);
    for (const Record& r : records) EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed);
  }
}

// Subscriptions: 3.1 SUBSCRIBE and CANCEL commands, 3.0 messages.
TEST(ZmtpSubscriptions, CommandsAndMessagesGiveDomainAndResource) {
  auto w = handshake("SUB", "PUB");
  w.push_back({kC2S, command("SUBSCRIBE", "weather."), 10});
  w.push_back({kC2S, command("CANCEL", "weather."), 11});
  w.push_back({kC2S, message({"\x01sports."}), 12});
  w.push_back({kC2S, message({std::string("\0sports.", 8)}), 13});
  w.push_back({kS2C, message({"sports.tennis"}), 14});
  const auto records = run(w);
  EXPECT_EQ(get(records, "Command SUBSCRIBE").f.request_resource, "weather.");
  EXPECT_EQ(get(records, "Command SUBSCRIBE").f.request_domain, "weather.");
  EXPECT_EQ(get(records, "Command CANCEL").f.request_resource, "weather.");
  EXPECT_EQ(get(records, "Message SUBSCRIBE").f.request_resource, "sports.");
  EXPECT_EQ(get(records, "Message CANCEL").f.request_domain, "sports.");
  EXPECT_EQ(get(records, "Message").f.request_resource, "");
  EXPECT_EQ(get(records, "Message").f.response_length, 13);
}

// The client's message waits for the server's READY (its socket type says
// what the message is) and is decoded the moment it comes.
TEST(ZmtpPeerState, MessagesWaitForThePeersReadyAndAreDecodedWhenItComes) {
  ScriptedConnection sc(zmtpDecoderInfo(), [](l7h::Connection& conn, const l7h::ConnectionCounters& counters) {
    const std::string client = greeting() + ready("DEALER") + message({"", "job"});
    conn.data(kC2S, 0, 100, 10, asBytes(std::string_view(client)));
    EXPECT_EQ(counters.messages, 2u);  // greeting and READY; the message waits
    const std::string server = greeting() + ready("REP");
    conn.data(kS2C, 0, 900, 20, asBytes(std::string_view(server)));
    EXPECT_EQ(counters.messages, 5u);
    const std::string reply = message({"", "done"});
    conn.data(kS2C, server.size(), 900 + static_cast<uint32_t>(server.size()), 30, asBytes(std::string_view(reply)));
  });
  const Record& m = get(sc.records, "Message");
  EXPECT_EQ(m.type, RecordType::kSession);  // DEALER to REP: a request and its reply
  EXPECT_EQ(m.start_time_us, 10);
  EXPECT_EQ(m.end_time_us, 30);
}

// Caps: a frame size over the cap, a message of too many parts and a
// command over its size cap are status-6 records; decoding goes on.
TEST(ZmtpCaps, EachCapGivesAParseFailureAndDecodingGoesOn) {
  {
    auto w = handshake("PUSH", "PULL");
    l7h::ReplayOptions options;
    options.limits.max_message_bytes = 1 << 20;
    w.push_back({kC2S, std::string("\x02", 1) + be(uint64_t{1} << 40, 8) + "garbage!", 10});
    w.push_back({kC2S, message({"one"}) + message({"two"}) + message({"three"}) + message({"four"}), 11});
    const auto records = run(w, Split::kWhole, options);
    ASSERT_GE(records.size(), 5u);
    EXPECT_EQ(records[4].f.response_status, ResponseStatus::kParseFailed) << l7test::toJsonLines(records);
    EXPECT_EQ(records[4].f.response_exception, "frame size over the cap");
    EXPECT_EQ(records[4].f.request_type, "Message");
    EXPECT_EQ(count(records, "Message"), 5u) << l7test::toJsonLines(records);  // the failure, then all four
    EXPECT_EQ(records.back().f.request_length, 4);
  }
  {
    auto w = handshake("PUSH", "PULL");
    std::vector<std::string> parts(kMaxParts + 1, "p");
    w.push_back({kC2S, message(parts), 10});
    w.push_back({kC2S, message({"next"}), 11});
    const auto records = run(w);
    EXPECT_EQ(get(records, "Message", 0).f.response_exception, "message of more parts than the cap");
    EXPECT_EQ(get(records, "Message", 1).f.request_length, 4);
    EXPECT_EQ(count(records, "Message"), 2u);
  }
  {
    auto w = handshake("PUSH", "PULL");
    w.push_back({kC2S, command("READY", property("X-Big", std::string(kMaxCommandBytes, 'b'))), 10});
    w.push_back({kC2S, message({"next"}), 11});
    const auto records = run(w);
    EXPECT_EQ(get(records, "Command").f.response_exception, "command over the size cap");
    EXPECT_EQ(get(records, "Message").f.request_length, 4);
  }
  {  // malformed metadata and PING
    auto w = handshake("PAIR", "PAIR");
    w.push_back({kC2S, command("READY", "\x05" "Bad?!" + be(1, 4) + "x"), 10});
    w.push_back({kC2S, command("PING", "x"), 11});
    w.push_back({kC2S, command("PING", be(100, 2) + "ctx"), 12});
    const auto records = run(w);
    EXPECT_EQ(get(records, "Command READY", 2).f.response_exception, "malformed metadata");
    EXPECT_EQ(get(records, "Command PING", 0).f.response_exception, "malformed PING");
    EXPECT_EQ(get(records, "Command PING", 1).f.response_status, ResponseStatus::kOk);
  }
}

// Lost bytes inside a frame whose header came: the next frame starts where
// that one ends, so decoding resumes there, without a search; the cut
// message is reported where it began.
TEST(ZmtpResync, AfterALossInsideAFrameDecodingResumesAtTheNextFrame) {
  ScriptedConnection sc(zmtpDecoderInfo(), [](l7h::Connection& conn) {
    const std::string c = greeting() + ready("PUSH");
    const std::string s = greeting() + ready("PULL");
    conn.data(kC2S, 0, 100, 1, asBytes(std::string_view(c)));
    conn.data(kS2C, 0, 900, 2, asBytes(std::string_view(s)));
    const std::string first = message({"part one", std::string(200, 'x')});
    conn.data(kC2S, c.size(), 100 + static_cast<uint32_t>(c.size()), 10, asBytes(std::string_view(first).substr(0, 30)));
    conn.gap(kC2S, 50);
    const std::string after = std::string(first).substr(80) + message({"a"}) + message({"bb"}) + message({"ccc"}) +
                              message({"dddd"});
    const uint64_t at = c.size() + 80;
    conn.data(kC2S, at, 100 + static_cast<uint32_t>(at), 20, asBytes(std::string_view(after)));
  });
  const Record& cut = get(sc.records, "Message", 0);
  EXPECT_EQ(cut.start_time_us, 10);
  EXPECT_EQ(cut.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(cut.f.response_exception, "message cut by lost bytes");
  ASSERT_EQ(count(sc.records, "Message"), 5u) << l7test::toJsonLines(sc.records);
  EXPECT_EQ(get(sc.records, "Message", 1).f.request_length, 1);
  EXPECT_EQ(get(sc.records, "Message", 4).f.request_length, 4);
}

// Lost bytes that take frame headers with them: the shared engine finds
// the next frame by ZMTP's grammar (a chain of three plausible frames, or
// one that reaches the end of the data), and no frame of the chain is lost.
TEST(ZmtpResync, AfterALossOfFrameHeadersTheEngineFindsTheNextFrames) {
  ScriptedConnection sc(zmtpDecoderInfo(), [](l7h::Connection& conn) {
    const std::string c = greeting() + ready("PUSH");
    const std::string s = greeting() + ready("PULL");
    conn.data(kC2S, 0, 100, 1, asBytes(std::string_view(c)));
    conn.data(kS2C, 0, 900, 2, asBytes(std::string_view(s)));
    conn.gap(kC2S, 37);  // whole frames, headers and all
    const std::string after = std::string("\x13\x99junk", 6) + message({"a", "b"}) + message({"bb"}) +
                              message({"ccc"}) + message({"dddd"});
    const uint64_t at = c.size() + 37;
    conn.data(kC2S, at, 100 + static_cast<uint32_t>(at), 20, asBytes(std::string_view(after)));
  });
  ASSERT_EQ(count(sc.records, "Message"), 4u) << l7test::toJsonLines(sc.records);
  EXPECT_EQ(get(sc.records, "Message", 0).f.request_length, 2);
  EXPECT_EQ(get(sc.records, "Message", 3).f.request_length, 4);
  for (const Record& r : sc.records) EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed);
}

// A capture that joins after the handshake on port 5555: the session names
// the client by the port, and messages are decoded, one-way (the socket
// types were in the READYs the capture missed).
TEST(ZmtpResync, AJoinAfterTheHandshakeDecodesOneWayMessages) {
  std::vector<Write> segments = {{kC2S, message({"", "one"}) + message({"", "two"}) + message({"", "three"}), 10},
                                 {kS2C, message({"", "uno"}) + message({"", "dos"}) + message({"", "tres"}), 20}};
  l7h::ReplayResult result;
  const auto records = l7test::replayMidStream(segments, 5555, &result);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(count(records, "Message"), 6u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    EXPECT_EQ(r.client_port, 40000);
    EXPECT_EQ(r.type, RecordType::kSession);
    EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed);
  }
}

// Joined after the READYs, neither side will show its socket type: the
// first message of each says so, and neither waits for the other.
TEST(ZmtpResync, AfterAJoinPastTheReadysNoSideWaits) {
  ScriptedConnection sc(zmtpDecoderInfo(), [](l7h::Connection& conn, const l7h::ConnectionCounters& counters) {
    conn.gap(kC2S, 0);
    conn.gap(kS2C, 0);
    const std::string c = message({"", "one"}) + message({"", "two"}) + message({"", "three"});
    const std::string s = message({"", "uno"}) + message({"", "dos"}) + message({"", "tres"});
    conn.data(kC2S, 0, 100, 10, asBytes(std::string_view(c)));
    conn.data(kS2C, 0, 900, 20, asBytes(std::string_view(s)));
    EXPECT_EQ(counters.messages, 6u);
    EXPECT_EQ(conn.bufferedBytes(), 0u);
  });
  EXPECT_EQ(count(sc.records, "Message"), 6u);
}

// A join at the connection's start without the SYN: both greetings are
// found, the socket types are known and requests pair with replies.
TEST(ZmtpResync, AJoinAtTheStartDecodesEverything) {
  std::vector<Write> segments = {{kC2S, greeting(), 1}, {kS2C, greeting(), 2}, {kC2S, ready("REQ"), 3},
                                 {kS2C, ready("REP"), 4}, {kC2S, message({"", "q"}), 5}, {kS2C, message({"", "a"}), 6}};
  const auto records = l7test::replayMidStream(segments, 6000);
  ASSERT_EQ(records.size(), 5u) << l7test::toJsonLines(records);
  EXPECT_EQ(get(records, "Message").type, RecordType::kSession);
  EXPECT_EQ(records[0].client_port, 40000);  // the first speaker
}

// Both sides open alike: the SYN sender is the client even when the server's
// greeting comes first (libzmq's usual order); without the SYN the side off
// port 5555, else the first speaker; the session counts the rule.
TEST(ZmtpClient, TheSynSenderThenThePortThenTheFirstSpeaker) {
  struct Case {
    bool syn;
    uint16_t server_port;
    uint16_t expected_client_port;
    uint64_t by_port, by_first_speaker;
  };
  const Case cases[] = {{true, 6000, 40000, 0, 0}, {false, 5555, 40000, 1, 0}, {false, 6000, 6000, 0, 1}};
  for (const Case& c : cases) {
    const std::vector<Write> segments = {{kS2C, greeting(), 1},  // the server speaks first
                                         {kC2S, greeting(), 2},
                                         {kS2C, ready("PULL"), 3},
                                         {kC2S, ready("PUSH"), 4},
                                         {kC2S, message({"work"}), 5}};
    std::vector<Record> records;
    const l7h::ReplayResult r = l7h::replayCaptureBytes(l7test::captureOf(segments, c.server_port, c.syn), {},
                                                        [&](const Record& rec) { records.push_back(rec); });
    ASSERT_TRUE(r.ok);
    const Record& m = get(records, "Message");
    EXPECT_EQ(m.client_port, c.expected_client_port) << "syn " << c.syn << " port " << c.server_port;
    EXPECT_EQ(r.stats.clients_by_port, c.by_port);
    EXPECT_EQ(r.stats.clients_by_first_speaker, c.by_first_speaker);
  }
}

// Output does not depend on how the bytes were segmented.
TEST(ZmtpSegmentation, EverySplitGivesTheSameRecords) {
  auto w = handshake("DEALER", "ROUTER");
  w.push_back({kC2S, message({"", "a", std::string(400, 'b')}), 10});
  w.push_back({kS2C, message({"", "reply"}), 11});
  w.push_back({kC2S, command("PING", be(10, 2)), 12});
  w.push_back({kS2C, command("PONG", ""), 13});
  const std::string whole = l7test::toJsonLines(run(w));
  EXPECT_EQ(l7test::toJsonLines(run(w, Split::kOneByte)), whole);
  EXPECT_EQ(l7test::toJsonLines(run(w, Split::kRandom)), whole);
}

// DeepFlow's captures (read from ../shared/corpus/deepflow, never copied):
// no parse failure, and what its .result lines print agrees with our
// records: socket types, subscriptions, and the frame sizes of every
// message, which DeepFlow gives per frame and we per message (summed).
TEST(ZmtpDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("zmtp");
  if (dir.empty()) GTEST_SKIP();
  size_t compared = 0;
  for (const char* name : {"zmtp_null", "zmtp_subscribe_one", "zmtp_subscribe_all"}) {
    SCOPED_TRACE(name);
    std::ifstream in(dir / (std::string(name) + ".result"));
    ASSERT_TRUE(in);
    l7h::ReplayOptions options;
    options.force_protocol = "zmtp";
    const auto records = l7h::replayCaptureToVector((dir / (std::string(name) + ".pcap")).string(), options);
    std::vector<std::string> socket_types, subscriptions;
    std::vector<int64_t> message_sizes;  // per message: the sum of its frames' sizes
    int64_t open = 0;
    bool in_message = false;
    std::string line;
    while (std::getline(in, line)) {
      auto field = [&](std::string_view key) -> std::string {
        const size_t at = line.find(std::string(key) + ": Some(");
        if (at == std::string::npos) return "";
        const size_t from = at + key.size() + 7;
        return line.substr(from, line.find(')', from) - from);
      };
      if (const std::string t = field("socket_type"); !t.empty()) socket_types.push_back(t);
      if (const std::string s = field("subscription"); !s.empty()) subscriptions.push_back(s.substr(1, s.size() - 2));
      if (line.find("frame_type: Message") == std::string::npos) continue;
      std::string size = field("req_msg_size");
      if (size.empty()) size = field("res_msg_size");
      open += size.empty() ? 0 : std::stoll(size);
      in_message = field("more_frames") == "true";
      if (!in_message) {
        message_sizes.push_back(open);
        open = 0;
      }
    }
    std::vector<std::string> our_types, our_subscriptions;
    std::vector<int64_t> our_sizes;
    for (const Record& r : records) {
      EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed) << r.f.response_exception;
      if (const std::string t = attr(r, "socket_type"); t != "<none>") our_types.push_back(t);
      if (r.f.request_type == "Command SUBSCRIBE") our_subscriptions.push_back(r.f.request_resource);
      if (r.f.request_type != "Message") continue;
      if (r.type == RecordType::kSession && r.f.request_length && r.f.response_length) {
        our_sizes.push_back(*r.f.request_length);
        our_sizes.push_back(*r.f.response_length);
      } else {
        our_sizes.push_back(r.f.request_length ? *r.f.request_length : r.f.response_length.value_or(-1));
      }
    }
    std::sort(socket_types.begin(), socket_types.end());
    std::sort(our_types.begin(), our_types.end());
    EXPECT_EQ(our_types, socket_types);
    EXPECT_EQ(our_subscriptions, subscriptions);
    // DeepFlow drops a client's REQ delimiter before summing: sizes agree,
    // delimiters having none.
    std::sort(message_sizes.begin(), message_sizes.end());
    std::sort(our_sizes.begin(), our_sizes.end());
    EXPECT_EQ(our_sizes, message_sizes);
    compared += records.size();
  }
  EXPECT_GT(compared, 10u);
}

}  // namespace
}  // namespace l7::zmtp

// Decoder bugs the synthesizer properties found (tests/property), each kept
// as the bytes of its shrunk case: a capture and the records it must give,
// replayed through the real replay path. Bytes, not generator seeds, so a
// change in how the synthesizer uses its random numbers cannot turn one of
// these into a different test. README.md says where each file comes from
// and how to rewrite them (freeze.sh).
//
// Two kinds of case:
//   - joined mid-stream without loss: the replay must equal the frozen
//     records exactly, line for line;
//   - a lost segment (the capture is missing those TCP bytes): every frozen
//     line (the records the loss must not touch: one-way messages, and
//     exchanges whose request and response are both untouched) must be in
//     the replay, and the number of exchanges among them is asserted, so a
//     case that checks no exchange cannot pass for one that does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "capture/packet_layers.h"
#include "capture/pcap_input.h"
#include "l7/record_json.h"
#include "session/replay.h"

namespace {

std::string frozenPath(const std::string& name, const std::string& ext) {
  return std::string(L7_SOURCE_DIR) + "/tests/regressions/" + name + ext;
}

std::vector<std::string> frozenLines(const std::string& name) {
  std::ifstream in(frozenPath(name, ".jsonl"), std::ios::binary);
  EXPECT_TRUE(in) << "missing " << frozenPath(name, ".jsonl");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> replayedLines(const std::string& name) {
  std::vector<std::string> out;
  const l7h::ReplayResult result =
      l7h::replayCapture(frozenPath(name, ".pcap"), l7h::ReplayOptions{}, [&](const l7::Record& r) {
        std::string line;
        l7::appendRecordJson(r, line);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        out.push_back(std::move(line));
      });
  EXPECT_TRUE(result.ok) << result.error;
  return out;
}

// The capture replays to exactly its frozen records.
void expectReplayEqualsFrozen(const std::string& name) {
  const std::vector<std::string> expected = frozenLines(name);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(replayedLines(name), expected);
}

int64_t numberField(const std::string& line, const std::string& key) {
  const size_t at = line.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(line.c_str() + at + key.size() + 3, nullptr, 10);
}

// Every frozen record is in the replay; returns how many of them are
// exchanges (a request and its response in one record).
size_t expectReplayHoldsFrozen(const std::string& name) {
  const std::vector<std::string> required = frozenLines(name);
  const std::vector<std::string> actual = replayedLines(name);
  const std::multiset<std::string> produced(actual.begin(), actual.end());
  size_t exchanges = 0;
  for (const std::string& line : required) {
    EXPECT_NE(produced.count(line), 0u) << "missing from the replay: " << line;
    if (numberField(line, "captured_request_byte") > 0 && numberField(line, "captured_response_byte") > 0) ++exchanges;
  }
  return exchanges;
}

// MQTT joined after the CONNECT: the client side waits for a second packet
// to resynchronize while the broker's side already has its PINGRESP; the
// PINGRESP must wait for its PINGREQ to be decoded and pair with it
// (harness/session/connection.h, "Pairing").
TEST(KnownDecoderBugs, MqttJoinedAfterTheConnectPairsByOrderAcrossTheResyncWait) {
  expectReplayEqualsFrozen("MqttJoinedAfterTheConnectPairsByOrderAcrossTheResyncWait");
}

// MQTT after a loss inside a broker's PUBLISH (8-byte segments): a false
// packet start in the rest of its payload, claiming more bytes than the
// capture has, holds the broker side; the client's PUBACK, decoded first,
// must still pair with the broker's next QoS 1 PUBLISH.
TEST(KnownDecoderBugs, MqttResyncDoesNotHoldBackTheSideBehindAFalseStart) {
  EXPECT_EQ(expectReplayHoldsFrozen("MqttResyncDoesNotHoldBackTheSideBehindAFalseStart"), 8u);
}

// MQTT joined after the CONNECT with both sides resynchronizing, one byte
// per segment: a response found before its request (which the other side
// still holds) waits for it instead of becoming a response without request.
TEST(KnownDecoderBugs, MqttJoinedAfterTheConnectWhereBothSidesHold) {
  expectReplayEqualsFrozen("MqttJoinedAfterTheConnectWhereBothSidesHold");
}

// MQTT 5.0, a loss in the client's 1840-byte PUBLISH, one byte per segment:
// the client's PUBACK for the broker's QoS 1 PUBLISH, still held behind a
// broker response, waits for that PUBLISH.
// Fixed (a regression test now): joined after the CONNECT, a segment inside
// a large QoS 2 PUBLISH is lost, and the client side then holds the rest of that payload, whose random bytes hold false
// chains of two packets. The end takes the start whose packets cover the
// rest exactly, with the most packets (ResyncRules::longest_to_end), so the
// PUBREL and DISCONNECT at the end are decoded, not a false AUTH inside the
// payload.
TEST(KnownDecoderBugs, MqttEndOfStreamTakesTheChainThatCoversTheRestExactly) {
  // The record checked is the final DISCONNECT (one-way); the exchanges
  // around the loss are all touched by it.
  EXPECT_EQ(expectReplayHoldsFrozen("MqttEndOfStreamTakesTheChainThatCoversTheRestExactly"), 0u);
}

// ZMTP: losses inside binary payloads after mid-stream starts, which the
// gap property found: decoding resumes at the end of a frame whose header
// was seen, and a frame chain must confirm a start (parsers/zmtp/README.md).
TEST(KnownDecoderBugs, ZmtpGapsLoseOnlyWhatTheyTouch) {
  for (const char* c : {"ZmtpGapsLoseOnlyWhatTheyTouch-3.0-a", "ZmtpGapsLoseOnlyWhatTheyTouch-3.1",
                        "ZmtpGapsLoseOnlyWhatTheyTouch-3.0-b", "ZmtpGapsLoseOnlyWhatTheyTouch-3.0-c"}) {
    SCOPED_TRACE(c);
    expectReplayHoldsFrozen(c);
  }
}

// ZMTP resynchronizing after a loss that cut a frame (the gap property,
// about once in 6,000 cases): a false frame read in the rest of the cut
// frame ended exactly on a real boundary and confirmed through real frames,
// swallowing the real messages that began inside it (REQ/REP responses
// too), or its chain ran on through false frames inside a real long
// header. The start between it and its chain's end that reaches that end
// in more frames (as many after bytes passed over), or runs across it with
// two more, is taken (ResyncRules::denser_wins).
TEST(KnownDecoderBugs, ZmtpResyncTakesTheDenserChainInsideAFalseFrame) {
  for (const char* c : {"ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.0-a",
                        "ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.0-b",
                        "ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.1",
                        "ZmtpResyncTakesTheDenserChainAcrossAFalseChainsEnd-3.1",
                        "ZmtpResyncTakesTheDenserChainInsideAFalseFrameAtTheEnd-3.1",
                        "ZmtpResyncKeepsTheMessagesAfterACutResponse-3.1"}) {
    SCOPED_TRACE(c);
    expectReplayHoldsFrozen(c);
  }
}

// ZMTP: two empty messages in a row were refused as a frame start (a guard
// against zero runs in payloads), so the real chain through them failed
// and the messages before them were lost; a run of empty messages now reads
// as one frame of a chain.
TEST(KnownDecoderBugs, ZmtpResyncReadsEmptyMessagesInARow) {
  for (const char* c : {"ZmtpResyncReadsEmptyMessagesInARow-3.0-a", "ZmtpResyncReadsEmptyMessagesInARow-3.0-b"}) {
    SCOPED_TRACE(c);
    expectReplayHoldsFrozen(c);
  }
}

// ZMTP CURVE: after the handshake every data frame is libzmq's MESSAGE;
// false chains in the boxes were taken. The nonce case is a guard (it
// passed before): the zeros of a MESSAGE nonce read as a run of empty
// messages must not confirm a false start.
TEST(KnownDecoderBugs, ZmtpCurveResyncTakesOnlyMessageFrames) {
  for (const char* c : {"ZmtpCurveResyncTakesOnlyMessageFrames-3.0-a", "ZmtpCurveResyncTakesOnlyMessageFrames-3.0-b",
                        "ZmtpCurveResyncIgnoresZeroRunsInNonces-3.1"}) {
    SCOPED_TRACE(c);
    expectReplayHoldsFrozen(c);
  }
}

// ZMTP: guards the tie rule of denser_wins. A real CANCEL ("00 01 00")
// after a loss: the start one byte into it reads its size as flags (an
// empty MORE frame) and reaches the same boundary in as many frames; it
// must not win (ResyncRules::denser_tie_from).
TEST(KnownDecoderBugs, ZmtpResyncTieKeepsAStartWhoseSizeReadsAsFlags) {
  expectReplayHoldsFrozen("ZmtpResyncTieKeepsAStartWhoseSizeReadsAsFlags-3.0");
}

// ZMTP guards (they passed before the fix, and failed on versions of it):
// the zeros of a long header's size read as a run of empty messages must
// not give a false start two cheap frames; a real long frame after bytes
// passed over keeps its place against a false frame in its payload landing
// on its end (FrameGuess::strong).
TEST(KnownDecoderBugs, ZmtpResyncGuardsLongHeaders) {
  for (const char* c : {"ZmtpResyncRunOfZerosConfirmsNothingAlone-3.1", "ZmtpResyncTieKeepsALongHeader-3.1"}) {
    SCOPED_TRACE(c);
    expectReplayHoldsFrozen(c);
  }
}

// Pulsar joined mid-stream: the client's SUBSCRIBE is in question (one
// frame, its confirmation not yet come) when the broker's
// REACHED_END_OF_TOPIC for that consumer is decoded; it must wait for the
// client's side and take the topic (parsers/pulsar/README.md, "State across
// the two directions").
TEST(KnownDecoderBugs, PulsarBrokerCommandsWaitForTheTopicInTheClientsBytesInQuestion) {
  expectReplayEqualsFrozen("PulsarBrokerCommandsWaitForTheTopicInTheClientsBytesInQuestion");
}

TEST(KnownDecoderBugs, MqttAnswersOfTheResyncingSideWaitForHeldRequests) {
  EXPECT_GT(expectReplayHoldsFrozen("MqttAnswersOfTheResyncingSideWaitForHeldRequests"), 0u);
}

// MQTT joined at a PINGREQ, one byte per segment, a byte lost before the
// connection is recognized: the bytes the client side held are kept
// (session_builder.cc, onGap), so the PINGREQ and the PUBLISH after it stay.
TEST(KnownDecoderBugs, MqttGapBeforeRecognitionKeepsTheHeldMessages) {
  EXPECT_GT(expectReplayHoldsFrozen("MqttGapBeforeRecognitionKeepsTheHeldMessages"), 0u);
}

// NATS joined at a PING, one byte per segment, a PUB losing a byte later:
// Kafka's probe must say "no" as soon as the size field rules Kafka out, so
// the connection is recognized before the loss and the held PING and UNSUB
// are kept: the PING's exchange and the UNSUB.
TEST(KnownDecoderBugs, NatsJoinedAtShortMessagesKeepsThemThroughALaterGap) {
  EXPECT_EQ(expectReplayHoldsFrozen("NatsJoinedAtShortMessagesKeepsThemThroughALaterGap"), 1u);
}

// The source port of the capture's first TCP segment with payload (0: none).
uint16_t firstPayloadSourcePort(const std::string& name) {
  std::string error;
  const auto input = l7h::PcapInput::openFile(frozenPath(name, ".pcap"), error);
  EXPECT_NE(input, nullptr) << error;
  if (input == nullptr) return 0;
  l7h::LayerCounters counters;
  l7h::PacketLayers layers(counters);
  l7h::RawPacket packet;
  while (input->next(packet) == 1) {
    l7h::TcpSegment segment;
    if (layers.decode(packet, segment) == l7h::DecodeOutcome::kTcp && !segment.payload.empty()) return segment.sport;
  }
  return 0;
}

// Kafka joined at a broker's response whose first bytes read as a request
// header (the capture opens with it): with one side on port 9092, that side
// stays the server, and the exchanges after it are decoded with the right
// roles.
TEST(KnownDecoderBugs, KafkaJoinedAtAResponseKeepsTheRoles) {
  ASSERT_EQ(firstPayloadSourcePort("KafkaJoinedAtAResponseKeepsTheRoles"), 9092);
  expectReplayEqualsFrozen("KafkaJoinedAtAResponseKeepsTheRoles");
}

// Kafka joined where responses to requests before the join come first: a
// response candidate in the resynchronization must decode with the awaited
// request's API (or be followed by a plausible next frame), so no false
// "response" swallows the real answers.
TEST(KnownDecoderBugs, KafkaJoinedBeforeResponsesToLostRequestsFindsTheRealAnswers) {
  expectReplayEqualsFrozen("KafkaJoinedBeforeResponsesToLostRequestsFindsTheRealAnswers");
}

// Kafka resynchronizing after a loss inside a request: a false request
// header in the lost frame's remainder (a long binary client_id, or a body
// that parses only as far as it goes) must not hold back the real requests
// behind it past their responses. Joined mid-stream twice, and behind a
// handshake once.
TEST(KnownDecoderBugs, KafkaResyncDoesNotWaitOnAFalseRequestHeader) {
  for (const char* variant : {"joined-fetch-v12", "joined-fetch-v2", "handshake-fetch-v4"}) {
    SCOPED_TRACE(variant);
    EXPECT_GT(expectReplayHoldsFrozen(std::string("KafkaResyncDoesNotWaitOnAFalseRequestHeader-") + variant), 0u);
  }
}

}  // namespace

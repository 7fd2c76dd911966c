// Connection: the consume/need-more loop, placement of messages in time and
// sequence space, pairing, bounds and timeouts — driven by a tiny line
// protocol so these tests do not depend on any real decoder.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "l7/record_json.h"
#include "session/connection.h"

namespace l7h {
namespace {

// "REQ <id>\n" request, "RES <id>\n" response (paired by id),
// "ONE\n" one-way; any other line is a parse failure. Lines longer than 64
// bytes are skipped with FeedResult::skip via a declared length "BIG <n>\n".
// "HOLD\n" from the client makes the decoder hold the client's later lines
// back (it asks for more bytes than will come) until the server sends
// "GO\n", which wakes the client side (FeedResult::wake_peer) before the
// server's lines after the GO are decoded. "ASK\n" from the server wakes the
// client side every time it is fed, and is kept until more data comes.
class LineDecoder final : public l7::Decoder {
 public:
  l7::FeedResult feed(l7::Direction dir, l7::Bytes tail, uint64_t tail_pos, l7::MessageSink& sink) noexcept override {
    l7::FeedResult r;
    if (dir == l7::Direction::kToServer && holding_) {
      r.needed = 1000;
      return r;
    }
    const std::string_view text = l7::asText(tail);
    size_t pos = 0;
    while (true) {
      const size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) {
        r.consumed = static_cast<uint32_t>(pos);
        r.needed = 0;
        return r;
      }
      const std::string_view line = text.substr(pos, nl - pos);
      if (dir == l7::Direction::kToServer && line == "HOLD") {
        holding_ = true;
        r.consumed = static_cast<uint32_t>(nl + 1);
        r.needed = 1000;
        return r;
      }
      if (dir == l7::Direction::kToClient && (line == "GO" || line == "ASK")) {
        holding_ = holding_ && line != "GO";
        r.consumed = static_cast<uint32_t>(line == "GO" ? nl + 1 : pos);
        r.wake_peer = true;
        return r;
      }
      l7::Message m;
      m.pos = tail_pos + pos;
      m.wire_size = static_cast<uint32_t>(nl - pos + 1);
      if (line.rfind("BIG ", 0) == 0) {
        const uint64_t body = std::stoull(std::string(line.substr(4)));
        m.fields.request_type = "BIG";
        m.fields.response_status = l7::ResponseStatus::kOk;
        sink.onMessage(dir, std::move(m));
        r.consumed = static_cast<uint32_t>(nl + 1);
        r.skip = body;
        return r;
      }
      if (line.rfind("REQ ", 0) == 0) {
        m.kind = l7::MessageKind::kRequest;
        m.key.id = std::stoull(std::string(line.substr(4)));
        m.fields.request_type = "REQ";
        m.fields.request_id = static_cast<int64_t>(m.key.id);
      } else if (line.rfind("RES ", 0) == 0) {
        m.kind = l7::MessageKind::kResponse;
        m.key.id = std::stoull(std::string(line.substr(4)));
        m.fields.response_status = l7::ResponseStatus::kOk;
        m.fields.response_code = 0;
      } else if (line == "ONE") {
        m.fields.request_type = "ONE";
        m.fields.response_status = l7::ResponseStatus::kOk;
      } else {
        m.fields.response_status = l7::ResponseStatus::kParseFailed;
        m.fields.response_exception = "not a line of the test protocol";
      }
      sink.onMessage(dir, std::move(m));
      pos = nl + 1;
    }
  }
  void onGap(l7::Direction, l7::Bytes, uint64_t, l7::MessageSink&) noexcept override {}
  void onEof(l7::Direction dir, l7::Bytes tail, uint64_t tail_pos, l7::MessageSink& sink) noexcept override {
    if (tail.empty()) return;
    l7::Message m;
    m.pos = tail_pos;
    m.wire_size = static_cast<uint32_t>(tail.size());
    m.fields.response_status = l7::ResponseStatus::kParseFailed;
    m.fields.response_exception = "truncated line";
    sink.onMessage(dir, std::move(m));
  }

 private:
  bool holding_ = false;
};

l7::ProbeVerdict probeNever(l7::Bytes) noexcept { return l7::ProbeVerdict::kNo; }
std::unique_ptr<l7::Decoder> createLine(const l7::DecoderLimits&) { return std::make_unique<LineDecoder>(); }
const l7::DecoderInfo kLineInfo{l7::L7Protocol::kUnknown, "LINE", "line", {}, probeNever, createLine};

struct Harness {
  ReplayOptions options;
  std::vector<l7::Record> records;
  OrderedOutput output{[this](const l7::Record& r) { records.push_back(r); }};
  uint64_t seen = 0;
  ConnectionCounters counters;
  std::unique_ptr<Connection> conn;

  Harness() { reset(); }
  void reset() {
    records.clear();
    FlowColumns flow;
    flow.flow_id = 1;
    flow.client.ip.bytes = {127, 0, 0, 1};
    flow.client.port = 40000;
    flow.server.ip.bytes = {127, 0, 0, 2};
    flow.server.port = 7000;
    flow.decoder = &kLineInfo;
    conn = std::make_unique<Connection>(flow, options, ConnectionOutput{&output, &seen, &counters});
  }
  void send(l7::Direction d, uint64_t offset, std::string_view bytes, int64_t ts, uint32_t seq_base = 1000) {
    conn->data(d, offset, static_cast<uint32_t>(seq_base + offset), ts, l7::asBytes(bytes));
  }
  std::string finish() {
    conn->close();
    output.releaseAll();
    std::string out;
    for (const auto& r : records) l7::appendRecordJson(r, out);
    return out;
  }
};

TEST(Connection, PairsByIdOutOfOrderAndPlacesInTime) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "REQ 1\nREQ 2\n", 100);
  h.send(l7::Direction::kToClient, 0, "RES 2\n", 200);
  h.send(l7::Direction::kToClient, 6, "RES 1\n", 300);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  // Both requests start at 100; ties keep the order first seen.
  EXPECT_EQ(h.records[0].f.request_id, 1);
  EXPECT_EQ(h.records[0].end_time_us, 300);
  EXPECT_EQ(h.records[0].response_duration_us, 200);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kSession);
  EXPECT_EQ(h.records[0].req_tcp_seq, 1000u);
  EXPECT_EQ(h.records[0].resp_tcp_seq, 1006u);
  EXPECT_EQ(h.records[1].f.request_id, 2);
  EXPECT_EQ(h.records[1].req_tcp_seq, 1006u);
  EXPECT_EQ(h.records[1].end_time_us, 200);
}

// A response never completes a request that began after it (a decoder may
// give it late, e.g. held while the other side resynchronized, when its
// own request was before the capture): it stands alone and the request
// keeps waiting for its own answer.
TEST(Connection, AnAnswerDoesNotPairWithARequestThatBeganAfterIt) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "REQ 7\n", 300);
  h.send(l7::Direction::kToClient, 0, "RES 7\n", 200);
  h.send(l7::Direction::kToClient, 6, "RES 7\n", 400);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kResponse);
  EXPECT_EQ(h.records[0].start_time_us, 200);
  EXPECT_EQ(h.records[1].type, l7::RecordType::kSession);
  EXPECT_EQ(h.records[1].start_time_us, 300);
  EXPECT_EQ(h.records[1].end_time_us, 400);
}

// Bytes the TCP layer held ahead of a hole arrive after the segment that
// filled it, with their older time: a message held among them may start
// before the first mark's time, and the bound records are released below
// must say so (it did not: replay --threads found a record released after
// a watermark above its start).
TEST(Connection, EarliestOpenStartCoversHeldBytesOlderThanTheFirstMark) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "HOLD\nON", 300);   // the hole's filler, late
  h.send(l7::Direction::kToServer, 7, "E\nONE\n", 200);   // held ahead of it, earlier
  EXPECT_EQ(h.conn->earliestOpenStart(), 200);
  h.send(l7::Direction::kToClient, 0, "GO\n", 400);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].start_time_us, 200);  // the second line, at offset 9
  EXPECT_EQ(h.records[1].start_time_us, 300);
}

TEST(Connection, MessageSplitAcrossPacketsTakesFirstPacketTime) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "ONE\nRE", 10);
  h.send(l7::Direction::kToServer, 6, "Q 7", 20);
  h.send(l7::Direction::kToServer, 9, "\n", 30);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].f.request_type, "ONE");
  EXPECT_EQ(h.records[1].start_time_us, 10);
  EXPECT_EQ(h.records[1].req_tcp_seq, 1004u);
  EXPECT_EQ(h.records[1].type, l7::RecordType::kRequest);
  EXPECT_EQ(h.records[1].f.response_status, l7::ResponseStatus::kUnknown);
}

TEST(Connection, ResegmentationGivesIdenticalOutput) {
  const std::string client = "REQ 1\nONE\nREQ 2\nbad line\nREQ 3\nBIG 10\n0123456789ONE\n";
  const std::string server = "RES 1\nRES 3\nRES 2\n";
  auto run = [&](std::mt19937& rng, bool whole) {
    Harness h;
    // All packets share a timestamp so that placement does not depend on
    // where the cuts fall; only the bytes and their order matter here.
    auto push = [&](l7::Direction d, const std::string& s) {
      size_t pos = 0;
      while (pos < s.size()) {
        const size_t n = whole ? s.size() : std::uniform_int_distribution<size_t>(1, 5)(rng);
        const size_t take = std::min(n, s.size() - pos);
        h.send(d, pos, std::string_view(s).substr(pos, take), 5);
        pos += take;
      }
    };
    push(l7::Direction::kToServer, client);
    push(l7::Direction::kToClient, server);
    return h.finish();
  };
  std::mt19937 rng(42);
  const std::string expected = run(rng, true);
  EXPECT_NE(expected.find("\"response_status\":6"), std::string::npos);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(run(rng, false), expected) << "seed round " << i;
}

TEST(Connection, SkipDropsOversizedBodyWithoutBuffering) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "BIG 1000\n", 1);
  for (int i = 0; i < 10; ++i) h.send(l7::Direction::kToServer, 9 + i * 100, std::string(100, 'x'), 2);
  EXPECT_EQ(h.conn->bufferedBytes(), 0u);
  h.send(l7::Direction::kToServer, 1009, "ONE\n", 3);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[1].f.request_type, "ONE");
  EXPECT_EQ(h.counters.skipped_bytes, 1000u);
}

// A side that asks for its peer first has the peer's held bytes fed at
// once, even short of what the peer's decoder asked for, then its own: the
// request held on the client side is decoded before the response to it.
TEST(Connection, ASideAskingForItsPeerFirstHasThePeerFedFirst) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "HOLD\nREQ 7\n", 100);
  h.send(l7::Direction::kToClient, 0, "GO\nRES 7\n", 200);
  EXPECT_EQ(h.conn->bufferedBytes(), 0u);
  h.finish();
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kSession);
  EXPECT_EQ(h.records[0].start_time_us, 100);
  EXPECT_EQ(h.records[0].end_time_us, 200);
}

// Asking again within the round does not loop: the tail waits for more
// data, and the end of the stream still gets what is held.
TEST(Connection, AskingForThePeerAgainWaitsForMoreData) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "REQ 1\n", 100);
  h.send(l7::Direction::kToClient, 0, "ASK\n", 200);
  h.send(l7::Direction::kToClient, 4, "RES 1\n", 300);
  EXPECT_EQ(h.conn->bufferedBytes(), 10u);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kRequest);
  EXPECT_EQ(h.records[1].f.response_exception, "truncated line");
}

// A response that finds no request while the other side still holds
// undecoded bytes from before it waits for them: the request decoded from
// them later pairs with it (a decoder that holds a side while it
// resynchronizes decodes the other side's answers first).
TEST(Connection, AResponseWaitsForARequestHeldOnTheOtherSide) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "REQ 1", 100);
  h.send(l7::Direction::kToClient, 0, "RES 1\n", 200);
  EXPECT_EQ(h.counters.records, 0u);
  h.send(l7::Direction::kToServer, 5, "\n", 300);
  EXPECT_EQ(h.counters.records, 1u);
  h.finish();
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kSession);
  EXPECT_EQ(h.records[0].start_time_us, 100);
  EXPECT_EQ(h.records[0].end_time_us, 200);
}

// Not answered by what was held, it goes out alone as soon as the other
// side holds nothing older, in time order with the rest.
TEST(Connection, AWaitingResponseGoesOutAloneOnceNothingOlderIsHeld) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "RE", 100);
  h.send(l7::Direction::kToClient, 0, "RES 9\n", 200);
  EXPECT_EQ(h.counters.records, 0u);
  h.send(l7::Direction::kToServer, 2, "Q 2\n", 300);
  EXPECT_EQ(h.counters.records, 1u);  // RES 9; REQ 2 still waits for its answer
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kRequest);
  EXPECT_EQ(h.records[0].start_time_us, 100);
  EXPECT_EQ(h.records[1].type, l7::RecordType::kResponse);
  EXPECT_EQ(h.records[1].start_time_us, 200);
}

TEST(Connection, GapDropsPartialMessageAndResumes) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "REQ 1\nREQ", 1);
  h.conn->gap(l7::Direction::kToServer, 5);
  h.send(l7::Direction::kToServer, 14, "ONE\n", 2);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].f.request_id, 1);
  EXPECT_EQ(h.records[1].f.request_type, "ONE");
}

TEST(Connection, TimeoutAndPendingBound) {
  Harness h;
  h.options.session_timeout_us = 1000;
  h.options.max_pending_per_connection = 2;
  h.reset();
  h.send(l7::Direction::kToServer, 0, "REQ 1\n", 0);
  h.conn->expire(500);
  EXPECT_EQ(h.counters.timeouts, 0u);
  h.conn->expire(1001);
  EXPECT_EQ(h.counters.timeouts, 1u);
  h.send(l7::Direction::kToServer, 6, "REQ 2\nREQ 3\nREQ 4\n", 2000);
  EXPECT_EQ(h.counters.pending_evicted, 1u);
  h.send(l7::Direction::kToClient, 0, "RES 1\nRES 4\n", 2100);
  h.finish();
  ASSERT_EQ(h.records.size(), 5u);
  EXPECT_EQ(h.records[0].f.response_status, l7::ResponseStatus::kTimeout);  // REQ 1
  EXPECT_EQ(h.records[0].type, l7::RecordType::kRequest);
  EXPECT_EQ(h.records[1].f.request_id, 2);                                  // evicted, unknown
  EXPECT_EQ(h.records[1].f.response_status, l7::ResponseStatus::kUnknown);
  EXPECT_EQ(h.records[3].type, l7::RecordType::kSession);                   // REQ 4 + RES 4
  // RES 1 came after its request timed out: a lone response, placed by its own time.
  EXPECT_EQ(h.records[4].type, l7::RecordType::kResponse);
  EXPECT_EQ(h.records[4].start_time_us, 2100);
}

// The periodic sweep runs only now and then; an answer that arrives after
// the timeout passed must not revive its request between two sweeps.
TEST(Connection, AnswerAfterTheTimeoutDoesNotPairEvenBeforeASweep) {
  Harness h;
  h.options.session_timeout_us = 1000;
  h.reset();
  h.send(l7::Direction::kToServer, 0, "REQ 1\nREQ 2\n", 0);
  h.send(l7::Direction::kToServer, 12, "REQ 2\n", 900);
  h.send(l7::Direction::kToClient, 0, "RES 2\n", 1500);  // no expire() call in between
  h.finish();
  ASSERT_EQ(h.records.size(), 3u);
  EXPECT_EQ(h.counters.timeouts, 1u);
  // The first REQ 2 timed out; the second one (sent at 900) pairs. REQ 1 is
  // still pending at close (this connection never saw a later clock): unknown.
  EXPECT_EQ(h.records[0].f.request_id, 1);
  EXPECT_EQ(h.records[0].f.response_status, l7::ResponseStatus::kUnknown);
  EXPECT_EQ(h.records[1].f.request_id, 2);
  EXPECT_EQ(h.records[1].type, l7::RecordType::kRequest);
  EXPECT_EQ(h.records[1].f.response_status, l7::ResponseStatus::kTimeout);
  EXPECT_EQ(h.records[2].type, l7::RecordType::kSession);
  EXPECT_EQ(h.records[2].start_time_us, 900);
  EXPECT_EQ(h.records[2].response_duration_us, 600);
}

TEST(Connection, AnswerExactlyAtTheTimeoutStillPairs) {
  Harness h;
  h.options.session_timeout_us = 1000;
  h.reset();
  h.send(l7::Direction::kToServer, 0, "REQ 1\n", 0);
  h.send(l7::Direction::kToClient, 0, "RES 1\n", 1000);
  h.finish();
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_EQ(h.records[0].type, l7::RecordType::kSession);
  EXPECT_EQ(h.counters.timeouts, 0u);
}

TEST(Connection, TruncatedTailAtEndOfStreamIsReported) {
  Harness h;
  h.send(l7::Direction::kToServer, 0, "ONE\nREQ 9", 1);
  h.finish();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[1].f.response_status, l7::ResponseStatus::kParseFailed);
  EXPECT_EQ(h.records[1].captured_request_byte, 5);  // one-way from the client: request side
  EXPECT_EQ(h.records[1].captured_response_byte, 0);
}

}  // namespace
}  // namespace l7h

// Hostile inputs: the streams an attacker would build against each
// decoder's resynchronization and framing (issue 14), through the
// production connection path, at several sizes. The decoders must spend
// bounded work per input byte, so time per MiB (bytes_per_second) has to
// stay flat from the smallest size to the largest; `records` shows what
// the connection still produced from the valid messages inside.
//
// Sizes are the benchmark argument in KiB. Shapes that are slow today
// would run for hours at 16 MiB, so sizes above L7_HOSTILE_MAX_KIB
// (default 64) are not registered; measure one shape with e.g.
//   L7_HOSTILE_MAX_KIB=16384 build/bench/l7_micro_bench --benchmark_filter='Hostile_Mqtt'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "capture/frame_builder.h"
#include "capture/packet_layers.h"
#include "connection_driver.h"
#include "l7/registry.h"
#include "synth/kafka_messages.h"
#include "synth/kafka_wire.h"
#include "synth/openwire_wire.h"

namespace {

using l7::Direction;
using Wire = l7h::synth::kafkawire::W;
constexpr size_t kKiB = 1024;
constexpr size_t kMss = 1460;  // segments as a sender with the usual MSS would cut them

// One connection's events, replayed the same way every iteration.
struct Step {
  enum Kind { kData, kGap, kEnd } kind;
  Direction dir;
  std::string bytes;  // kData only
  size_t piece = kMss;
};

struct HostileInput {
  HostileInput(uint16_t port, bool joined) : server_port(port), joined_mid_stream(joined) {}
  uint16_t server_port;
  bool joined_mid_stream;
  std::vector<Step> steps;
  size_t bytes = 0;  // payload bytes of both directions

  void data(Direction dir, std::string b, size_t piece = kMss) {
    bytes += b.size();
    steps.push_back({Step::kData, dir, std::move(b), piece});
  }
  void gap(Direction dir) { steps.push_back({Step::kGap, dir, {}}); }
  void end(Direction dir) { steps.push_back({Step::kEnd, dir, {}}); }
  // Both directions end, `first` (the one with the hostile bytes) first.
  void endBoth(Direction first) {
    end(first);
    end(l7::reverse(first));
  }
};

void runHostile(benchmark::State& state, const char* protocol, const std::function<HostileInput(size_t)>& build) {
  const l7::DecoderInfo* decoder = l7::findDecoder(protocol);
  if (decoder == nullptr) {
    state.SkipWithError("decoder not in the build");
    return;
  }
  const HostileInput in = build(static_cast<size_t>(state.range(0)) * kKiB);
  size_t records = 0;
  uint64_t parse_failures = 0;
  for (auto _ : state) {
    l7bench::DrivenConnection conn(decoder, in.server_port);
    if (in.joined_mid_stream) conn.joinMidStream();
    for (const Step& s : in.steps) {
      switch (s.kind) {
        case Step::kData:
          conn.send(s.dir, s.bytes, s.piece);
          break;
        case Step::kGap:
          conn.gap(s.dir, 0);
          break;
        case Step::kEnd:
          conn.endOfStream(s.dir);
          break;
      }
    }
    records = conn.close();
    parse_failures = conn.counters().parse_failures;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.bytes));
  state.counters["records"] = static_cast<double>(records);
  state.counters["parse_failures"] = static_cast<double>(parse_failures);
}

// `dir` sends `unit` again and again up to `size` bytes (the last copy
// cut), in segments of `piece` bytes, then both directions end.
HostileInput repeated(uint16_t port, bool joined, Direction dir, std::string_view unit, size_t size,
                      size_t piece = kMss) {
  HostileInput in(port, joined);
  std::string wire;
  while (wire.size() < size) wire.append(unit.substr(0, std::min(unit.size(), size - wire.size())));
  in.data(dir, std::move(wire), piece);
  in.endBoth(dir);
  return in;
}

// MQTT's remaining length is the same base-128 varint as Kafka's unsigned one.
std::string mqttVarint(uint32_t n) { return Wire().uv(n).str(); }

// A SUBSCRIBE fixed header claiming 340,000 bytes.
constexpr uint32_t kSubscribeClaim = 340'000;
Wire subscribeHeader() { return std::move(Wire().raw("\x82").uv(kSubscribeClaim)); }

// MQTT joined mid-stream: a PUBLISH header claiming 4,000,000 bytes (under
// the 4 MiB buffering cap, so it is a candidate worth waiting for), then
// valid two-byte packets (PINGREQ C0 00 from the client, PINGRESP D0 00
// from the broker) up to `size`, then the end of the stream. Below 4 MB the
// claimed bytes never come: the decoder decides at the end, where it may
// try every start and walk each one's chain to the end.
HostileInput mqttFalsePublishThenPings(size_t size, Direction dir) {
  HostileInput in(1883, /*joined=*/true);
  std::string wire(1, '\x30');  // PUBLISH, QoS 0
  wire += mqttVarint(4'000'000);
  const std::string_view ping = dir == Direction::kToServer ? std::string_view("\xC0\x00", 2) : std::string_view("\xD0\x00", 2);
  // Whole packets only: a last one cut short would be a different shape.
  while (wire.size() + ping.size() <= size) wire += ping;
  in.data(dir, std::move(wire));
  in.endBoth(dir);
  return in;
}

void BM_Hostile_Mqtt_FalsePublishThenPingreqs(benchmark::State& state) {
  runHostile(state, "mqtt", [](size_t size) { return mqttFalsePublishThenPings(size, Direction::kToServer); });
}
void BM_Hostile_Mqtt_FalsePublishThenPingresps(benchmark::State& state) {
  runHostile(state, "mqtt", [](size_t size) { return mqttFalsePublishThenPings(size, Direction::kToClient); });
}
// The same with the held tail just over 1 MiB (size + 2 bytes, one more
// PINGREQ): every PINGREQ in it is a valid packet and should be a record.
void BM_Hostile_Mqtt_FalsePublishThenPingreqsOver1MiB(benchmark::State& state) {
  runHostile(state, "mqtt", [](size_t size) { return mqttFalsePublishThenPings(size + 2, Direction::kToServer); });
}

// MQTT joined mid-stream: SUBSCRIBE packets each claiming 340,000 bytes, all
// of them zeros (packet id 0 and ~113,000 empty topic filters, over the
// 100,000 the decoder reads).
void BM_Hostile_Mqtt_ZeroSubscribes(benchmark::State& state) {
  runHostile(state, "mqtt", [](size_t size) {
    std::string packet = subscribeHeader().str();
    packet.append(kSubscribeClaim, '\0');
    return repeated(1883, /*joined=*/true, Direction::kToServer, packet, size);
  });
}

// MQTT joined mid-stream: SUBSCRIBE headers back to back, each with its
// packet id 0 and nothing else (6 bytes), each claiming 340,000 bytes. Every
// header is a start to try once its claimed bytes are there, and its body
// (the headers after it, read as topic filters) decodes for 336 KB before it
// fails.
void BM_Hostile_Mqtt_BackToBackSubscribeHeaders(benchmark::State& state) {
  runHostile(state, "mqtt", [](size_t size) {
    return repeated(1883, /*joined=*/true, Direction::kToServer, subscribeHeader().i16(0).str(), size);
  });
}

// A Produce v3 request header up to its first topic's name length: size
// `claimed`, client_id "c", no transactional id, acks 1, 100,000 topics,
// and a first topic name `name_length` bytes long.
std::string produceHeader(uint32_t claimed, int32_t correlation_id, uint16_t name_length) {
  return Wire()
      .i32(static_cast<int32_t>(claimed))
      .i16(0)  // Produce
      .i16(3)
      .i32(correlation_id)
      .str("c")
      .nullStr()  // transactional_id
      .i16(1)     // acks
      .i32(1000)  // timeout_ms
      .i32(100'000)
      .i16(static_cast<int16_t>(name_length))
      .str();
}

// Kafka joined mid-stream on 9092: a Produce request header claiming 100 MB
// whose topic name holds 32 more such headers (each one's name running to
// the end of the outer one), then the first topic's 100,000 partitions and
// empty topics, all zeros, so the candidate and the 32 behind it parse as
// far as the bytes go. The client sends it in 100-byte segments and the
// broker one byte after each (a response the decoder must not decode before
// the requests it may answer).
void BM_Hostile_Kafka_FalseProduceWithHeadersInItsTopic(benchmark::State& state) {
  runHostile(state, "kafka", [](size_t size) {
    HostileInput in(9092, /*joined=*/true);
    constexpr int kInner = 32;
    const size_t header = produceHeader(0, 0, 0).size();
    std::string request = produceHeader(100'000'000, 1, static_cast<uint16_t>(kInner * header));
    for (int k = 1; k <= kInner; ++k) {
      request += produceHeader(100'000'000, 1 + k, static_cast<uint16_t>((kInner - k) * header));
    }
    request += Wire().i32(100'000).str();  // the first topic's partitions: index 0, empty records, 8 zero bytes each
    if (request.size() < size) request.append(size - request.size(), '\0');
    request.resize(size);
    constexpr size_t kSegment = 100;
    for (size_t pos = 0; pos < request.size(); pos += kSegment) {
      in.data(Direction::kToServer, request.substr(pos, kSegment), kSegment);
      in.data(Direction::kToClient, std::string(1, '\0'), 1);
    }
    in.endBoth(Direction::kToServer);
    return in;
  });
}

// Kafka with 1024 requests waiting for their answers (ApiVersions v0,
// correlation ids 1..1024, decoded in sync), then a gap on the broker's
// side and `size` bytes of 0x01: every offset reads as a plausible response
// size (0x01010101) followed by a correlation id to look up among the
// pending requests (and found in none).
void BM_Hostile_Kafka_ResponseResyncWith1024Pending(benchmark::State& state) {
  runHostile(state, "kafka", [](size_t size) {
    HostileInput in(9092, /*joined=*/false);
    std::string requests;
    for (int32_t corr = 1; corr <= 1024; ++corr) requests += l7h::synth::kafkawire::apiVersionsRequest(0, corr);
    in.data(Direction::kToServer, std::move(requests));
    in.gap(Direction::kToClient);
    in.data(Direction::kToClient, std::string(size, '\x01'));
    in.endBoth(Direction::kToServer);
    return in;
  });
}

// A binary protocol joined mid-stream: frame headers each claiming a frame
// of a quarter of the stream (at most just under the 4 MiB buffering cap,
// so every claim is a start worth waiting for), each followed by one valid
// frame, repeated up to `size`, in full segments. `header(claim)` writes a
// claiming header whose frame is `overhead + claim` bytes long; the claim
// is nudged so that frame ends `land` bytes into a later unit, where no
// frame can start, and each claim fails only when its bytes are all there.
HostileInput claimsBeforeValidFrames(uint16_t port, size_t size, const std::function<std::string(uint64_t)>& header,
                                     uint64_t overhead, std::string_view valid, uint64_t land) {
  const uint64_t unit_size = header(0).size() + valid.size();
  uint64_t claim = std::min<uint64_t>(size / 4, (uint64_t{4} << 20) - 1024);
  claim += (land + unit_size - (overhead + claim) % unit_size) % unit_size;
  std::string unit = header(claim);
  unit += valid;
  return repeated(port, /*joined=*/true, Direction::kToServer, unit, size);
}

// AMQP: method frames (Basic.Publish, so the method is known) claiming
// their size, each before a heartbeat frame; a claim fails at its
// frame-end octet.
void BM_Hostile_Amqp_FalseMethodClaimsBeforeHeartbeats(benchmark::State& state) {
  runHostile(state, "amqp", [](size_t size) {
    auto header = [](uint64_t claim) {
      return Wire().raw(std::string_view("\x01\x00\x01", 3)).i32(static_cast<int32_t>(claim)).raw(std::string_view("\x00\x3c\x00\x28", 4)).str();
    };
    const std::string_view heartbeat("\x08\x00\x00\x00\x00\x00\x00\xce", 8);
    return claimsBeforeValidFrames(5672, size, header, 8, heartbeat, 1);  // lands on a channel octet: type 0
  });
}

// ZMTP: long data frames (flags 0x02, 8-byte size) claiming their size,
// each before a short three-byte frame; the claimed end lands in the next
// long size, where a zero flags byte before zeros is no frame.
void BM_Hostile_Zmtp_FalseLongFramesBeforeShortOnes(benchmark::State& state) {
  runHostile(state, "zmtp", [](size_t size) {
    auto header = [](uint64_t claim) { return Wire().raw("\x02").i64(static_cast<int64_t>(claim)).str(); };
    return claimsBeforeValidFrames(5555, size, header, 9, std::string_view("\x00\x03" "abc", 5), 1);
  });
}

// Pulsar: frames claiming their total size whose command is a PING, each
// before a real PING frame.
void BM_Hostile_Pulsar_FalseFrameClaimsBeforePings(benchmark::State& state) {
  const std::string_view ping_command("\x08\x12\x92\x01\x00", 5);  // type PING (18), field 18: empty
  runHostile(state, "pulsar", [ping_command](size_t size) {
    auto header = [ping_command](uint64_t claim) {
      return Wire().i32(static_cast<int32_t>(claim)).i32(5).raw(ping_command).str();
    };
    const std::string ping = Wire().i32(9).i32(5).raw(ping_command).str();
    return claimsBeforeValidFrames(6650, size, header, 4, ping, 1);  // lands inside a size: no plausible frame
  });
}

// OpenWire joined after its WireFormatInfos (ActiveMQ's defaults: tight,
// size-prefixed): size prefixes claiming a Response, each before a real
// Response.
void BM_Hostile_OpenWire_FalseSizeClaimsBeforeResponses(benchmark::State& state) {
  runHostile(state, "openwire", [](size_t size) {
    l7::openwire::wire::SenderCache cache;
    l7::openwire::wire::Command response;
    response.type = l7::openwire::kResponseType;
    response.correlation_id = 7;
    const std::string valid = l7::openwire::wire::Writer(l7::openwire::kActiveMqDefaults, cache).command(response);
    auto header = [](uint64_t claim) {
      std::string h = Wire().i32(static_cast<int32_t>(claim)).str();
      h.push_back('\x1e');  // Response
      h.append(3, '\0');
      return h;
    };
    return claimsBeforeValidFrames(61616, size, header, 4, valid, 1);  // lands inside a size prefix
  });
}

// NATS joined mid-stream: MSG control lines each claiming a payload of a
// quarter of the stream (at most just under the 4 MiB buffering cap), each
// followed by a valid PING. The first claim is waited for; once its bytes
// are there the payload has no CRLF where it should, so only its line
// fails, the PING after it decodes, and the next MSG waits for its own
// claim. Sent one MSG and PING per segment, every segment decides one
// claim and drops one segment from the front of a held tail as long as the
// claim.
void BM_Hostile_Nats_FalseMsgClaimsBeforeEachPing(benchmark::State& state) {
  runHostile(state, "nats", [](size_t size) {
    size_t claim = std::min(size / 4, (size_t{4} << 20) - 1024);
    std::string unit;
    while (true) {
      unit = "MSG a 1 " + std::to_string(claim) + "\r\nPING\r\n";
      // Where the claimed payload ends there must be no CRLF (else the
      // MSG is a valid one, its payload the lines behind it).
      const size_t end = (unit.find('\n') + 1 + claim) % unit.size();
      if (unit[end] != '\r' || unit[(end + 1) % unit.size()] != '\n') break;
      ++claim;
    }
    return repeated(4222, /*joined=*/true, Direction::kToClient, unit, size, unit.size());
  });
}

// NATS in sync: control lines just under the 64 KiB line cap (a PUB whose
// subject never ends), each sent one byte per segment. Until its line
// feed arrives, every byte makes the decoder look for it again in all the
// bytes of the line held so far.
void BM_Hostile_Nats_LongLinesOneBytePerSegment(benchmark::State& state) {
  runHostile(state, "nats", [](size_t size) {
    std::string line = "PUB ";
    line.append(l7::DecoderLimits{}.max_line_bytes - 8, 'x');
    line += "\r\n";
    return repeated(4222, /*joined=*/false, Direction::kToServer, line, size, 1);
  });
}

// Kafka in sync: acks=0 Produce v3 requests whose record batch is gzip with
// one record, a 2 MiB value of zeros (about 2 KB compressed) before its
// trace headers: the first record never fits the 1 MiB prefix the decoder
// inflates to find them. Each request is a decompression bomb of ~500:1.
void BM_Hostile_Kafka_GzipBombs(benchmark::State& state) {
  runHostile(state, "kafka", [](size_t size) {
    namespace kw = l7h::synth::kafkawire;
    const std::string batch = kw::batch(
        {kw::record(std::nullopt, std::string(2u << 20, '\0'), {{"traceparent", kw::kTraceparent}})}, /*codec=*/1);
    HostileInput in(9092, /*joined=*/false);
    std::string wire;
    for (int32_t corr = 1; wire.size() < size; ++corr) wire += kw::produceRequest(3, corr, "t", 0, batch, /*acks=*/0);
    in.data(Direction::kToServer, std::move(wire));
    in.endBoth(Direction::kToServer);
    return in;
  });
}

// IPv4, through the capture layer: one 64,020-byte datagram in 8-byte
// fragments, all held but the one before the last (so it never completes),
// then its first fragment again and again up to `size` bytes of fragments.
// Each duplicate must cost the same whatever the pieces already held.
void BM_Hostile_Ipv4_DuplicateFragmentsOfANearlyWholeDatagram(benchmark::State& state) {
  const std::string payload(64'000, 'p');
  l7h::TcpFrameSpec spec;
  spec.link = l7h::LinkType::kRawIp;
  spec.src.ip.bytes = {10, 0, 0, 1};
  spec.dst.ip.bytes = {10, 0, 0, 2};
  spec.src.port = 40000;
  spec.dst.port = 9092;
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  auto pieces = l7h::buildFragmentedTcpFrames(spec, 8);
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i + 2 != pieces.size()) frames.push_back(pieces[i]);
  }
  size_t bytes = 0;
  for (const auto& f : frames) bytes += f.size();
  const size_t target = static_cast<size_t>(state.range(0)) * kKiB;
  size_t duplicates = 0;
  for (; bytes < target; bytes += pieces.front().size(), ++duplicates) frames.push_back(pieces.front());
  uint64_t held = 0;
  for (auto _ : state) {
    l7h::LayerCounters counters;
    l7h::PacketLayers layers(counters);
    l7h::RawPacket raw;
    raw.linktype = l7h::dltOf(l7h::LinkType::kRawIp);
    l7h::TcpSegment segment;
    for (const auto& f : frames) {
      raw.data = f.data();
      raw.caplen = raw.wirelen = static_cast<uint32_t>(f.size());
      benchmark::DoNotOptimize(layers.decode(raw, segment));
    }
    held = counters.fragments - counters.reassembled;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["duplicates"] = static_cast<double>(duplicates);
  state.counters["fragments_held"] = static_cast<double>(held);
}

// 64 KiB, 1 MiB and 16 MiB (and 256 KiB between, where 1 MiB is too slow
// to measure today), as far as L7_HOSTILE_MAX_KIB allows.
void sizes(benchmark::internal::Benchmark* b) {
  const char* env = std::getenv("L7_HOSTILE_MAX_KIB");
  const long max_kib = env != nullptr ? std::atol(env) : 64;
  for (long kib : {64L, 256L, 1024L, 16384L}) {
    if (kib <= max_kib) b->Arg(kib);
  }
  b->Unit(benchmark::kMillisecond);
}
// Over 1 MiB only.
void sizesOver1MiB(benchmark::internal::Benchmark* b) {
  const char* env = std::getenv("L7_HOSTILE_MAX_KIB");
  const long max_kib = env != nullptr ? std::atol(env) : 64;
  b->Arg(1024);
  if (max_kib >= 16384) b->Arg(16384);
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Hostile_Mqtt_FalsePublishThenPingreqs)->Apply(sizes);
BENCHMARK(BM_Hostile_Mqtt_FalsePublishThenPingresps)->Apply(sizes);
BENCHMARK(BM_Hostile_Mqtt_FalsePublishThenPingreqsOver1MiB)->Apply(sizesOver1MiB);
BENCHMARK(BM_Hostile_Mqtt_ZeroSubscribes)->Apply(sizes);
BENCHMARK(BM_Hostile_Mqtt_BackToBackSubscribeHeaders)->Apply(sizes);
BENCHMARK(BM_Hostile_Kafka_FalseProduceWithHeadersInItsTopic)->Apply(sizes);
BENCHMARK(BM_Hostile_Kafka_ResponseResyncWith1024Pending)->Apply(sizes);
BENCHMARK(BM_Hostile_Nats_FalseMsgClaimsBeforeEachPing)->Apply(sizes);
BENCHMARK(BM_Hostile_Nats_LongLinesOneBytePerSegment)->Apply(sizes);
BENCHMARK(BM_Hostile_Kafka_GzipBombs)->Apply(sizes);
BENCHMARK(BM_Hostile_Ipv4_DuplicateFragmentsOfANearlyWholeDatagram)->Apply(sizes);
BENCHMARK(BM_Hostile_Amqp_FalseMethodClaimsBeforeHeartbeats)->Apply(sizes);
BENCHMARK(BM_Hostile_Zmtp_FalseLongFramesBeforeShortOnes)->Apply(sizes);
BENCHMARK(BM_Hostile_Pulsar_FalseFrameClaimsBeforePings)->Apply(sizes);
BENCHMARK(BM_Hostile_OpenWire_FalseSizeClaimsBeforeResponses)->Apply(sizes);

}  // namespace

// Writes the captures of the memory benchmark (bench/memory_bench.sh): the
// shapes of issue 22 that made memory grow far faster than the input, and
// issue 20's long capture on a fixed number of connections. Frames are
// streamed to the file as they are built, so a 1 GB capture costs no
// memory here.
//
//   l7_memory_shapes SHAPE OUT.pcap [SCALE]
//
// Shapes (SCALE multiplies the message or connection count; default 1):
//   publish-10us     one MQTT connection: 800k QoS-0 PUBLISHes of 4 bytes,
//                    10 µs apart, coalesced into full segments
//   publish-1s       the same 800k PUBLISHes 1 s apart, one per segment
//                    (replay --metrics on it was the metrics shape)
//   pinned-by-ping   one unanswered PINGREQ on a first connection, then
//                    800k PUBLISHes 50 µs apart on a second one
//   pending-flood    2000 connections x 1024 unanswered PINGREQs
//   ooo-1byte        one connection: a 1-byte hole, then 2M 1-byte
//                    segments ahead of it
//   connections      10k connections open at once, each a PINGREQ and its
//                    PINGRESP every second for 10 s
//   long-100         100 connections of MQTT QoS-1 PUBLISH/PUBACK with
//                    1000-byte payloads, about 100 MB (SCALE 10: 1 GB)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capture/frame_builder.h"

namespace {

using l7h::Endpoint;

class PcapStream {
 public:
  explicit PcapStream(const char* path) : f_(std::fopen(path, "wb")) {
    if (f_ == nullptr) {
      std::perror(path);
      std::exit(1);
    }
    // Classic pcap, microseconds, Ethernet.
    const uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
    std::fwrite(header, sizeof header, 1, f_);
    buf_.reserve(1 << 20);
  }
  ~PcapStream() {
    flush();
    std::fclose(f_);
  }
  void frame(int64_t ts_us, const std::vector<uint8_t>& bytes) {
    const uint32_t rec[4] = {static_cast<uint32_t>(ts_us / 1'000'000), static_cast<uint32_t>(ts_us % 1'000'000),
                             static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(bytes.size())};
    const auto* r = reinterpret_cast<const uint8_t*>(rec);
    buf_.insert(buf_.end(), r, r + sizeof rec);
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    if (buf_.size() > (1 << 20)) flush();
  }

 private:
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }
  FILE* f_;
  std::vector<uint8_t> buf_;
};

// One TCP connection's two sides, with a handshake.
class Tcp {
 public:
  Tcp(PcapStream& out, uint32_t client_index, uint16_t server_port) : out_(out) {
    client_.ip.v4 = true;
    client_.ip.bytes[0] = 10;
    client_.ip.bytes[1] = static_cast<uint8_t>(client_index >> 16);
    client_.ip.bytes[2] = static_cast<uint8_t>(client_index >> 8);
    client_.ip.bytes[3] = static_cast<uint8_t>(client_index);
    client_.port = static_cast<uint16_t>(20000 + client_index % 40000);
    server_.ip.v4 = true;
    server_.ip.bytes[0] = 192;
    server_.ip.bytes[1] = 168;
    server_.ip.bytes[2] = 0;
    server_.ip.bytes[3] = 1;
    server_.port = server_port;
  }
  void handshake(int64_t ts) {
    send(true, ts, {}, 0x02, 0);
    ++seq_[0];
    send(false, ts, {}, 0x12, 0);
    ++seq_[1];
    send(true, ts, {}, 0x10, 0);
  }
  // `skip` leaves that many sequence numbers unsent before the payload (a hole).
  void data(bool from_client, int64_t ts, const std::string& payload, uint32_t skip = 0) {
    seq_[from_client ? 0 : 1] += skip;
    send(from_client, ts, payload, 0x18, 0);
    seq_[from_client ? 0 : 1] += static_cast<uint32_t>(payload.size());
  }

 private:
  void send(bool from_client, int64_t ts, const std::string& payload, uint8_t flags, int) {
    l7h::TcpFrameSpec spec;
    spec.src = from_client ? client_ : server_;
    spec.dst = from_client ? server_ : client_;
    spec.seq = seq_[from_client ? 0 : 1];
    spec.ack = seq_[from_client ? 1 : 0];
    spec.flags = flags;
    spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    out_.frame(ts, l7h::buildTcpFrame(spec));
  }
  PcapStream& out_;
  Endpoint client_, server_;
  uint32_t seq_[2] = {1000, 5000};
};

const std::string kPublish4("\x30\x02\x00\x00", 4);  // QoS 0, empty topic, no payload
const std::string kPingreq("\xC0\x00", 2);
const std::string kPingresp("\xD0\x00", 2);

std::string connect() {
  // MQTT 3.1.1 CONNECT, client id "m", clean session, keep alive 60.
  return std::string("\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x01m", 15);
}
const std::string kConnack("\x20\x02\x00\x00", 4);

void mqttOpen(Tcp& t, int64_t ts) {
  t.handshake(ts);
  t.data(true, ts, connect());
  t.data(false, ts, kConnack);
}

// `count` copies of `unit`, `gap_us` apart, coalesced into segments of up
// to 1460 bytes stamped with their first message's time.
void coalesced(Tcp& t, int64_t start, int64_t gap_us, const std::string& unit, uint64_t count) {
  std::string seg;
  int64_t seg_ts = start;
  for (uint64_t i = 0; i < count; ++i) {
    if (seg.empty()) seg_ts = start + static_cast<int64_t>(i) * gap_us;
    seg += unit;
    if (seg.size() + unit.size() > 1460) {
      t.data(true, seg_ts, seg);
      seg.clear();
    }
  }
  if (!seg.empty()) t.data(true, seg_ts, seg);
}

std::string publishQos1(uint16_t id, size_t payload) {
  std::string topic = "bench/long";
  const size_t remaining = 2 + topic.size() + 2 + payload;
  std::string p;
  p += '\x32';
  size_t n = remaining;
  do {
    uint8_t b = n % 128;
    n /= 128;
    if (n > 0) b |= 0x80;
    p += static_cast<char>(b);
  } while (n > 0);
  p += static_cast<char>(topic.size() >> 8);
  p += static_cast<char>(topic.size() & 0xFF);
  p += topic;
  p += static_cast<char>(id >> 8);
  p += static_cast<char>(id & 0xFF);
  p.append(payload, 'x');
  return p;
}

std::string puback(uint16_t id) {
  std::string p("\x40\x02", 2);
  p += static_cast<char>(id >> 8);
  p += static_cast<char>(id & 0xFF);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SHAPE OUT.pcap [SCALE]\n", argv[0]);
    return 2;
  }
  const std::string shape = argv[1];
  const double scale = argc > 3 ? std::atof(argv[3]) : 1.0;
  auto scaled = [&](uint64_t n) { return static_cast<uint64_t>(static_cast<double>(n) * scale); };
  PcapStream out(argv[2]);
  const int64_t t0 = 1'700'000'000'000'000;
  if (shape == "publish-10us") {
    Tcp t(out, 1, 1883);
    mqttOpen(t, t0);
    coalesced(t, t0 + 1000, 10, kPublish4, scaled(800'000));
  } else if (shape == "publish-1s") {
    Tcp t(out, 1, 1883);
    mqttOpen(t, t0);
    const uint64_t n = scaled(800'000);
    for (uint64_t i = 0; i < n; ++i) t.data(true, t0 + 1'000'000 * static_cast<int64_t>(i + 1), kPublish4);
  } else if (shape == "pinned-by-ping") {
    Tcp a(out, 1, 1883);
    Tcp b(out, 2, 1883);
    mqttOpen(a, t0);
    mqttOpen(b, t0);
    a.data(true, t0 + 10, kPingreq);
    coalesced(b, t0 + 1000, 50, kPublish4, scaled(800'000));
  } else if (shape == "pending-flood") {
    const uint64_t conns = scaled(2000);
    std::string pings;
    for (int i = 0; i < 1024; ++i) pings += kPingreq;
    for (uint64_t c = 0; c < conns; ++c) {
      Tcp t(out, static_cast<uint32_t>(c + 1), 1883);
      const int64_t ts = t0 + static_cast<int64_t>(c) * 10;
      mqttOpen(t, ts);
      t.data(true, ts + 1, pings.substr(0, 1460));
      t.data(true, ts + 2, pings.substr(1460));
    }
  } else if (shape == "ooo-1byte") {
    Tcp t(out, 1, 1883);
    mqttOpen(t, t0);
    const uint64_t n = scaled(2'000'000);
    // The first segment leaves a 1-byte hole; each later one follows the last.
    t.data(true, t0 + 1, std::string(1, '\xC0'), 1);
    for (uint64_t i = 1; i < n; ++i) t.data(true, t0 + 1 + static_cast<int64_t>(i), std::string(1, i % 2 ? '\x00' : '\xC0'));
  } else if (shape == "connections") {
    const uint64_t conns = scaled(10'000);
    std::vector<Tcp> all;
    all.reserve(conns);
    for (uint64_t c = 0; c < conns; ++c) {
      all.emplace_back(out, static_cast<uint32_t>(c + 1), 1883);
      mqttOpen(all.back(), t0 + static_cast<int64_t>(c));
    }
    for (int second = 1; second <= 10; ++second) {
      for (uint64_t c = 0; c < conns; ++c) {
        const int64_t ts = t0 + second * 1'000'000 + static_cast<int64_t>(c) * 50;
        all[c].data(true, ts, kPingreq);
        all[c].data(false, ts + 20, kPingresp);
      }
    }
  } else if (shape == "long-100") {
    constexpr int kConns = 100;
    std::vector<Tcp> all;
    all.reserve(kConns);
    for (int c = 0; c < kConns; ++c) {
      all.emplace_back(out, static_cast<uint32_t>(c + 1), 1883);
      mqttOpen(all.back(), t0);
    }
    // About 1070 bytes of frames per message and its answer: 100 MB per 1.
    const uint64_t rounds = scaled(900);
    for (uint64_t r = 0; r < rounds; ++r) {
      for (int c = 0; c < kConns; ++c) {
        const int64_t ts = t0 + 1000 + static_cast<int64_t>(r) * 10'000 + c * 50;
        const auto id = static_cast<uint16_t>(r % 65535 + 1);
        all[c].data(true, ts, publishQos1(id, 1000));
        all[c].data(false, ts + 20, puback(id));
      }
    }
  } else {
    std::fprintf(stderr, "unknown shape %s\n", shape.c_str());
    return 2;
  }
  return 0;
}

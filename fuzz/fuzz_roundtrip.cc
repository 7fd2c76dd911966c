// fuzz_roundtrip_<proto>: the fuzzer chooses a conversation model (seed,
// version, length) and where every message is cut into pieces; the pieces
// go through the harness's connection path and the records must equal the
// synthesizer's expected records for that model, exactly. Compiled once per
// protocol with a synthesizer generator (L7_FUZZ_PROTOCOL).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>

#include "l7/record_json.h"
#include "l7/registry.h"
#include "session/connection.h"
#include "synth/synthesizer.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define L7_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define L7_FUZZ_ASAN 1
#endif
#ifdef L7_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

// The oracle's own branches are not coverage (fuzz/coverage_ignorelist.txt).
#if defined(__clang__)
#define L7_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define L7_NO_COVERAGE
#endif

#ifndef L7_FUZZ_PROTOCOL
#error "L7_FUZZ_PROTOCOL must name a protocol with a synthesizer generator"
#endif

namespace {

// Reads fuzzer bytes as numbers; past the end it yields zeros.
struct Input {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  bool exhausted() const { return pos >= size; }
  uint64_t take(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | (pos < size ? data[pos++] : 0);
    return v;
  }
};

// Where each piece is fed from: memory in which every byte but the piece's
// is unaddressable for ASan, so that a read before or past the piece (or of
// an earlier piece, after its feed returned) is reported, as with an
// exact-size heap copy per piece. Under ASan the pieces go one after the
// other through a poisoned arena: a heap allocation per piece cost a fifth
// of each execution (ASan's allocator records a stack trace for each). A
// piece starts on an 8-byte boundary, so it ends exactly where ASan's
// shadow starts to poison (as a heap block does); the arena is reused only
// after a megabyte of later pieces. Without ASan, or for a piece larger
// than the arena, an exact-size heap copy.
class PieceMemory {
 public:
  template <typename Feed>
  void feed(const uint8_t* bytes, size_t n, Feed&& f) {
#ifdef L7_FUZZ_ASAN
    if (n <= kArena) {
      if (next_ + n > kArena) next_ = 0;
      uint8_t* piece = arena_.get() + next_;
      ASAN_UNPOISON_MEMORY_REGION(piece, n);
      std::memcpy(piece, bytes, n);
      f(piece);
      ASAN_POISON_MEMORY_REGION(piece, n);
      next_ = (next_ + n + 7) & ~size_t{7};
      return;
    }
#endif
    std::unique_ptr<uint8_t[]> copy(new uint8_t[n]);
    std::memcpy(copy.get(), bytes, n);
    f(copy.get());
  }

#ifdef L7_FUZZ_ASAN
  PieceMemory() { ASAN_POISON_MEMORY_REGION(arena_.get(), kArena); }

 private:
  static constexpr size_t kArena = size_t{1} << 20;
  std::unique_ptr<uint8_t[]> arena_{new uint8_t[kArena]};
  size_t next_ = 0;
#endif
};

// Every column record_json.h writes (all but seen_order), compared without
// building the JSON. Equal here means equal JSON lines; unequal ones are
// compared as JSON lines, the contract's equality (appendRecordJson sorts
// the attributes, for one).
auto serializedColumns(const l7::Record& r) {
  return std::tie(r.start_time_us, r.end_time_us, r.flow_id, r.ip4_0, r.ip4_1, r.ip6_0, r.ip6_1, r.is_ipv4,
                  r.protocol, r.client_port, r.server_port, r.l7_protocol, r.l7_protocol_str, r.type, r.f,
                  r.app_service, r.app_instance, r.observation_point, r.signal_source, r.response_duration_us,
                  r.captured_request_byte, r.captured_response_byte, r.req_tcp_seq, r.resp_tcp_seq);
}
#if defined(__GLIBCXX__) && defined(__x86_64__)
// A new Record column must join serializedColumns (this size then changes).
static_assert(sizeof(l7::Record) == 904, "l7::Record changed: update serializedColumns");
#endif

L7_NO_COVERAGE bool sameRecord(const l7::Record& a, const l7::Record& b) {
  if (serializedColumns(a) == serializedColumns(b)) return true;
  std::string ja, jb;
  l7::appendRecordJson(a, ja);
  l7::appendRecordJson(b, jb);
  return ja == jb;
}

namespace synth = l7h::synth;

// A model and what the synthesizer expects of it.
struct Expected {
  synth::SynthOptions options;
  synth::Model model;
  synth::Synthesized synthesized;
};

// The last models built, by their header (version, seed, length): they are
// a function of it alone, and building one is a quarter of an execution.
// libFuzzer mutates one input several times in a row, and its corpus is a
// few hundred inputs: about half of the executions (fuzz_roundtrip_kafka,
// 30,000 runs) change only the cuts and find their model here. A miss that
// allocates more than the evicted model frees makes libFuzzer run the input
// again for its leak check (it then hits).
class ModelCache {
 public:
  const Expected& get(const synth::SynthOptions& o) {
    const uint64_t h = (o.seed ^ o.messages * 0x9E3779B97F4A7C15ull ^ std::hash<std::string>{}(o.version)) * 0xBF58476D1CE4E5B9ull;
    std::unique_ptr<Expected>& slot = slots_[h >> 56];
    if (slot == nullptr || slot->options.seed != o.seed || slot->options.messages != o.messages ||
        slot->options.version != o.version) {
      slot = std::make_unique<Expected>();
      slot->options = o;
      std::string error;
      if (!synth::buildModel(o, slot->model, error)) std::abort();
      slot->synthesized = synth::synthesizeExpected(slot->model, o);
    }
    return *slot;
  }

 private:
  std::unique_ptr<Expected> slots_[256];
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace l7h;
  static const synth::Generator* generator = synth::findGenerator(L7_FUZZ_PROTOCOL);
  static const l7::DecoderInfo* decoder = l7::findDecoder(L7_FUZZ_PROTOCOL);
  static PieceMemory pieces;
  static ModelCache models;
  if (generator == nullptr || decoder == nullptr) std::abort();
  Input in{data, size};
  synth::SynthOptions o;
  o.protocol = L7_FUZZ_PROTOCOL;
  o.version = generator->versions[in.take(1) % generator->versions.size()];
  o.seed = in.take(8);
  o.messages = 2 + in.take(1) % 30;
  // The expected records and where each message falls (the timestamp and
  // TCP sequence number of its first byte, whole segmentation) come from
  // the synthesizer; the wire bytes are fed here in fuzzer-chosen pieces,
  // all at their message's placement.
  const Expected& cached = models.get(o);
  const synth::Synthesized& expected = cached.synthesized;
  const synth::ModelConversation& conv = cached.model.conversations.front();
  const std::vector<synth::Placement>& placed = expected.placements.front();

  // Each record is compared with the expected one as it comes out; from
  // the first that differs on, they are kept as JSON for the report.
  size_t matched = 0;
  size_t count = 0;
  std::string differing;
  ReplayOptions options;
  OrderedOutput output([&](const l7::Record& r) {
    if (count++ == matched && matched < expected.expected.size() && sameRecord(r, expected.expected[matched])) {
      ++matched;
    } else {
      l7::appendRecordJson(r, differing);
    }
  });
  uint64_t seen = 0;
  ConnectionCounters counters;
  FlowColumns flow;
  flow.flow_id = 1;
  flow.client = conv.endpoints.client;
  flow.server = conv.endpoints.server;
  flow.decoder = decoder;
  Connection conn(flow, options, ConnectionOutput{&output, &seen, &counters});
  uint64_t offset[2] = {0, 0};
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    const auto& m = conv.messages[i];
    const int d = static_cast<int>(m.dir);
    const auto& place = placed[i];
    const auto* bytes = reinterpret_cast<const uint8_t*>(m.bytes.data());
    size_t pos = 0;
    while (pos < m.bytes.size()) {
      // Each input byte is one cut (a piece of 1 to 64 bytes); once they
      // run out, the rest of every message goes whole. (Cutting the rest
      // into single bytes made each execution cost a few thousand feeds of
      // one byte, for cuts no input byte chose.)
      const size_t rest = m.bytes.size() - pos;
      const size_t piece = in.exhausted() ? rest : std::min<size_t>(rest, 1 + in.take(1) % 64);
      pieces.feed(bytes + pos, piece, [&](const uint8_t* copy) {
        conn.data(m.dir, offset[d], place.tcp_seq + static_cast<uint32_t>(pos), place.ts_us, l7::Bytes(copy, piece));
      });
      offset[d] += piece;
      pos += piece;
    }
  }
  conn.close();
  output.releaseAll();
  if (matched != expected.expected.size() || count != matched) {
    std::string want;
    for (const auto& r : expected.expected) l7::appendRecordJson(r, want);
    std::fprintf(stderr,
                 "round trip differs for %s version %s seed %llu: %zu records, %zu expected, the first %zu equal\n"
                 "expected:\n%s\nactual from the first difference on:\n%s\n",
                 L7_FUZZ_PROTOCOL, o.version.c_str(), static_cast<unsigned long long>(o.seed), count,
                 expected.expected.size(), matched, want.c_str(), differing.empty() ? "(none: records missing)\n" : differing.c_str());
    std::abort();
  }
  return 0;
}

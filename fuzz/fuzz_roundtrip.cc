// fuzz_roundtrip_<proto>: the fuzzer chooses a conversation model (seed,
// version, length) and where every message is cut into pieces; the pieces
// go through the harness's connection path and the records must equal the
// synthesizer's expected records for that model, exactly. Compiled once per
// protocol with a synthesizer generator (L7_FUZZ_PROTOCOL).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "l7/record_json.h"
#include "l7/registry.h"
#include "session/connection.h"
#include "synth/synthesizer.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace l7h;
  static const synth::Generator* generator = synth::findGenerator(L7_FUZZ_PROTOCOL);
  static const l7::DecoderInfo* decoder = l7::findDecoder(L7_FUZZ_PROTOCOL);
  if (generator == nullptr || decoder == nullptr) std::abort();
  Input in{data, size};
  synth::SynthOptions o;
  o.protocol = L7_FUZZ_PROTOCOL;
  o.version = generator->versions[in.take(1) % generator->versions.size()];
  o.seed = in.take(8);
  o.messages = 2 + in.take(1) % 30;
  synth::Model model;
  std::string error;
  if (!synth::buildModel(o, model, error)) std::abort();
  // The expected records come from synthesize(); the wire bytes are fed here
  // in fuzzer-chosen pieces, all at one timestamp per message.
  const synth::Synthesized expected_capture = synth::synthesize(model, o);
  const synth::ModelConversation& conv = model.conversations.front();

  std::string expected;
  for (const auto& r : expected_capture.expected) l7::appendRecordJson(r, expected);

  ReplayOptions options;
  std::string actual;
  OrderedOutput output([&](const l7::Record& r) { l7::appendRecordJson(r, actual); });
  uint64_t seen = 0;
  ConnectionCounters counters;
  FlowColumns flow;
  flow.flow_id = 1;
  flow.client = conv.endpoints.client;
  flow.server = conv.endpoints.server;
  flow.decoder = decoder;
  Connection conn(flow, options, ConnectionOutput{&output, &seen, &counters});
  // Replay with the same timestamps and sequence numbers the synthesizer's
  // packetizer gives the first byte of each message (whole segmentation).
  synth::Packetizer packetizer(conv.endpoints, o.plan);
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    packetizer.write(conv.messages[i].dir, conv.messages[i].bytes,
                     o.start_us + static_cast<int64_t>(i) * o.message_spacing_us);
  }
  packetizer.finish();
  uint64_t offset[2] = {0, 0};
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    const auto& m = conv.messages[i];
    const int d = static_cast<int>(m.dir);
    const auto& place = packetizer.placements()[i];
    size_t pos = 0;
    while (pos < m.bytes.size()) {
      // Each input byte is one cut (a piece of 1 to 64 bytes); once they
      // run out, the rest of every message goes whole. (Cutting the rest
      // into single bytes made each execution cost a few thousand feeds of
      // one byte, for cuts no input byte chose.)
      const size_t rest = m.bytes.size() - pos;
      const size_t piece = in.exhausted() ? rest : std::min<size_t>(rest, 1 + in.take(1) % 64);
      // Every piece in an exact-size heap copy, so ASan sees over-reads.
      std::unique_ptr<uint8_t[]> copy(new uint8_t[piece]);
      std::memcpy(copy.get(), m.bytes.data() + pos, piece);
      conn.data(m.dir, offset[d], place.tcp_seq + static_cast<uint32_t>(pos), place.ts_us, l7::Bytes(copy.get(), piece));
      offset[d] += piece;
      pos += piece;
    }
  }
  conn.close();
  output.releaseAll();
  if (actual != expected) {
    std::fprintf(stderr, "round trip differs for %s version %s seed %llu\nexpected:\n%s\nactual:\n%s\n",
                 L7_FUZZ_PROTOCOL, o.version.c_str(), static_cast<unsigned long long>(o.seed), expected.c_str(),
                 actual.c_str());
    std::abort();
  }
  return 0;
}

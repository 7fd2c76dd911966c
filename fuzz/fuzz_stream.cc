// fuzz_<proto>: one protocol's decoder driven through the harness's own
// connection path (decoder + buffering + pairing + record writer) by the
// chunk format of stream_input.h. Compiled once per protocol with
// L7_FUZZ_PROTOCOL set to the registry key, and once for the template
// decoder (L7_FUZZ_TEMPLATE), which is not in the registry.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>

#include "l7/registry.h"
#include "record_invariants.h"
#ifdef L7_FUZZ_TEMPLATE
#include "template/toy_decoder.h"
#endif
#include "session/connection.h"
#include "stream_input.h"

#ifndef L7_FUZZ_PROTOCOL
#error "L7_FUZZ_PROTOCOL must name a registered protocol"
#endif
#ifndef L7_FUZZ_MAX_LEN
#error "L7_FUZZ_MAX_LEN must be the max_len of the target's .options"
#endif

namespace {
constexpr uint32_t kMaxLen = L7_FUZZ_MAX_LEN;
static_assert(kMaxLen >= 512, "caps of a quarter of max_len must still hold a protocol's header");
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef L7_FUZZ_TEMPLATE
  static const l7::DecoderInfo* decoder = &l7::toy::toyDecoderInfo();
#else
  static const l7::DecoderInfo* decoder = l7::findDecoder(L7_FUZZ_PROTOCOL);
#endif
  if (decoder == nullptr) std::abort();
  // Caps well under max_len (L7_FUZZ_MAX_LEN, from the target's .options),
  // so an input of real bytes reaches every "too large" path.
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = kMaxLen / 2;
  options.limits.max_message_bytes = 1 << 20;
  options.limits.max_line_bytes = kMaxLen / 4;
  options.limits.max_array_count = 1000;
  options.limits.max_pending = 64;
  options.max_pending_per_connection = 64;

  l7fuzz::RecordChecker check;
  l7h::OrderedOutput output([&check](const l7::Record& r) { check(r); });
  uint64_t seen = 0;
  l7h::ConnectionCounters counters;
  l7h::FlowColumns flow;
  flow.flow_id = 1;
  flow.client.ip.bytes = {192, 0, 2, 1};
  flow.client.port = 50000;
  flow.server.ip.bytes = {192, 0, 2, 2};
  flow.server.port = decoder->default_ports.empty() ? 1 : decoder->default_ports[0];
  flow.decoder = decoder;
  l7h::Connection conn(flow, options, l7h::ConnectionOutput{&output, &seen, &counters});

  uint64_t offset[2] = {0, 0};
  int64_t ts = 1'700'000'000'000'000;
  bool closed = false;
  for (const l7fuzz::Chunk& chunk : l7fuzz::splitChunks(data, size)) {
    const auto dir = static_cast<l7::Direction>(chunk.direction);
    ts += 1000;
    switch (chunk.action) {
      case l7fuzz::Action::kData: {
        // An exact-size heap copy, so ASan sees any read past the chunk.
        std::unique_ptr<uint8_t[]> copy(new uint8_t[chunk.bytes.size()]);
        std::memcpy(copy.get(), chunk.bytes.data(), chunk.bytes.size());
        conn.data(dir, offset[chunk.direction], static_cast<uint32_t>(offset[chunk.direction]), ts,
                  l7::Bytes(copy.get(), chunk.bytes.size()));
        offset[chunk.direction] += chunk.bytes.size();
        break;
      }
      case l7fuzz::Action::kGap: {
        uint64_t missing = 0;
        for (size_t i = 0; i < chunk.bytes.size() && i < 3; ++i) missing |= uint64_t{chunk.bytes[i]} << (8 * i);
        conn.gap(dir, missing);
        offset[chunk.direction] += missing;
        break;
      }
      case l7fuzz::Action::kEof:
        conn.endOfStream(dir);
        break;
      case l7fuzz::Action::kClose:
        closed = true;
        break;
    }
    // Memory per connection stays under the caps: each direction holds at
    // most one capped frame prefix.
    if (conn.bufferedBytes() > 2 * size_t{options.limits.max_buffered_bytes}) {
      std::fprintf(stderr, "fuzz invariant violated: %zu bytes buffered\n", conn.bufferedBytes());
      std::abort();
    }
    if (conn.pendingRequests() > options.max_pending_per_connection) {
      std::fprintf(stderr, "fuzz invariant violated: %zu pending requests\n", conn.pendingRequests());
      std::abort();
    }
    if (closed) break;
    conn.expire(ts);
  }
  conn.close();
  output.releaseAll();
  // The decoder kept the consume/need-more contract (consumed <= given,
  // needed within the cap) on every call.
  if (counters.contract_violations != 0) {
    std::fprintf(stderr, "fuzz invariant violated: decoder broke the feed contract %llu times\n",
                 static_cast<unsigned long long>(counters.contract_violations));
    std::abort();
  }
  return 0;
}

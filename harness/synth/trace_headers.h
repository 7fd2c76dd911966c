// Random trace context for synthesized messages: W3C traceparent and
// SkyWalking sw8 header values, with the trace_id / trace_id_2 / span_id the
// contract derives from them (spec/skywalking-reference.md), computed here
// from what was written, not by the parsers under test.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "synth/packetizer.h"

namespace l7h::synth {

struct SynthTrace {
  // (header name, value) in the order they go on the wire; empty: none.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string trace_id, trace_id_2, span_id;
};

// `digits` lowercase hex digits, never all zero (all-zero ids are invalid).
std::string randomHex(Rng& rng, size_t digits);
std::string base64Encode(const std::string& in);

// None, traceparent, sw8 or both (a quarter each). With `any_order` the two
// headers may come in either order; otherwise traceparent is first.
SynthTrace randomTrace(Rng& rng, bool any_order);

}  // namespace l7h::synth

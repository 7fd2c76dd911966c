#include "synth/trace_headers.h"

namespace l7h::synth {

std::string randomHex(Rng& rng, size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < digits; ++i) s.push_back(kHex[rng.below(16)]);
  if (s.find_first_not_of('0') == std::string::npos) s.back() = '1';
  return s;
}

std::string base64Encode(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

SynthTrace randomTrace(Rng& rng, bool any_order) {
  struct Parsed {
    std::string name, value, trace_id, span_id;
  };
  std::vector<Parsed> parsed;
  const uint64_t choice = rng.below(4);  // none, traceparent, sw8, both
  if (choice == 1 || choice == 3) {
    const std::string id = randomHex(rng, 32), parent = randomHex(rng, 16);
    parsed.push_back({"traceparent", "00-" + id + "-" + parent + "-01", id, parent});
  }
  if (choice == 2 || choice == 3) {
    // sw8: sample-traceId-segmentId-spanId-service-instance-endpoint-address,
    // the ids base64-encoded; span_id is "<segment>-<span>".
    const std::string id = randomHex(rng, 32) + "." + std::to_string(rng.below(100));
    const std::string segment = randomHex(rng, 32);
    const std::string span = std::to_string(rng.below(20));
    parsed.push_back({"sw8",
                      "1-" + base64Encode(id) + "-" + base64Encode(segment) + "-" + span + "-" + base64Encode("svc") +
                          "-" + base64Encode("inst") + "-" + base64Encode("/ep") + "-" +
                          base64Encode("127.0.0.1:4222"),
                      id, segment + "-" + span});
  }
  if (any_order && parsed.size() == 2 && rng.below(2) == 0) std::swap(parsed[0], parsed[1]);
  SynthTrace t;
  for (const Parsed& p : parsed) {
    t.headers.emplace_back(p.name, p.value);
    if (t.trace_id.empty()) {
      t.trace_id = p.trace_id;
      t.span_id = p.span_id;
    } else {
      t.trace_id_2 = p.trace_id;
    }
  }
  return t;
}

}  // namespace l7h::synth

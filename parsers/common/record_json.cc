#include "l7/record_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>

namespace l7 {

const std::string_view kRecordKeys[] = {
    "time",
    "start_time",
    "end_time",
    "flow_id",
    "ip4_0",
    "ip4_1",
    "ip6_0",
    "ip6_1",
    "is_ipv4",
    "protocol",
    "client_port",
    "server_port",
    "l7_protocol",
    "l7_protocol_str",
    "version",
    "type",
    "request_type",
    "request_domain",
    "request_resource",
    "request_id",
    "endpoint",
    "response_status",
    "response_code",
    "response_exception",
    "response_result",
    "trace_id",
    "trace_id_2",
    "span_id",
    "parent_span_id",
    "span_kind",
    "x_request_id_0",
    "x_request_id_1",
    "app_service",
    "app_instance",
    "observation_point",
    "signal_source",
    "response_duration",
    "request_length",
    "response_length",
    "captured_request_byte",
    "captured_response_byte",
    "req_tcp_seq",
    "resp_tcp_seq",
    "attribute_names",
    "attribute_values",
    "events",
};
const size_t kRecordKeyCount = sizeof(kRecordKeys) / sizeof(kRecordKeys[0]);

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlongs, surrogates and code points above U+10FFFF are invalid).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  const size_t left = s.size() - i;
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    const uint8_t b1 = byte(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b0 == 0xED && b1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const uint8_t b1 = byte(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void appendHexEscape(uint8_t b, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
  out.append(esc, 6);
}

void appendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out.append(buf, end);
}

template <typename T>
void appendOptional(const std::optional<T>& v, std::string& out) {
  if (v) {
    appendInt(static_cast<int64_t>(*v), out);
  } else {
    out.append("null");
  }
}

// Each field is written as `"key":value`; keys come from kRecordKeys in
// order, so the writer and the published order cannot drift apart.
class FieldWriter {
 public:
  explicit FieldWriter(std::string& out) : out_(out) {}
  void key() {
    out_.push_back(index_ == 0 ? '{' : ',');
    out_.push_back('"');
    out_.append(kRecordKeys[index_++]);
    out_.append("\":");
  }
  void str(std::string_view v) {
    key();
    appendJsonString(v, out_);
  }
  void num(int64_t v) {
    key();
    appendInt(v, out_);
  }
  template <typename T>
  void opt(const std::optional<T>& v) {
    key();
    appendOptional(v, out_);
  }
  std::string& out() { return out_; }
  size_t written() const { return index_; }

 private:
  std::string& out_;
  size_t index_ = 0;
};

}  // namespace

void appendJsonString(std::string_view text, std::string& out) {
  out.push_back('"');
  size_t run_start = 0;
  size_t i = 0;
  auto flush = [&](size_t upto) {
    if (upto > run_start) out.append(text.data() + run_start, upto - run_start);
  };
  while (i < text.size()) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
      ++i;
      continue;
    }
    if (b >= 0x80) {
      const size_t n = utf8SequenceLength(text, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    flush(i);
    switch (b) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: appendHexEscape(b, out); break;
    }
    ++i;
    run_start = i;
  }
  flush(text.size());
  out.push_back('"');
}

void appendRecordJson(const Record& r, std::string& out) {
  FieldWriter w(out);
  const L7Fields& f = r.f;
  w.num(r.end_time_us / 1000000);
  w.num(r.start_time_us);
  w.num(r.end_time_us);
  w.num(static_cast<int64_t>(r.flow_id));
  w.str(r.ip4_0);
  w.str(r.ip4_1);
  w.str(r.ip6_0);
  w.str(r.ip6_1);
  w.num(r.is_ipv4 ? 1 : 0);
  w.num(r.protocol);
  w.num(r.client_port);
  w.num(r.server_port);
  w.num(static_cast<int64_t>(r.l7_protocol));
  w.str(r.l7_protocol_str);
  w.str(f.version);
  w.num(static_cast<int64_t>(r.type));
  w.str(f.request_type);
  w.str(f.request_domain);
  w.str(f.request_resource);
  w.opt(f.request_id);
  w.str(f.endpoint);
  w.num(static_cast<int64_t>(f.response_status));
  w.opt(f.response_code);
  w.str(f.response_exception);
  w.str(f.response_result);
  w.str(f.trace_id);
  w.str(f.trace_id_2);
  w.str(f.span_id);
  w.str(f.parent_span_id);
  w.opt(f.span_kind);
  w.str(f.x_request_id_0);
  w.str(f.x_request_id_1);
  w.str(r.app_service);
  w.str(r.app_instance);
  w.str(r.observation_point);
  w.num(r.signal_source);
  w.num(r.response_duration_us);
  w.opt(f.request_length);
  w.opt(f.response_length);
  w.num(r.captured_request_byte);
  w.num(r.captured_response_byte);
  w.num(r.req_tcp_seq);
  w.num(r.resp_tcp_seq);

  // Attributes sorted by name (stable, so equal names keep their order)
  // without copying them: sort an index array on the stack when small.
  const auto& attrs = f.attributes;
  std::array<uint16_t, 32> small{};
  std::vector<uint16_t> large;
  uint16_t* order = small.data();
  const size_t n = std::min<size_t>(attrs.size(), 65535);
  if (n > small.size()) {
    large.resize(n);
    order = large.data();
  }
  std::iota(order, order + n, uint16_t{0});
  std::stable_sort(order, order + n,
                   [&](uint16_t a, uint16_t b) { return attrs[a].name < attrs[b].name; });
  w.key();
  out.push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    appendJsonString(attrs[order[i]].name, out);
  }
  out.push_back(']');
  w.key();
  out.push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    appendJsonString(attrs[order[i]].value, out);
  }
  out.push_back(']');
  w.str(f.events);
  out.append("}\n");
}

}  // namespace l7

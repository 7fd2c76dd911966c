#include "skywalking/segment_mapper.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <span>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace l7h::skywalking {
namespace {

namespace json = boost::json;

// SpanType, SpanLayer (Tracing.proto). Unknown numbers are kept as numbers.
constexpr int kEntry = 0, kExit = 1, kLocal = 2;
constexpr int kLayerMq = 4;

struct Failure {
  std::string field;
  std::string reason;
};

// ProtoJSON int64: a JSON number (integral, or a double with no fraction,
// as nginx-lua's ngx.now()*1000 gives) or a decimal string.
std::optional<int64_t> asInt64(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
  if (v.is_double()) {
    const double d = v.as_double();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return static_cast<int64_t>(std::llround(d));
    return std::nullopt;
  }
  if (v.is_string()) {
    const std::string_view s = v.as_string();
    int64_t out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

// An enum given by name or number.
std::optional<int> asEnum(const json::value& v, std::initializer_list<std::string_view> names) {
  if (v.is_string()) {
    int i = 0;
    for (std::string_view n : names) {
      if (v.as_string() == n) return i;
      ++i;
    }
    return std::nullopt;
  }
  const auto n = asInt64(v);
  if (n && *n >= INT32_MIN && *n <= INT32_MAX) return static_cast<int>(*n);
  return std::nullopt;
}

const json::value* member(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;  // null = unset
  return &it->value();
}

// Tag values are strings, but some agents send numbers (nginx-lua's
// http.status_code): keep their JSON text.
std::string tagText(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Path part of a URL ("http://host:8080/a/b?c" → "/a/b?c"); empty when the
// value is not a URL (DeepFlow's ParseUrlPath rule: "://" and a host first).
std::string urlPath(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme + 3 >= url.size()) return {};
  const size_t slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string("/") : std::string(url.substr(slash));
}

std::string_view httpReason(int64_t code) {
  switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "";
  }
}

struct Tags {
  std::vector<l7::Attribute> list;
  const std::string* find(std::string_view key) const {
    for (const auto& a : list) {
      if (a.name == key) return &a.value;
    }
    return nullptr;
  }
  const std::string* first(std::initializer_list<std::string_view> keys) const {
    for (std::string_view k : keys) {
      if (const std::string* v = find(k)) return v;
    }
    return nullptr;
  }
};

std::optional<Failure> mapSpan(const json::object& segment_fields, const std::string& trace_id,
                               const std::string& segment_id, const json::object& span, const MapLimits& limits,
                               l7::Record& r) {
  (void)segment_fields;
  // spanId, parentSpanId (int32, default 0), times (int64 ms).
  int64_t span_id = 0, parent = 0, start_ms = 0, end_ms = 0;
  if (const auto* v = member(span, "spanId")) {
    const auto n = asInt64(*v);
    if (!n) return Failure{"spanId", "not an integer"};
    span_id = *n;
  }
  if (const auto* v = member(span, "parentSpanId")) {
    const auto n = asInt64(*v);
    if (!n) return Failure{"parentSpanId", "not an integer"};
    parent = *n;
  }
  if (const auto* v = member(span, "startTime")) {
    const auto n = asInt64(*v);
    if (!n) return Failure{"startTime", "not an int64 (number or decimal string)"};
    start_ms = *n;
  }
  if (const auto* v = member(span, "endTime")) {
    const auto n = asInt64(*v);
    if (!n) return Failure{"endTime", "not an int64 (number or decimal string)"};
    end_ms = *n;
  }
  // Microseconds must fit an int64 with room to subtract.
  if (std::llabs(start_ms) > 9'000'000'000'000'000 / 1000 || std::llabs(end_ms) > 9'000'000'000'000'000 / 1000)
    return Failure{"startTime", "out of range"};
  int span_type = kEntry, layer = 0;
  if (const auto* v = member(span, "spanType")) {
    const auto e = asEnum(*v, {"Entry", "Exit", "Local"});
    if (!e) return Failure{"spanType", "not a SpanType name or number"};
    span_type = *e;
  }
  if (const auto* v = member(span, "spanLayer")) {
    const auto e = asEnum(*v, {"Unknown", "Database", "RPCFramework", "Http", "MQ", "Cache", "FAAS", "GenAI"});
    if (!e) return Failure{"spanLayer", "not a SpanLayer name or number"};
    layer = *e;
  }
  bool is_error = false;
  if (const auto* v = member(span, "isError")) {
    if (!v->is_bool()) return Failure{"isError", "not a boolean"};
    is_error = v->as_bool();
  }
  std::string operation;
  if (const auto* v = member(span, "operationName")) {
    if (!v->is_string()) return Failure{"operationName", "not a string"};
    operation = std::string(v->as_string());
  }
  Tags tags;
  if (const auto* v = member(span, "tags")) {
    if (!v->is_array()) return Failure{"tags", "not an array"};
    if (v->as_array().size() > limits.max_tags_per_span) return Failure{"tags", "more tags than the cap"};
    size_t i = 0;
    for (const json::value& t : v->as_array()) {
      const std::string field = "tags[" + std::to_string(i++) + "]";
      if (!t.is_object()) return Failure{field, "not an object"};
      const auto* key = member(t.as_object(), "key");
      if (key == nullptr || !key->is_string()) return Failure{field + ".key", "missing or not a string"};
      const auto* value = member(t.as_object(), "value");
      tags.list.push_back({std::string(key->as_string()), value == nullptr ? std::string() : tagText(*value)});
    }
  }
  // parent_span_id: inside the segment, else the first ref's parent.
  std::string parent_span_id;
  if (parent != -1) {
    parent_span_id = segment_id + "-" + std::to_string(parent);
  } else if (const auto* refs = member(span, "refs")) {
    if (!refs->is_array()) return Failure{"refs", "not an array"};
    if (!refs->as_array().empty()) {
      const json::value& ref = refs->as_array().front();
      if (!ref.is_object()) return Failure{"refs[0]", "not an object"};
      const auto* seg = member(ref.as_object(), "parentTraceSegmentId");
      if (seg == nullptr || !seg->is_string() || seg->as_string().empty())
        return Failure{"refs[0].parentTraceSegmentId", "missing or not a string"};
      int64_t ref_span = 0;
      if (const auto* ps = member(ref.as_object(), "parentSpanId")) {
        const auto n = asInt64(*ps);
        if (!n) return Failure{"refs[0].parentSpanId", "not an integer"};
        ref_span = *n;
      }
      if (const auto* rt = member(ref.as_object(), "refType")) {
        if (!asEnum(*rt, {"CrossProcess", "CrossThread"})) return Failure{"refs[0].refType", "not a RefType"};
      }
      parent_span_id = std::string(seg->as_string()) + "-" + std::to_string(ref_span);
    }
  }

  r.signal_source = 4;
  r.type = l7::RecordType::kSession;
  r.protocol = 6;
  r.is_ipv4 = true;
  r.start_time_us = start_ms * 1000;
  r.end_time_us = end_ms * 1000;
  r.response_duration_us = std::max<int64_t>(0, r.end_time_us - r.start_time_us);
  l7::L7Fields& f = r.f;
  f.trace_id = trace_id;
  f.span_id = segment_id + "-" + std::to_string(span_id);
  f.parent_span_id = parent_span_id;
  f.endpoint = operation;
  f.span_kind = span_type == kEntry ? (layer == kLayerMq ? 5 : 2)
                : span_type == kExit ? (layer == kLayerMq ? 4 : 3)
                                     : 1;
  r.observation_point = span_type == kExit ? "c-app" : span_type == kEntry ? "s-app" : "app";

  // Protocol: HTTP when any tag is an http.* tag, else the first protocol tag.
  const bool http = std::any_of(tags.list.begin(), tags.list.end(), [](const l7::Attribute& a) { return startsWith(a.name, "http."); });
  if (http) {
    r.l7_protocol = l7::L7Protocol::kHttp1;
    r.l7_protocol_str = "HTTP";
  } else if (const std::string* p = tags.first({"db.type", "http.scheme", "db.system", "rpc.system", "messaging.system",
                                                 "messaging.protocol"})) {
    std::string canonical;
    r.l7_protocol = static_cast<l7::L7Protocol>(l7ProtocolFor(*p, canonical));
    r.l7_protocol_str = canonical.empty() ? *p : canonical;
  }
  if (const std::string* v = tags.find("http.flavor")) f.version = *v;
  if (const std::string* v = tags.first({"http.method", "cache.cmd", "db.operation", "rpc.method"})) f.request_type = *v;
  if (const std::string* v = tags.first({"http.host", "db.connection_string"})) f.request_domain = *v;
  f.request_resource = operation;
  if (const std::string* v = tags.find("http.target")) {
    f.request_resource = *v;
  } else if (const std::string* u = tags.first({"http.url", "url"}); u != nullptr && !urlPath(*u).empty()) {
    f.request_resource = urlPath(*u);
  } else if (const std::string* o = tags.first({"db.statement", "messaging.url", "rpc.service", "cache.key"})) {
    f.request_resource = *o;
  }
  // response_code: http.status_code first; integers only.
  for (std::string_view key : {"http.status_code", "status_code", "status.code", "http.status.code", "http.status"}) {
    const std::string* v = tags.find(key);
    if (v == nullptr) continue;
    int64_t code = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), code);
    if (ec == std::errc() && end == v->data() + v->size()) {
      f.response_code = code;
      break;
    }
  }
  if (f.response_code) {
    const int64_t c = *f.response_code;
    f.response_status = c >= 400 && c <= 499   ? l7::ResponseStatus::kClientError
                        : c >= 500 && c <= 600 ? l7::ResponseStatus::kServerError
                                               : l7::ResponseStatus::kOk;
    if (c >= 400) f.response_exception = std::string(httpReason(c));
  } else {
    f.response_status = is_error ? l7::ResponseStatus::kServerError : l7::ResponseStatus::kOk;
  }
  f.attributes = std::move(tags.list);
  return std::nullopt;
}

// The mapping of a list of segments, whichever transport brought them;
// `first_number` numbers them in error messages (a stream's nth message).
MapResult mapSegments(std::span<const json::value> segments, const MapLimits& limits, size_t first_number) {
  MapResult result;
  struct Keyed {
    int64_t start;
    size_t segment, span;
    l7::Record record;
  };
  std::vector<Keyed> keyed;
  for (size_t si = 0; si < segments.size(); ++si) {
    const json::value& seg = segments[si];
    std::string where = "segment " + std::to_string(si + first_number);
    if (!seg.is_object()) {
      result.errors.push_back({where, "not a JSON object"});
      continue;
    }
    const json::object& o = seg.as_object();
    const auto* trace = member(o, "traceId");
    const auto* segment_id = member(o, "traceSegmentId");
    if (segment_id != nullptr && segment_id->is_string()) where += " (id " + std::string(segment_id->as_string()) + ")";
    if (trace == nullptr || !trace->is_string() || trace->as_string().empty()) {
      result.errors.push_back({where + ": traceId", "missing or not a string"});
      continue;
    }
    if (segment_id == nullptr || !segment_id->is_string() || segment_id->as_string().empty()) {
      result.errors.push_back({where + ": traceSegmentId", "missing or not a string"});
      continue;
    }
    std::string service, instance;
    if (const auto* v = member(o, "service"); v != nullptr) {
      if (!v->is_string()) {
        result.errors.push_back({where + ": service", "not a string"});
        continue;
      }
      service = std::string(v->as_string());
    }
    if (const auto* v = member(o, "serviceInstance"); v != nullptr) {
      if (!v->is_string()) {
        result.errors.push_back({where + ": serviceInstance", "not a string"});
        continue;
      }
      instance = std::string(v->as_string());
    }
    const auto* spans = member(o, "spans");
    if (spans == nullptr) continue;  // an empty segment maps to nothing
    if (!spans->is_array()) {
      result.errors.push_back({where + ": spans", "not an array"});
      continue;
    }
    if (spans->as_array().size() > limits.max_spans_per_segment) {
      result.errors.push_back({where + ": spans", "more spans than the cap"});
      continue;
    }
    const std::string trace_id(trace->as_string());
    const std::string seg_id(segment_id->as_string());
    size_t span_index = 0;
    for (const json::value& span : spans->as_array()) {
      ++span_index;
      const std::string span_where = where + ", span " + std::to_string(span_index);
      if (!span.is_object()) {
        result.errors.push_back({span_where, "not a JSON object"});
        continue;
      }
      l7::Record r;
      if (auto failure = mapSpan(o, trace_id, seg_id, span.as_object(), limits, r)) {
        result.errors.push_back({span_where + ": " + failure->field, failure->reason});
        continue;
      }
      r.app_service = service;
      r.app_instance = instance;
      keyed.push_back({r.start_time_us, si, span_index, std::move(r)});
    }
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.start, a.segment, a.span) < std::tie(b.start, b.segment, b.span);
  });
  uint64_t order = 0;
  for (Keyed& k : keyed) {
    k.record.seen_order = ++order;
    result.records.push_back(std::move(k.record));
  }
  return result;
}

}  // namespace

int l7ProtocolFor(std::string_view name, std::string& canonical) {
  struct Entry {
    std::string_view key;
    std::string_view name;
    int number;
  };
  // Exact (case-insensitive) names and the common aliases agents write.
  static constexpr Entry kTable[] = {
      {"http", "HTTP", 20},          {"https", "HTTP", 20},         {"http2", "HTTP2", 21},
      {"h2", "HTTP2", 21},           {"dubbo", "Dubbo", 40},        {"grpc", "gRPC", 41},
      {"mysql", "MySQL", 60},        {"mariadb", "MySQL", 60},      {"postgresql", "PostgreSQL", 61},
      {"postgres", "PostgreSQL", 61}, {"redis", "Redis", 80},       {"mongodb", "MongoDB", 81},
      {"memcached", "Memcached", 82}, {"kafka", "Kafka", 100},      {"mqtt", "MQTT", 101},
      {"amqp", "AMQP", 102},         {"rabbitmq", "AMQP", 102},     {"openwire", "OpenWire", 103},
      {"activemq", "OpenWire", 103}, {"nats", "NATS", 104},         {"pulsar", "Pulsar", 105},
      {"zmtp", "ZMTP", 106},         {"zeromq", "ZMTP", 106},       {"rocketmq", "RocketMQ", 107},
  };
  const std::string key = lower(name);
  for (const Entry& e : kTable) {
    if (key == e.key) {
      canonical = std::string(e.name);
      return e.number;
    }
  }
  canonical.clear();
  return 0;
}

MapResult mapSegmentsJson(std::string_view body, const MapLimits& limits) {
  MapResult result;
  if (body.size() > limits.max_body_bytes) {
    result.errors.push_back({"body", "larger than the " + std::to_string(limits.max_body_bytes) + "-byte cap"});
    return result;
  }
  json::parse_options options;
  options.max_depth = limits.max_depth;
  options.allow_invalid_utf8 = true;  // tag text is arbitrary bytes; the writer escapes it
  boost::system::error_code ec;
  json::value root = json::parse(body, ec, {}, options);
  if (ec) {
    result.errors.push_back({"body", "not JSON: " + ec.message()});
    return result;
  }
  if (root.is_array()) return mapSegments(std::span<const json::value>(root.as_array().data(), root.as_array().size()), limits, 1);
  return mapSegments(std::span<const json::value>(&root, 1), limits, 1);
}

MapResult mapSegmentValues(const boost::json::array& segments, const MapLimits& limits, size_t first_number) {
  return mapSegments(std::span<const json::value>(segments.data(), segments.size()), limits, first_number);
}

}  // namespace l7h::skywalking

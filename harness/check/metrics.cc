#include "check/metrics.h"

#include <algorithm>

#include <map>
#include <sstream>
#include <tuple>

#include <boost/json.hpp>

namespace l7h::check {

struct MetricsAccumulator::Counts {
  int64_t request = 0, response = 0, request_length = 0, response_length = 0, log_count = 0;
  int64_t client_error = 0, server_error = 0, timeout = 0;

  void add(const boost::json::object& r) {
    auto num = [&](std::string_view k) -> int64_t {
      auto it = r.find(k);
      return it != r.end() && it->value().is_int64() ? it->value().as_int64() : 0;
    };
    const int64_t type = num("type");
    const bool has_request = type == 0 || (type == 2 && num("captured_request_byte") > 0);
    const bool has_response = type == 1 || (type == 2 && num("captured_response_byte") > 0);
    ++log_count;
    request += has_request ? 1 : 0;
    response += has_response ? 1 : 0;
    request_length += num("request_length");
    response_length += num("response_length");
    const int64_t status = num("response_status");
    client_error += status == 4 ? 1 : 0;
    server_error += status == 3 ? 1 : 0;
    timeout += status == 2 ? 1 : 0;
  }

  boost::json::object toJson() const {
    auto ratio = [&](int64_t n) { return response == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(response); };
    const int64_t error = client_error + server_error;
    boost::json::object o;
    o["request"] = request;
    o["response"] = response;
    o["session_length"] = request_length + response_length;
    o["request_length"] = request_length;
    o["response_length"] = response_length;
    o["log_count"] = log_count;
    o["error"] = error;
    o["client_error"] = client_error;
    o["server_error"] = server_error;
    o["error_ratio"] = ratio(error);
    o["client_error_ratio"] = ratio(client_error);
    o["server_error_ratio"] = ratio(server_error);
    o["timeout"] = timeout;
    return o;
  }
};

namespace {

std::string str(const boost::json::object& r, std::string_view k) {
  auto it = r.find(k);
  return it != r.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}
int64_t num(const boost::json::object& r, std::string_view k) {
  auto it = r.find(k);
  return it != r.end() && it->value().is_int64() ? it->value().as_int64() : 0;
}

void pretty(std::ostringstream& s, const boost::json::value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      s << "{}";
      return;
    }
    s << "{\n";
    size_t i = 0;
    for (const auto& kv : o) {
      s << pad << "  " << boost::json::serialize(boost::json::value(kv.key())) << ": ";
      pretty(s, kv.value(), indent + 1);
      s << (++i < o.size() ? ",\n" : "\n");
    }
    s << pad << "}";
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) {
      s << "[]";
      return;
    }
    s << "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      s << pad << "  ";
      pretty(s, a[i], indent + 1);
      s << (i + 1 < a.size() ? ",\n" : "\n");
    }
    s << pad << "]";
  } else if (v.is_double()) {
    // Fixed precision keeps goldens stable across libraries.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", v.as_double());
    s << buf;
  } else {
    s << boost::json::serialize(v);
  }
}

}  // namespace

MetricsAccumulator::MetricsAccumulator(MemoryBudget* budget, uint64_t max_bytes)
    : budget_(budget), max_bytes_(max_bytes) {}

MetricsAccumulator::~MetricsAccumulator() {
  if (budget_ != nullptr) budget_->sub(MemoryHolder::kMetrics, bytes_);
}

void MetricsAccumulator::add(const l7::Record& record) { add(recordToJson(record)); }

void MetricsAccumulator::add(const boost::json::object& r) {
  const std::string proto = str(r, "l7_protocol_str");
  per_protocol_[proto].add(r);
  const std::string server_ip = num(r, "is_ipv4") == 1 ? str(r, "ip4_1") : str(r, "ip6_1");
  EndpointKey key{proto, server_ip, num(r, "server_port"), str(r, "endpoint")};
  auto it = per_endpoint_.find(key);
  if (it == per_endpoint_.end()) {
    // A map node with its counts and key strings, with allocator headers.
    const uint64_t cost = sizeof(EndpointKey) + sizeof(Counts) + 64 + std::get<1>(key).size() +
                          std::get<3>(key).size() + proto.size();
    if (bytes_ + cost > max_bytes_) {
      ++folded_;
      key = EndpointKey{proto, "", 0, "(other endpoints)"};
      it = per_endpoint_.find(key);
    }
    if (it == per_endpoint_.end()) {
      it = per_endpoint_.emplace(std::move(key), Counts{}).first;
      bytes_ += cost;
      if (budget_ != nullptr) budget_->add(MemoryHolder::kMetrics, cost);
    }
  }
  it->second.add(r);
}

boost::json::value MetricsAccumulator::result() const {
  boost::json::object out;
  boost::json::object protocols;
  for (const auto& [proto, c] : per_protocol_) protocols[proto] = c.toJson();
  out["protocols"] = std::move(protocols);
  boost::json::array endpoints;
  for (const auto& [key, c] : per_endpoint_) {
    boost::json::object e;
    e["l7_protocol_str"] = std::get<0>(key);
    e["server_ip"] = std::get<1>(key);
    e["server_port"] = std::get<2>(key);
    e["endpoint"] = std::get<3>(key);
    for (const auto& kv : c.toJson()) e[kv.key()] = kv.value();
    endpoints.push_back(std::move(e));
  }
  out["endpoints"] = std::move(endpoints);
  return out;
}

boost::json::value computeMetrics(const JsonRecords& records) {
  MetricsAccumulator m(nullptr, UINT64_MAX);
  for (const auto& r : records) m.add(r);
  return m.result();
}

std::string metricsToText(const boost::json::value& metrics) {
  std::ostringstream s;
  pretty(s, metrics, 0);
  s << "\n";
  return s.str();
}

void printMetricsTable(FILE* out, const boost::json::value& metrics, size_t max_endpoints) {
  // One row per protocol, then per (server ip, server port, endpoint): the
  // mapping tables' metric rows, ratios as percentages of responses.
  std::fprintf(out, "%-44s %7s %7s %7s %6s %6s %6s %7s %7s %7s %10s %10s %10s\n", "metrics", "logs", "request",
               "response", "error", "client", "server", "error%", "client%", "server%", "req_bytes", "resp_bytes",
               "sess_bytes");
  auto row = [&](const std::string& label, const boost::json::object& m) {
    auto n = [&](std::string_view k) { return static_cast<long long>(m.at(k).as_int64()); };
    auto pct = [&](std::string_view k) { return 100.0 * m.at(k).to_number<double>(); };
    std::fprintf(out, "%-44s %7lld %7lld %7lld %6lld %6lld %6lld %6.1f%% %6.1f%% %6.1f%% %10lld %10lld %10lld\n",
                 label.substr(0, 44).c_str(), n("log_count"), n("request"), n("response"), n("error"),
                 n("client_error"), n("server_error"), pct("error_ratio"), pct("client_error_ratio"),
                 pct("server_error_ratio"), n("request_length"), n("response_length"), n("session_length"));
  };
  for (const auto& kv : metrics.as_object().at("protocols").as_object())
    row(kv.key().empty() ? "(no protocol)" : std::string(kv.key()), kv.value().as_object());
  // The busiest endpoints first (stable: ties keep the JSON's order).
  const auto& endpoints = metrics.as_object().at("endpoints").as_array();
  std::vector<const boost::json::object*> busiest;
  for (const auto& e : endpoints) busiest.push_back(&e.as_object());
  std::stable_sort(busiest.begin(), busiest.end(), [](const auto* a, const auto* b) {
    return a->at("log_count").as_int64() > b->at("log_count").as_int64();
  });
  if (busiest.size() > max_endpoints) busiest.resize(max_endpoints);
  for (const boost::json::object* e : busiest) {
    const auto& m = *e;
    const std::string ip(m.at("server_ip").as_string());
    const std::string endpoint(m.at("endpoint").as_string());
    std::string label = "  " + std::string(m.at("l7_protocol_str").as_string()) + " " +
                        (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" +
                        std::to_string(m.at("server_port").to_number<int64_t>()) + " " +
                        (endpoint.empty() ? "(no endpoint)" : endpoint);
    row(label, m);
  }
  if (endpoints.size() > max_endpoints) {
    std::fprintf(out, "  ... %zu quieter endpoints (all of them: l7conform replay --metrics FILE)\n",
                 endpoints.size() - max_endpoints);
  }
}

}  // namespace l7h::check

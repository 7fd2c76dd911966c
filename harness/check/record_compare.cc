#include "check/record_compare.h"

#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "l7/record_json.h"

namespace l7h::check {
namespace {

std::string valueText(const boost::json::value& v) { return boost::json::serialize(v); }

int64_t intField(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return -1;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().as_uint64());
  return -1;
}

using IdentityKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;
IdentityKey identity(const boost::json::object& o) {
  return {intField(o, "start_time"), intField(o, "flow_id"), intField(o, "type"), intField(o, "req_tcp_seq"),
          intField(o, "resp_tcp_seq")};
}

std::vector<FieldDiff> diffFields(const boost::json::object& e, const boost::json::object& a) {
  std::vector<FieldDiff> out;
  for (const auto& kv : e) {
    auto it = a.find(kv.key());
    if (it == a.end()) {
      out.push_back({std::string(kv.key()), valueText(kv.value()), "(absent)"});
    } else if (kv.value() != it->value()) {
      out.push_back({std::string(kv.key()), valueText(kv.value()), valueText(it->value())});
    }
  }
  for (const auto& kv : a) {
    if (e.find(kv.key()) == e.end()) out.push_back({std::string(kv.key()), "(absent)", valueText(kv.value())});
  }
  return out;
}

}  // namespace

bool parseJsonLines(std::string_view text, JsonRecords& out, std::string& error) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec) {
      error = "line " + std::to_string(line_no) + ": not JSON (" + ec.message() + ")";
      return false;
    }
    if (!v.is_object()) {
      error = "line " + std::to_string(line_no) + ": not a JSON object";
      return false;
    }
    out.push_back(std::move(v.as_object()));
  }
  return true;
}

bool loadJsonLines(const std::string& path, JsonRecords& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!parseJsonLines(buffer.str(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

boost::json::object recordToJson(const l7::Record& record) {
  std::string line;
  l7::appendRecordJson(record, line);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  return ec ? boost::json::object() : std::move(v.as_object());
}

std::string canonicalLine(const boost::json::object& record) { return boost::json::serialize(record); }

CompareResult compareRecords(const JsonRecords& expected, const JsonRecords& actual) {
  CompareResult r;
  r.expected = expected.size();
  r.actual = actual.size();
  std::vector<bool> used(actual.size(), false);
  std::vector<long> partner(expected.size(), -1);
  std::multimap<IdentityKey, size_t> by_identity;
  for (size_t i = 0; i < actual.size(); ++i) by_identity.emplace(identity(actual[i]), i);
  for (size_t i = 0; i < expected.size(); ++i) {
    auto it = by_identity.find(identity(expected[i]));
    if (it != by_identity.end()) {
      partner[i] = static_cast<long>(it->second);
      used[it->second] = true;
      by_identity.erase(it);
    }
  }
  // Second pass: leftovers with the same start_time pair by position.
  std::multimap<int64_t, size_t> by_start;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!used[i]) by_start.emplace(intField(actual[i], "start_time"), i);
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (partner[i] >= 0) continue;
    auto it = by_start.find(intField(expected[i], "start_time"));
    if (it != by_start.end()) {
      partner[i] = static_cast<long>(it->second);
      used[it->second] = true;
      by_start.erase(it);
    }
  }
  // Last pass: whatever is still unpaired pairs up in order, so a capture
  // whose timestamps or sequence numbers all moved shows field diffs, and
  // only a difference in count shows as missing or extra records.
  {
    size_t next_actual = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (partner[i] >= 0) continue;
      while (next_actual < actual.size() && used[next_actual]) ++next_actual;
      if (next_actual == actual.size()) break;
      partner[i] = static_cast<long>(next_actual);
      used[next_actual] = true;
    }
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (partner[i] < 0) {
      ++r.missing;
      r.missing_indexes.push_back(i);
      continue;
    }
    auto fields = diffFields(expected[i], actual[static_cast<size_t>(partner[i])]);
    if (fields.empty()) {
      ++r.matched;
    } else {
      ++r.mismatched;
      r.diffs.push_back({i, static_cast<size_t>(partner[i]), std::move(fields)});
    }
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!used[i]) {
      ++r.extra;
      r.extra_indexes.push_back(i);
    }
  }
  return r;
}

namespace {

std::string describe(const boost::json::object& o) {
  auto str = [&](std::string_view k) {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
  };
  std::ostringstream s;
  s << "start_time=" << intField(o, "start_time") << " flow=" << intField(o, "flow_id") << " type="
    << intField(o, "type") << " " << str("l7_protocol_str") << " " << str("request_type");
  const std::string res = str("request_resource");
  if (!res.empty()) s << " " << res;
  return s.str();
}

}  // namespace

std::string formatComparison(std::string_view name, const CompareResult& r, const JsonRecords& expected,
                             const JsonRecords& actual, size_t max_records) {
  std::ostringstream s;
  size_t shown = 0;
  for (const RecordDiff& d : r.diffs) {
    if (shown++ >= max_records) break;
    s << name << ": record " << d.expected_index + 1 << " differs (" << describe(expected[d.expected_index])
      << ")\n";
    for (const FieldDiff& f : d.fields) {
      s << "    " << f.key << ": expected " << f.expected << ", got " << f.actual << "\n";
    }
  }
  for (size_t i : r.missing_indexes) {
    if (shown++ >= max_records) break;
    s << name << ": record " << i + 1 << " missing (" << describe(expected[i]) << ")\n";
  }
  for (size_t i : r.extra_indexes) {
    if (shown++ >= max_records) break;
    s << name << ": extra record " << i + 1 << " (" << describe(actual[i]) << ")\n";
  }
  const size_t total = r.diffs.size() + r.missing_indexes.size() + r.extra_indexes.size();
  if (total > max_records) s << name << ": ... " << total - max_records << " more differences not shown\n";
  return s.str();
}

void printComparison(FILE* out, std::string_view name, const CompareResult& r, const JsonRecords& expected,
                     const JsonRecords& actual, size_t max_records) {
  const std::string text = formatComparison(name, r, expected, actual, max_records);
  std::fwrite(text.data(), 1, text.size(), out);
}

}  // namespace l7h::check

#include "check/mapping_check.h"

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "l7/record_json.h"

namespace l7h::check {
namespace {

// Columns the harness fills from the connection and clock (README.md).
const std::set<std::string, std::less<>> kExemptColumns = {
    "time", "start_time", "end_time", "flow_id", "ip4_0", "ip4_1", "ip6_0", "ip6_1", "is_ipv4", "protocol",
    "client_port", "server_port", "l7_protocol", "l7_protocol_str", "type", "response_status", "signal_source",
    "response_duration", "captured_request_byte", "captured_response_byte", "req_tcp_seq", "resp_tcp_seq",
    "attribute_names", "attribute_values"};

bool isEmpty(const boost::json::value& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.as_string().empty();
  if (v.is_array()) return v.as_array().empty();
  return false;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream s(line);
  while (std::getline(s, cell, '\t')) out.push_back(cell);
  return out;
}

}  // namespace

bool loadMappingTable(const std::string& path, MappingTable& table, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::string line;
  size_t line_no = 0;
  bool header_seen = false;
  std::set<std::string, std::less<>> known_columns;
  for (size_t i = 0; i < l7::kRecordKeyCount; ++i) known_columns.emplace(l7::kRecordKeys[i]);
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto cells = splitTabs(line);
    if (!header_seen) {
      header_seen = true;
      if (cells.size() < 3 || cells[0] != "request_type" || cells[1] != "column" || cells[2] != "fill") {
        error = path + ":" + std::to_string(line_no) + ": header must be request_type<TAB>column<TAB>fill<TAB>source";
        return false;
      }
      continue;
    }
    if (cells.size() < 3) {
      error = path + ":" + std::to_string(line_no) + ": expected at least 3 tab-separated cells";
      return false;
    }
    const std::string& column = cells[1];
    if (column.rfind("attribute.", 0) != 0 && known_columns.count(column) == 0) {
      error = path + ":" + std::to_string(line_no) + ": unknown column '" + column + "'";
      return false;
    }
    Fill fill;
    if (cells[2] == "always") fill = Fill::kAlways;
    else if (cells[2] == "when_present") fill = Fill::kWhenPresent;
    else if (cells[2] == "extension") fill = Fill::kExtension;
    else {
      error = path + ":" + std::to_string(line_no) + ": fill must be always, when_present or extension";
      return false;
    }
    table.rules[cells[0]][column] = fill;
  }
  if (!header_seen) {
    error = path + ": empty mapping table";
    return false;
  }
  return true;
}

std::vector<MappingViolation> checkMapping(const MappingTable& table, const JsonRecords& records) {
  std::vector<MappingViolation> out;
  const auto* any = table.rules.count("*") ? &table.rules.at("*") : nullptr;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    std::string request_type;
    if (auto it = r.find("request_type"); it != r.end() && it->value().is_string())
      request_type = std::string(it->value().as_string());
    const auto specific = table.rules.find(request_type);
    auto ruleFor = [&](const std::string& column) -> const Fill* {
      if (specific != table.rules.end()) {
        if (auto c = specific->second.find(column); c != specific->second.end()) return &c->second;
      }
      if (any != nullptr) {
        if (auto c = any->find(column); c != any->end()) return &c->second;
      }
      return nullptr;
    };
    const bool parse_failed = r.contains("response_status") && r.at("response_status").is_int64() &&
                              r.at("response_status").as_int64() == 6;
    const std::string label = "record " + std::to_string(i + 1) + " (" + (request_type.empty() ? "-" : request_type) + ")";
    for (const auto& kv : r) {
      const std::string column(kv.key());
      if (kExemptColumns.count(column)) continue;
      const Fill* rule = ruleFor(column);
      if (rule == nullptr) {
        if (!isEmpty(kv.value()))
          out.push_back({i, label + ": column " + column + " = " + boost::json::serialize(kv.value()) +
                                " but the mapping table does not fill it"});
      } else if (*rule == Fill::kAlways && isEmpty(kv.value()) && !parse_failed) {
        out.push_back({i, label + ": column " + column + " is empty but the mapping table always fills it"});
      }
    }
    // Attributes are checked one by one as attribute.<name>: each present
    // one must be listed, and each `always` one must be present.
    std::set<std::string, std::less<>> present;
    if (auto names = r.find("attribute_names"); names != r.end() && names->value().is_array()) {
      for (const auto& n : names->value().as_array()) {
        if (!n.is_string()) continue;
        const std::string column = "attribute." + std::string(n.as_string());
        present.insert(column);
        if (ruleFor(column) == nullptr && ruleFor("attribute.*") == nullptr)
          out.push_back({i, label + ": attribute " + std::string(n.as_string()) + " is not in the mapping table"});
      }
    }
    if (!parse_failed) {
      auto requireAttributes = [&](const std::map<std::string, Fill>& rules) {
        for (const auto& [column, fill] : rules) {
          if (column.rfind("attribute.", 0) != 0 || column == "attribute.*") continue;
          // The row that applies (a specific one overrides `*`) decides.
          if (*ruleFor(column) != Fill::kAlways || present.count(column) != 0) continue;
          out.push_back({i, label + ": " + column + " is missing but the mapping table always fills it"});
        }
      };
      if (specific != table.rules.end()) requireAttributes(specific->second);
      if (any != nullptr) {
        std::map<std::string, Fill> only_any;
        for (const auto& [column, fill] : *any) {
          if (specific == table.rules.end() || specific->second.count(column) == 0) only_any.emplace(column, fill);
        }
        requireAttributes(only_any);
      }
    }
  }
  return out;
}

}  // namespace l7h::check

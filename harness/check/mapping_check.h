// Verifies records against golden/mapping/<proto>.tsv (format and rules in
// golden/mapping/README.md): a column the table maps for a message kind
// must be filled when it is `always` carried; a column the table does not
// map must stay empty unless listed as a documented `extension`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "check/record_compare.h"

namespace l7h::check {

enum class Fill { kAlways, kWhenPresent, kExtension };

struct MappingTable {
  std::string protocol;
  // request_type ("*" for all) → column → fill rule
  std::map<std::string, std::map<std::string, Fill>> rules;
};

bool loadMappingTable(const std::string& path, MappingTable& table, std::string& error);

struct MappingViolation {
  size_t record_index;
  std::string message;
};

std::vector<MappingViolation> checkMapping(const MappingTable& table, const JsonRecords& records);

}  // namespace l7h::check

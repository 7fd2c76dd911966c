// JUnit XML for CI dashboards: one testsuite per protocol, one testcase per capture.
#pragma once

#include <string>
#include <vector>

namespace l7h::check {

struct JunitCase {
  std::string suite;    // protocol folder
  std::string name;     // capture name
  std::string failure;  // empty when the case passed
  std::string output;
};

bool writeJunit(const std::string& path, const std::string& title, const std::vector<JunitCase>& cases,
                std::string& error);
std::string xmlEscape(const std::string& text);

}  // namespace l7h::check

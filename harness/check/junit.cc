#include "check/junit.h"

#include <fstream>
#include <map>

namespace l7h::check {

std::string xmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += "?";
        else out += static_cast<char>(c);
    }
  }
  return out;
}

bool writeJunit(const std::string& path, const std::string& title, const std::vector<JunitCase>& cases,
                std::string& error) {
  std::map<std::string, std::vector<const JunitCase*>> suites;
  size_t failures = 0;
  for (const auto& c : cases) {
    suites[c.suite].push_back(&c);
    failures += c.failure.empty() ? 0 : 1;
  }
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    error = path + ": cannot write";
    return false;
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"" << xmlEscape(title) << "\" tests=\"" << cases.size() << "\" failures=\"" << failures
      << "\">\n";
  for (const auto& [suite, list] : suites) {
    size_t suite_failures = 0;
    for (const auto* c : list) suite_failures += c->failure.empty() ? 0 : 1;
    out << "  <testsuite name=\"" << xmlEscape(suite) << "\" tests=\"" << list.size() << "\" failures=\""
        << suite_failures << "\">\n";
    for (const auto* c : list) {
      out << "    <testcase classname=\"" << xmlEscape(suite) << "\" name=\"" << xmlEscape(c->name) << "\"";
      if (c->failure.empty()) {
        out << "/>\n";
      } else {
        out << ">\n      <failure message=\"does not match its golden\">" << xmlEscape(c->failure)
            << "</failure>\n    </testcase>\n";
      }
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
  if (!out) {
    error = path + ": write failed";
    return false;
  }
  return true;
}

}  // namespace l7h::check

#include "cli/args.h"

#include <charconv>
#include <cstdio>

namespace l7h::cli {

ArgParser::ArgParser(std::string_view command, std::string_view synopsis, std::string_view description)
    : command_(command), synopsis_(synopsis), description_(description) {}

void ArgParser::flag(std::string_view name, bool* out, std::string_view help) {
  opts_.push_back({std::string(name), Kind::kFlag, out, "", std::string(help)});
}
void ArgParser::option(std::string_view name, std::string* out, std::string_view metavar, std::string_view help) {
  opts_.push_back({std::string(name), Kind::kString, out, std::string(metavar), std::string(help)});
}
void ArgParser::option(std::string_view name, int64_t* out, std::string_view metavar, std::string_view help) {
  opts_.push_back({std::string(name), Kind::kInt, out, std::string(metavar), std::string(help)});
}
void ArgParser::option(std::string_view name, int64_t* out, std::string_view metavar, std::string_view help,
                       int64_t min, int64_t max) {
  opts_.push_back({std::string(name), Kind::kInt, out, std::string(metavar), std::string(help), min, max});
}
bool ArgParser::given(std::string_view name) const {
  for (const Opt& o : opts_) {
    if (o.name == name) return o.seen;
  }
  return false;
}
void ArgParser::optionList(std::string_view name, std::vector<std::string>* out, std::string_view metavar,
                           std::string_view help) {
  opts_.push_back({std::string(name), Kind::kList, out, std::string(metavar), std::string(help)});
}
void ArgParser::positionals(std::vector<std::string>* out, std::string_view metavar, std::string_view help) {
  positionals_ = out;
  positional_metavar_ = metavar;
  positional_help_ = help;
}

bool ArgParser::fail(const std::string& message, int& exit_code) const {
  std::fprintf(stderr, "l7conform %s: %s\n(see l7conform %s --help)\n", command_.c_str(), message.c_str(),
               command_.c_str());
  exit_code = 2;
  return false;
}

bool ArgParser::parse(Args args, int& exit_code) {
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (!only_positionals && (a == "-h" || a == "--help")) {
      printHelp(stdout);
      exit_code = 0;
      return false;
    }
    if (!only_positionals && a == "--") {
      only_positionals = true;
      continue;
    }
    if (only_positionals || a.empty() || a[0] != '-' || a == "-") {
      if (positionals_ == nullptr) return fail("unexpected argument '" + std::string(a) + "'", exit_code);
      positionals_->emplace_back(a);
      continue;
    }
    std::string_view value;
    bool has_inline_value = false;
    if (const size_t eq = a.find('='); eq != std::string_view::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline_value = true;
    }
    Opt* opt = nullptr;
    for (Opt& o : opts_) {
      if (o.name == a) opt = &o;
    }
    if (opt == nullptr) return fail("unknown option '" + std::string(a) + "'", exit_code);
    opt->seen = true;
    if (opt->kind == Kind::kFlag) {
      if (has_inline_value) return fail("option " + opt->name + " takes no value", exit_code);
      *static_cast<bool*>(opt->target) = true;
      continue;
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return fail("option " + opt->name + " needs a value (" + opt->metavar + ")", exit_code);
      value = args[++i];
    }
    switch (opt->kind) {
      case Kind::kString: *static_cast<std::string*>(opt->target) = std::string(value); break;
      case Kind::kList: static_cast<std::vector<std::string>*>(opt->target)->emplace_back(value); break;
      case Kind::kInt: {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        const bool whole = ec == std::errc() && end == value.data() + value.size();
        if (!whole && ec != std::errc::result_out_of_range)
          return fail("option " + opt->name + " needs a whole number, got '" + std::string(value) + "'", exit_code);
        if (!whole || v < opt->min || v > opt->max) {
          return fail("option " + opt->name + " takes a number from " + std::to_string(opt->min) + " to " +
                          std::to_string(opt->max) + ", got '" + std::string(value) + "'",
                      exit_code);
        }
        *static_cast<int64_t*>(opt->target) = v;
        break;
      }
      case Kind::kFlag: break;
    }
  }
  return true;
}

void ArgParser::printHelp(FILE* out) const {
  std::fprintf(out, "usage: l7conform %s %s\n\n%s\n", command_.c_str(), synopsis_.c_str(), description_.c_str());
  if (positionals_ != nullptr) {
    std::fprintf(out, "\narguments:\n  %-24s %s\n", positional_metavar_.c_str(), positional_help_.c_str());
  }
  std::fprintf(out, "\noptions:\n");
  for (const Opt& o : opts_) {
    std::string left = o.name;
    if (!o.metavar.empty()) left += " " + o.metavar;
    std::fprintf(out, "  %-24s %s\n", left.c_str(), o.help.c_str());
  }
  std::fprintf(out, "  %-24s %s\n", "-h, --help", "show this help");
  if (!examples_.empty()) std::fprintf(out, "\nexamples:\n%s\n", examples_.c_str());
}

}  // namespace l7h::cli

// A small, uniform option parser for l7conform's subcommands: every command
// gets the same --help layout, the same "unknown option" error and the same
// `--opt value` / `--opt=value` forms, so the CLI feels like one tool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace l7h::cli {

class ArgParser {
 public:
  // `synopsis`: one usage line; `description`: a paragraph that teaches.
  ArgParser(std::string_view command, std::string_view synopsis, std::string_view description);

  void flag(std::string_view name, bool* out, std::string_view help);
  void option(std::string_view name, std::string* out, std::string_view metavar, std::string_view help);
  void option(std::string_view name, int64_t* out, std::string_view metavar, std::string_view help);
  // A whole number from `min` to `max`; anything else is a usage error
  // (exit 2) that says the range, so no value can wrap or run for ever.
  void option(std::string_view name, int64_t* out, std::string_view metavar, std::string_view help, int64_t min,
              int64_t max);
  void optionList(std::string_view name, std::vector<std::string>* out, std::string_view metavar,
                  std::string_view help);
  void positionals(std::vector<std::string>* out, std::string_view metavar, std::string_view help);
  void examples(std::string_view text) { examples_ = text; }

  // Returns true to proceed; false with `exit_code` set (0 after --help, 2 on error).
  bool parse(Args args, int& exit_code);
  // Whether the last parse() saw option `name` (to tell `--opt ''` from no --opt).
  bool given(std::string_view name) const;
  void printHelp(FILE* out) const;

 private:
  enum class Kind { kFlag, kString, kInt, kList };
  struct Opt {
    std::string name;
    Kind kind;
    void* target;
    std::string metavar;
    std::string help;
    int64_t min = INT64_MIN, max = INT64_MAX;
    bool seen = false;
  };
  bool fail(const std::string& message, int& exit_code) const;

  std::string command_, synopsis_, description_, examples_;
  std::vector<Opt> opts_;  // parse() marks what it saw
  std::vector<std::string>* positionals_ = nullptr;
  std::string positional_metavar_, positional_help_;
};

}  // namespace l7h::cli

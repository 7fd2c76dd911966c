// Subcommands of `l7conform`. Each lives in its own cmd_<name>.cc and is
// listed once in cli/main.cc's command table.
#pragma once

#include <span>
#include <string_view>

namespace l7h::cli {

using Args = std::span<const std::string_view>;  // arguments after the subcommand name

int replayCommand(Args args);
int checkCommand(Args args);
int synthCommand(Args args);
int versionsCommand(Args args);
int benchCommand(Args args);
int skywalkingCommand(Args args);
int serveCommand(Args args);

}  // namespace l7h::cli

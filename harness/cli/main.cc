// l7conform: command table and top-level help.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace {

struct Command {
  std::string_view name;
  int (*run)(l7h::cli::Args);
  std::string_view summary;
};

// THE command list: one line per subcommand.
constexpr Command kCommands[] = {
    {"replay", l7h::cli::replayCommand, "decode pcap/pcapng captures (or a live interface) into l7_flow_log JSON Lines"},
    {"check", l7h::cli::checkCommand, "replay a corpus and compare with golden records, mapping tables and metrics"},
    {"skywalking", l7h::cli::skywalkingCommand, "map SkyWalking segment JSON to l7_flow_log records"},
    {"serve", l7h::cli::serveCommand, "SkyWalking segment receiver, gRPC and REST: spans in, records out"},
    {"synth", l7h::cli::synthCommand, "write a synthesized capture and the records it must produce"},
    {"bench", l7h::cli::benchCommand, "throughput and peak memory against bare libpcap and tshark"},
    {"versions", l7h::cli::versionsCommand, "the version matrix: claimed, synthesized, property result, real captures"},
};

void printUsage(FILE* out) {
  std::fprintf(out,
               "l7conform: conformance harness for L7 message-queue protocol decoders\n\n"
               "usage: l7conform <command> [options]\n       l7conform <command> --help\n\ncommands:\n");
  for (const Command& c : kCommands) {
    std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fprintf(out,
               "\nexamples:\n"
               "  l7conform replay capture.pcap                # records as JSON Lines on stdout\n"
               "  l7conform replay --format table capture.pcap # a human-readable table\n"
               "  l7conform check corpus/                      # compare with golden/, print a summary\n"
               "  l7conform check --update corpus/mqtt         # rewrite goldens, then review git diff\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    printUsage(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    printUsage(stdout);
    return 0;
  }
  std::vector<std::string_view> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (c.name == name) return c.run(args);
  }
  std::fprintf(stderr, "l7conform: unknown command '%s' (see l7conform --help)\n", argv[1]);
  return 2;
}

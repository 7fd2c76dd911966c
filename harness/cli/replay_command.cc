#include <cstdio>
#include "cli/commands.h"
namespace l7h::cli {
int replayCommand(Args) { std::fprintf(stderr, "replay: not yet implemented\n"); return 2; }
}

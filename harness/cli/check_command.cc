#include <cstdio>
#include "cli/commands.h"
namespace l7h::cli {
int checkCommand(Args) { std::fprintf(stderr, "check: not yet implemented\n"); return 2; }
}

#!/usr/bin/env bash
# Freezes the KnownDecoderBugs cases not frozen yet (README.md) from their
# synthesizer cases, with the Release build in build/; `freeze.sh --rewrite`
# rewrites them all (only when their meaning is meant to change). A case whose
# records the decoder does not give today is not written (and the script
# fails), so a frozen file always states behaviour that passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cmake --build "$ROOT/build" -j "${L7_JOBS:-$(nproc)}" --target freeze_known_decoder_bugs >/dev/null
"$ROOT/build/tests/regressions/freeze_known_decoder_bugs" "$@" "$ROOT/tests/regressions"

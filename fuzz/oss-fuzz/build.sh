#!/bin/bash -eu
# OSS-Fuzz entry point: everything is in the checkout's fuzz/build.sh.
exec "$SRC/l7conform/fuzz/build.sh"

#!/bin/bash -eu
# ClusterFuzzLite entry point: everything is in fuzz/build.sh.
exec "$SRC/l7conform/fuzz/build.sh"

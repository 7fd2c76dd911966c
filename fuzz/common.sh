# Shared by run_local.sh, smoke.sh and build.sh (sourced, not run).

# fuzz_dict_for TARGET: the dictionary a target uses. Round-trip targets
# share their protocol's (fuzz_roundtrip_kafka -> dict/kafka.dict).
fuzz_dict_for() {
  local proto=${1#fuzz_}
  proto=${proto#roundtrip_}
  local dict
  dict="$(dirname "${BASH_SOURCE[0]}")/dict/$proto.dict"
  [[ -f $dict ]] && printf '%s\n' "$dict"
  return 0
}

# fuzz_options_for TARGET: the target's .options [libfuzzer] keys as
# libFuzzer flags, one per line (what OSS-Fuzz passes from the same file).
fuzz_options_for() {
  local file
  file="$(dirname "${BASH_SOURCE[0]}")/$1.options"
  [[ -f $file ]] || return 0
  awk -F' *= *' '/^\[/{in_lf=($0=="[libfuzzer]")} in_lf && NF==2 && $1!~/^[#;[]/{print "-"$1"="$2}' "$file"
}

# fuzz_flags_for TARGET: every libFuzzer flag a run of TARGET starts with,
# one per line: its dictionary, then the defaults, which its .options
# override (libFuzzer takes the last of a repeated flag).
fuzz_flags_for() {
  local dict
  dict=$(fuzz_dict_for "$1")
  [[ -n $dict ]] && printf -- '-dict=%s\n' "$dict"
  printf -- '%s\n' -timeout=10 -rss_limit_mb=2048
  fuzz_options_for "$1"
}

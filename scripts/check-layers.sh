#!/bin/sh
# scripts/check-layers.sh: the layering rule of docs/ARCHITECTURE.md. The library's stages, lowest
# first: util < kernels < tokenizer < model < {io, data} < eval < unlearn < bench < cli. A file in
# src/<stage>/ (or a public header of that stage in include/lethe/) may include headers of its own
# stage and of stages below it, never of a stage above it or of a peer (io and data are peers).
# Exits 1 and lists each violation as FILE:LINE: STAGE includes HEADER (STAGE). Run by `make lint`
# and by ctest (test_layers). Usage: scripts/check-layers.sh [REPO_ROOT]
set -eu
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Allowed exceptions, one "file header" pair a line, each with the reason and a TODO (none now).
ALLOW=""

rank() {
  case $1 in
  util) echo 0 ;; kernels) echo 1 ;; tokenizer) echo 2 ;; model) echo 3 ;;
  io | data) echo 4 ;; eval) echo 5 ;; unlearn) echo 6 ;; bench) echo 7 ;; cli) echo 8 ;;
  *) echo "" ;;
  esac
}

# The stage of a public header, by what implements it.
public_stage() {
  case $1 in
  status.h | util.h | comm.h) echo util ;;
  tokenizer.h) echo tokenizer ;;
  model.h | lora.h) echo model ;;
  convert.h) echo io ;;
  data.h | split.h) echo data ;;
  eval.h | eval_text.h | eval_rows.h | eval_mia.h | eval_score.h | eval_mmlu.h | eval_print.h) echo eval ;;
  evaluate.h | generate.h | report.h | chat.h | score.h) echo eval ;;
  unlearn.h) echo unlearn ;;
  bench.h) echo bench ;;
  *) echo "" ;;
  esac
}

# The stage of an included header ("lethe/x.h", "model/model.h", "kernels/cpu/cpu.h").
header_stage() {
  case $1 in
  lethe/*) public_stage "${1#lethe/}" ;;
  */*) echo "${1%%/*}" ;;
  *) echo "" ;;
  esac
}

status=0
files=$(find src include/lethe -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
for f in $files; do
  case $f in
  include/lethe/*) stage=$(public_stage "${f#include/lethe/}") ;;
  src/*/*) stage=${f#src/}; stage=${stage%%/*} ;;
  *) continue ;;
  esac
  r=$(rank "$stage")
  if [ -z "$r" ]; then
    echo "$f: no stage known for this file (add it to scripts/check-layers.sh)"
    status=1
    continue
  fi
  # Every quoted include: "LINE HEADER".
  grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/' | {
    bad=0
    while read -r line hdr; do
      hs=$(header_stage "$hdr")
      [ -z "$hs" ] && continue # a header next to the file ("tok_internal.h" style) or a system one
      hr=$(rank "$hs")
      if [ -z "$hr" ]; then
        echo "$f:$line: includes $hdr, whose stage is unknown (add it to scripts/check-layers.sh)"
        bad=1
        continue
      fi
      [ "$hs" = "$stage" ] && continue
      if [ "$hr" -ge "$r" ]; then
        case "
$ALLOW
" in *"
$f $hdr
"*) continue ;; esac
        echo "$f:$line: $stage includes $hdr ($hs, not below $stage)"
        bad=1
      fi
    done
    exit $bad
  } || status=1
done
if [ $status -eq 0 ]; then echo "check-layers: no file includes a header of a stage above it"; fi
exit $status

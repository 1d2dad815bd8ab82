#!/bin/sh
# bench/lib.sh: what the benchmark scripts on small memorised models share (bench/methods.sh,
# bench/select.sh, bench/sweep_shared.sh). Sourced from the repository root after `set -eu`:
#   . bench/lib.sh
# It sets THREADS (default 1), LETHE (build/lethe), S (stories260K under ../shared or $SHARED),
# commit, a scratch directory $work removed on exit and $sec (a section file in it), and defines
# the two data sets:
#   demo_data: lethe demo --quick's memorised model ($work/demo/memorised/model) and people (D)
#   bios_data: stories260K made to memorise 8 synthetic people of its own (lethe data bios, seed 7:
#              2 to forget, 4 never seen; B) with train --full ($work/mem/model)
# shellcheck disable=SC2034 # the variables are the sourcing script's
THREADS=${THREADS:-1}
LETHE=${LETHE:-build/lethe}
S=${SHARED:-../shared}/models/stories260K
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sec="$work/section.md"

demo_data() {
  "$LETHE" demo --quick --no-ga --threads "$THREADS" --out "$work/demo" >/dev/null 2>&1
  D="$work/demo/data"
}

bios_data() {
  B="$work/bios"
  "$LETHE" data bios --out "$B" --n 8 --forget 2 --holdout 4 --seed 7 >/dev/null
  cat "$B/forget.jsonl" "$B/retain.jsonl" >"$B/all.jsonl"
  "$LETHE" train --model "$S/stories260K.bin" --tokenizer "$S/tok512.bin" --data "$B/all.jsonl" --full --out "$work/mem" \
    --epochs 40 --lr 3e-3 --batch 4 --schedule cosine --warmup-steps 10 --threads "$THREADS" --quiet
}

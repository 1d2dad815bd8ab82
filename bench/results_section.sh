#!/bin/sh
# bench/results_section.sh: puts a section into bench/RESULTS.md between the markers
# "<!-- NAME:begin -->" and "<!-- NAME:end -->" (the section file carries them), replacing the old
# one, or appends it when the file has none. Used by bench/run.sh and bench/gen.sh.
# Usage: bench/results_section.sh NAME SECTION_FILE [RESULTS_FILE]
set -eu
name=$1
sec=$2
res=${3:-bench/RESULTS.md}
[ -f "$res" ] || printf '# Measured speed\n' >"$res"
tmp=$(mktemp)
awk -v sec="$sec" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
  $0 == begin { while ((getline l < sec) > 0) print l; skip = 1; done = 1; next }
  $0 == end { skip = 0; next }
  !skip { print }
  END { if (!done) { print ""; while ((getline l < sec) > 0) print l } }' "$res" >"$tmp"
cp "$tmp" "$res"
rm -f "$tmp"

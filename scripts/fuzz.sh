#!/bin/sh
# scripts/fuzz.sh: builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each one for
# SECONDS seconds (default 600) on its committed seed corpus. Usage: scripts/fuzz.sh [SECONDS] [NAME...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-600}
[ $# -gt 0 ] && shift
scripts/install-deps.sh --dev
mkdir -p build-fuzz
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLETHE_FUZZ=ON -DLETHE_TESTS=OFF -DLETHE_NATIVE=OFF -DLETHE_CUDA=OFF \
  >build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; echo "fuzz: cmake failed" >&2; exit 1; }
cmake --build build-fuzz -j "$(nproc)"
names="$*"
[ -z "$names" ] && names=$(cd build-fuzz/fuzz && ls fuzz_* 2>/dev/null)
status=0
for n in $names; do
  corpus=fuzz/corpus/${n#fuzz_}
  work=build-fuzz/corpus/${n#fuzz_}
  mkdir -p "$work" "$corpus"
  echo "== $n: ${secs}s"
  if ! build-fuzz/fuzz/$n -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 \
      -artifact_prefix=build-fuzz/$n- "$work" "$corpus" 2>build-fuzz/$n.log; then
    echo "   FINDING: see build-fuzz/$n.log"; tail -30 build-fuzz/$n.log; status=1
  else
    grep -E "^(Done|#[0-9]+.*DONE)" build-fuzz/$n.log | tail -1
  fi
done
exit $status

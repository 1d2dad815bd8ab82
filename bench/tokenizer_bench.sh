#!/bin/sh
# bench/tokenizer_bench.sh: lethe's single-thread encode throughput against pip tokenizers on the
# LUME text (all forget + retain rows, input and output), default tokenizer OLMo-0724.
# Usage: bench/tokenizer_bench.sh [TOKENIZER] [REPS]   (BUILD=dir to choose the build directory)
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
tok=${1:-../shared/tokenizers/olmo-0724/tokenizer.json}
reps=${2:-5}
data=../shared/data/lume
files="$data/forget_train.jsonl $data/forget_validation.jsonl $data/retain_train.jsonl $data/retain_validation.jsonl"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLETHE_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target tokenizer_bench >/dev/null
echo "# machine: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "# commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src/tokenizer || echo '+changes')"
OMP_NUM_THREADS=1 "$build/bench/tokenizer_bench" --reps "$reps" "$tok" $files
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1 \
  python3 bench/tokenizer_peer.py --reps "$reps" "$tok" $files

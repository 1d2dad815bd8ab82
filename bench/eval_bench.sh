#!/bin/sh
# bench/eval_bench.sh: evaluation speed, lethe eval vs the official script's transformers loop
# (bench/eval_peer.py), in one run on the same model (SmolLM2-135M-Instruct, the Q4_1 GGUF converted
# to an fp32 Hugging Face directory) and the same data: the demo's (lethe data bios, defaults) and
# a LUME slice (the first ROWS forget and ROWS retain rows of ../shared/data/lume, all 300 MIA
# documents). Greedy generation of MAX_NEW tokens, THREADS threads on both sides.
# Usage: [ROWS=32 MAX_NEW=32 THREADS=2 PY=python3] bench/eval_bench.sh
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-32}
MAX_NEW=${MAX_NEW:-32}
THREADS=${THREADS:-2}
PY=${PY:-python3}
LETHE=${LETHE:-build/lethe}
GGUF=${GGUF:-$HOME/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
export OMP_NUM_THREADS=$THREADS
work=${WORK:-$(mktemp -d)}
model=$work/smollm2
[ -d "$model" ] || "$LETHE" convert --model "$GGUF" --out "$model" >/dev/null
mkdir -p "$work/demo/mia" "$work/lume/mia"
"$LETHE" data bios --out "$work/demo" >/dev/null
cp "$work/demo/mia_members.jsonl" "$work/demo/mia/member.jsonl"
cp "$work/demo/mia_nonmembers.jsonl" "$work/demo/mia/nonmember.jsonl"
L=../shared/data/lume
head -n "$ROWS" $L/forget_train.jsonl >"$work/lume/forget.jsonl"
head -n "$ROWS" $L/retain_train.jsonl >"$work/lume/retain.jsonl"
cp $L/mia/member.jsonl $L/mia/nonmember.jsonl "$work/lume/mia/"
for set in demo lume; do
  d=$work/$set
  t0=$(date +%s.%N)
  "$LETHE" eval --model "$model" --data-dir "$d" --out "$work/out-$set" --max-new "$MAX_NEW" --threads "$THREADS" --quiet >/dev/null
  t1=$(date +%s.%N)
  peer=$($PY bench/eval_peer.py "$model" "$d" "$MAX_NEW" "$THREADS")
  echo "$set lethe_s=$(echo "$t1 - $t0" | bc) peer=$peer"
done

#!/bin/sh
# bench/bf16_numerics.sh: what bf16 weights (--device cpu:bf16) change against fp32 on real models:
#   1. stories260K (../shared) made to memorise the 12 rows of tests/fixtures/unlearn (full-parameter
#      training in fp32, as tests/unlearn/test_unlearn_cli.c does), then Low-Rank NPO on it with
#      --device cpu:fp32 and --device cpu:bf16, same seed;
#   2. SmolLM2-135M-Instruct from its GGUF (lethe convert), Low-Rank NPO on the first LUME rows,
#      a few steps, the same two ways.
# For each: the answer NLLs before and after (run.json) and the trained adapters' difference
# (relative Frobenius norm of B A per projection, bench/adapter_diff.py). Prints a Markdown table.
# Usage: bench/bf16_numerics.sh   (PYTHON for the adapter comparison, default python3;
#        SMOL=path/to.gguf, default ~/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf)
set -eu
cd "$(dirname "$0")/.."
LETHE=${LETHE:-build/lethe}
PYTHON=${PYTHON:-python3}
SMOL=${SMOL:-$HOME/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
SH=../shared
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fx=tests/fixtures/unlearn
echo "| model | device | forget NLL before | after | retain NLL before | after | adapter B A vs fp32 (rel.) |"
echo "|---|---|---|---|---|---|---|"
nll() { "$PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1]))['answer_nll']; print(' | '.join('%.6f' % r[k] for k in ('forget_before','forget_after','retain_before','retain_after')))" "$1"; }
compare() { # model-name, run dir fp32, run dir bf16
  echo "| $1 | cpu:fp32 | $(nll "$2/run.json") | - |"
  echo "| $1 | cpu:bf16 | $(nll "$3/run.json") | $("$PYTHON" bench/adapter_diff.py "$2/adapter" "$3/adapter") |"
}
"$LETHE" train --model $SH/models/stories260K/stories260K.bin --tokenizer $SH/models/stories260K/tok512.bin \
  --data $fx/stories_all.jsonl --full --out "$work/mem" --epochs 4 --lr 3e-3 --batch 4 --threads 2 --quiet >/dev/null 2>&1
for dev in cpu:fp32 cpu:bf16; do
  "$LETHE" unlearn --model "$work/mem/model" --tokenizer $SH/models/stories260K/tok512.bin --forget $fx/stories_forget.jsonl \
    --retain $fx/stories_retain.jsonl --out "$work/s-$dev" --lr 7e-4 --threads 2 --device $dev --quiet >/dev/null 2>&1
done
compare "stories260K (memorised)" "$work/s-cpu:fp32" "$work/s-cpu:bf16"
if [ -f "$SMOL" ]; then
  "$LETHE" convert --model "$SMOL" --out "$work/smol" >/dev/null 2>&1
  head -n 8 $SH/data/lume/forget_train.jsonl >"$work/f.jsonl"
  head -n 8 $SH/data/lume/retain_train.jsonl >"$work/r.jsonl"
  for dev in cpu:fp32 cpu:bf16; do
    "$LETHE" unlearn --model "$work/smol" --forget "$work/f.jsonl" --retain "$work/r.jsonl" --out "$work/m-$dev" --lr 1e-4 \
      --epochs 1 --batch 4 --threads 2 --device $dev --quiet >/dev/null 2>&1
  done
  compare "SmolLM2-135M-Instruct (GGUF Q4_1, 8 + 8 LUME rows, 1 epoch)" "$work/m-cpu:fp32" "$work/m-cpu:bf16"
fi

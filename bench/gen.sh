#!/bin/sh
# bench/gen.sh: generation speed (issue "Evaluation"): prompt (prefill) and generation (decode)
# tokens/s of batched greedy decoding with the KV cache, for stories260K (../shared) and a
# SmolLM2-135M-sized model (random weights of bench/configs/smollm2-135m.json; the real Q4_1 GGUF,
# dequantised to fp32, when scripts/fetch-smollm2.sh has fetched it), written into bench/RESULTS.md.
# Usage: bench/gen.sh [THREADS=2]
set -eu
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
LETHE=${LETHE:-build/lethe}
[ -x "$LETHE" ] || make build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table="$work/table.md"
printf '| model | batch | prompt tokens | new tokens | prompt tok/s | generation tok/s |\n|---|---|---|---|---|---|\n' >"$table"
run() {
  name=$1
  shift
  out=$("$LETHE" bench gen "$@" --threads "$THREADS")
  echo "$name: $out"
  echo "$out" | awk -v n="$name" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %.0f | %.1f |\n", n, v["batch"], v["prompt_len"], v["new"], v["prefill_tokens_per_s"], v["decode_tokens_per_s"] }' >>"$table"
}
stories=../shared/models/stories260K/stories260K.bin
[ -f "$stories" ] && run "stories260K" --model "$stories" --batch 8 --prompt-len 64 --new 128
run "SmolLM2-135M shape (random)" --config bench/configs/smollm2-135m.json --batch 8 --prompt-len 128 --new 64
run "SmolLM2-135M shape (random)" --config bench/configs/smollm2-135m.json --batch 1 --prompt-len 128 --new 64
gguf="${LETHE_CACHE:-$HOME/.cache/lethe}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$gguf" ] && run "SmolLM2-135M-Instruct (GGUF)" --model "$gguf" --batch 8 --prompt-len 128 --new 64
cat "$table"
res=bench/RESULTS.md
{
  echo "<!-- gen-bench:begin -->"
  echo "## Generation speed (bench/gen.sh)"
  echo
  echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores, threads $THREADS; commit $(git rev-parse --short HEAD 2>/dev/null)"
  echo "- greedy decoding, fp32, KV cache; prompt tok/s = batch x prompt tokens / prefill time, generation tok/s = batch x new tokens / decode time (after a warm-up repetition)"
  echo
  cat "$table"
  echo "<!-- gen-bench:end -->"
} >"$work/section.md"
bench/results_section.sh gen-bench "$work/section.md" "$res"

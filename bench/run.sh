#!/bin/sh
# bench/run.sh: the CPU speed benchmark of issues "CPU speed" and "CPU speed against the strongest
# PyTorch user". In one run, for each model shape in bench/configs (olmo-small, smollm2-135m) at
# batch 4 x 256 tokens and 2 threads, it measures:
#   1. the sgemm and the bf16-weight GEMM peaks at the model's shapes (lethe bench gemm),
#   2. lethe's Low-Rank NPO step with fp32 weights and with bf16 weights (--device cpu:bf16),
#      each with --profile (seconds per part of the step); the first also saves the random model,
#      adapter and batch,
#   3. the careful PyTorch peer (bench/peer_torch.py --careful: reference log-probs cached once,
#      lm_head only at answer positions, SDPA attention) in fp32 and with bf16 autocast, on exactly
#      that model and batch (PAPER=1 adds the paper's way, a reference forward every step),
# the sides interleaved (lethe fp32, peer fp32, lethe bf16, peer bf16) so that load changes hit all.
# Each side reports wall-clock tokens/s and process CPU seconds per step; on a machine shared with
# other work the CPU-time figure (tokens / (CPU seconds / threads)) is the one that load distorts
# least, and both are written. Writes the tables into bench/RESULTS.md.
# Needs a build and pip torch + transformers + safetensors (PYTHON, default python3).
# Usage: bench/run.sh [THREADS=2 STEPS=5 BATCH=4 SEQ=256 PAPER=0 bench/run.sh]
set -eu
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
BATCH=${BATCH:-4}
SEQ=${SEQ:-256}
PAPER=${PAPER:-0}
PYTHON=${PYTHON:-python3}
CONFIGS=${CONFIGS:-"olmo-small smollm2-135m"}
LETHE=${LETHE:-build/lethe}
[ -x "$LETHE" ] || make build
export OMP_NUM_THREADS=$THREADS
# OpenBLAS 0.3.21 takes AMD Zen 4 for Zen and runs its AVX2 (Haswell) sgemm there; its AVX-512
# kernel (SkylakeX) is twice as fast on that CPU, so the benchmark picks it where the CPU has
# AVX-512 (BENCH_CORETYPE=keep leaves OPENBLAS_CORETYPE as it is)
if [ "${BENCH_CORETYPE:-auto}" = auto ]; then
  grep -q -w avx512f /proc/cpuinfo 2>/dev/null && export OPENBLAS_CORETYPE=SkylakeX
elif [ "${BENCH_CORETYPE}" != keep ]; then
  export OPENBLAS_CORETYPE=$BENCH_CORETYPE
fi
# idle OpenMP threads sleep instead of spinning, so CPU seconds count work
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
flags=$(grep -o -w 'avx512f\|avx512_bf16\|avx512bw\|avx512_vnni\|amx_bf16\|amx_tile\|avx2\|fma' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
speed="$work/speed.md"
parts="$work/parts.md"
printf '| model | side | tok/s (wall) | tok/s (CPU time) | GFLOP/s (CPU time) | loss step 1, 3 |\n|---|---|---|---|---|---|\n' >"$speed"
printf '| model | part | GFLOP | fp32 CPU s | fp32 GFLOP/s | bf16 CPU s | bf16 GFLOP/s | fp32 / bf16 time |\n|---|---|---|---|---|---|---|---|\n' >"$parts"
ratios="$work/ratios.md"
printf '| model | sgemm peak | bf16 GEMM peak | lethe fp32 / PyTorch fp32 | lethe bf16 / PyTorch bf16 | lethe bf16 / lethe fp32 |\n|---|---|---|---|---|---|\n' >"$ratios"
get() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p; s/^$2=\([^[:space:]]*\).*/\1/p" "$1" | head -1; }
loss() { l1=$(grep '^loss step=1 ' "$1" | sed 's/.*total=\([^ ]*\).*/\1/'); l3=$(grep '^loss step=3 ' "$1" | sed 's/.*total=\([^ ]*\).*/\1/'); echo "$l1, $l3"; }
# one row of the speed table: model, side, output file, tokens per step, GFLOP per step
row() {
  wall=$(get "$3" tokens_per_s)
  cs=$(get "$3" cpu_seconds_per_step)
  awk -v m="$1" -v side="$2" -v w="$wall" -v cs="$cs" -v tok="$4" -v g="$5" -v th="$THREADS" -v l="$(loss "$3")" 'BEGIN {
    ct = tok / (cs / th); printf "| %s | %s | %.1f | %.1f | %.1f | %s |\n", m, side, w, ct, g / (cs / th), l }' >>"$speed"
}
blas=""
engine=""
for cfg in $CONFIGS; do
  conf=bench/configs/$cfg.json
  echo "== $cfg: GEMM peaks at the model's shapes ($THREADS threads)"
  "$LETHE" bench gemm --config "$conf" --rows $((BATCH * SEQ)) --threads "$THREADS" | tee "$work/$cfg.gemm"
  peak=$(sed -n 's/^sgemm_peak_gflops=//p' "$work/$cfg.gemm")
  bpeak=$(get "$work/$cfg.gemm" bf16_peak_gflops)
  step() {
    "$LETHE" bench step --config "$conf" --batch "$BATCH" --seq "$SEQ" --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" --profile "$@"
  }
  peer() { "$PYTHON" bench/peer_torch.py --dir "$work/$cfg" --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" "$@" 2>/dev/null; }
  echo "== $cfg: lethe fp32"
  step --device cpu:fp32 --save "$work/$cfg" | tee "$work/$cfg.l32"
  echo "== $cfg: PyTorch fp32, careful"
  peer --careful | tee "$work/$cfg.p32"
  echo "== $cfg: lethe bf16"
  step --device cpu:bf16 | tee "$work/$cfg.l16"
  echo "== $cfg: PyTorch bf16 autocast, careful"
  peer --careful --bf16 | tee "$work/$cfg.p16"
  if [ "$PAPER" = 1 ]; then
    echo "== $cfg: PyTorch fp32, the paper's way"
    peer | tee "$work/$cfg.pp"
  fi
  blas=$(get "$work/$cfg.l32" blas_core)
  engine=$(get "$work/$cfg.l16" bf16_engine)
  tok=$((BATCH * SEQ))
  g=$(get "$work/$cfg.l32" gflop_per_step)
  row "$cfg" "lethe fp32" "$work/$cfg.l32" $tok "$g"
  row "$cfg" "PyTorch fp32 (careful)" "$work/$cfg.p32" $tok "$g"
  row "$cfg" "lethe bf16 (cpu:bf16)" "$work/$cfg.l16" $tok "$g"
  row "$cfg" "PyTorch bf16 autocast (careful)" "$work/$cfg.p16" $tok "$g"
  [ "$PAPER" = 1 ] && row "$cfg" "PyTorch fp32 (paper's way)" "$work/$cfg.pp" $tok "$g"
  c=""
  for f in l32 p32 l16 p16; do c="$c $(get "$work/$cfg.$f" cpu_seconds_per_step)"; done
  echo "$c" | awk -v m="$cfg" -v p="$peak" -v bp="$bpeak" '{
    printf "| %s | %.1f GFLOP/s | %.1f GFLOP/s | %.2fx | %.2fx | %.2fx |\n", m, p, bp, $2 / $1, $4 / $3, $1 / $3 }' >>"$ratios"
  # the per-part table: CPU seconds per step of each part, fp32 beside bf16
  grep '^part ' "$work/$cfg.l32" | sed 's/^part name="\([^"]*\)".*cpu_seconds_per_step=\([^ ]*\) gflop=\([^ ]*\)/\1|\2|\3/' >"$work/a"
  grep '^part ' "$work/$cfg.l16" | sed 's/^part name="\([^"]*\)".*cpu_seconds_per_step=\([^ ]*\) gflop=\([^ ]*\)/\1|\2|\3/' >"$work/b"
  c32=$(get "$work/$cfg.l32" cpu_seconds_per_step)
  c16=$(get "$work/$cfg.l16" cpu_seconds_per_step)
  paste -d'|' "$work/a" "$work/b" | awk -F'|' -v m="$cfg" -v th="$THREADS" -v c32="$c32" -v c16="$c16" '
    function rate(g, s) { return (g > 0 && s > 0) ? sprintf("%.1f", g / (s / th)) : "-" }
    { printf "| %s | %s | %s | %.4f | %s | %.4f | %s | %s |\n", m, $1, ($3 > 0 ? sprintf("%.2f", $3) : "-"), $2, rate($3, $2), $5, rate($3, $5),
        ($5 > 0 ? sprintf("%.2fx", $2 / $5) : "-"); s32 += $2; s16 += $5 }
    END { printf "| %s | rest (copies, residual adds, gathers, loss) | - | %.4f | - | %.4f | - | %.2fx |\n", m, c32 - s32, c16 - s16, (c32 - s32) / (c16 - s16);
          printf "| %s | **whole step** | - | %.4f | - | %.4f | - | %.2fx |\n", m, c32, c16, c32 / c16 }' >>"$parts"
done
echo
cat "$ratios" "$speed" "$parts"
res=bench/RESULTS.md
# without AVX512_BF16 lethe's cpu:bf16 falls back to fp32 weights: its rows are then no bf16 measurement
if [ "$engine" = none ] || [ -z "$engine" ]; then
  bf16_says="none: this CPU has no AVX512_BF16, so lethe's cpu:bf16 rows ran with fp32 weights and its bf16 ratios measure nothing (the bf16 targets need a CPU with AVX512_BF16)"
else
  bf16_says="$engine (lethe's own VDPBF16PS engine, kernels/cpu/gemm_bf16.c)"
fi
{
  echo "<!-- step-bench:begin -->"
  echo "## The Low-Rank NPO step on the CPU (bench/run.sh)"
  echo
  echo "- machine: $cpu, $cores cores; CPU flags: $flags; threads $THREADS; OpenBLAS kernel $blas (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}); bf16 products: $bf16_says; all sides in this one run, interleaved"
  echo "- commit $commit; command: \`THREADS=$THREADS STEPS=$STEPS bench/run.sh\`; batch $BATCH x $SEQ tokens, $STEPS timed steps after $WARMUP warm-up steps, OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
  echo "- step: NPO + retain NLL + gold-token KL, LoRA r 5 alpha 5 on q_proj,v_proj, Adam; both sides cache the reference log-probs once; the peer is PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null) with transformers, SDPA attention, lm_head on the answer rows only, fp32 or \`torch.autocast(\"cpu\", dtype=torch.bfloat16)\`"
  echo "- tok/s (CPU time) = tokens / (process CPU seconds per step / threads): what the step costs in CPU time, the figure a machine shared with other jobs distorts least; tok/s (wall) is the wall clock of this run. Ratios below use CPU time."
  echo "- GFLOP/s counts useful work only (bench/FLOPS.md); the peaks are the best rate over the model's own GEMM shapes (lethe bench gemm, in CPU time too)"
  echo
  cat "$ratios"
  echo
  cat "$speed"
  echo
  echo "Per part of lethe's step (lethe bench step --profile; CPU seconds per step, GFLOP/s = useful GFLOP / (CPU s / threads)):"
  echo
  cat "$parts"
  echo "<!-- step-bench:end -->"
} >"$work/section.md"
bench/results_section.sh step-bench "$work/section.md" "$res"
echo "wrote $res"

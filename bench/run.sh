#!/bin/sh
# bench/run.sh: the CPU speed benchmark of issue "CPU speed". In one run, for each model shape in
# bench/configs (olmo-small, smollm2-135m) at batch 4 x 256 tokens and 2 threads, it measures:
#   1. the sgemm peak at the model's shapes (lethe bench gemm, OpenBLAS),
#   2. lethe's Low-Rank NPO step (lethe bench step), which also saves the random model, adapter
#      and batch,
#   3. the PyTorch peer (bench/peer_torch.py: transformers + a LoRA on q,v, reference forward with
#      the adapter off every step) on exactly that model and batch,
# prints the loss terms of both sides (the same computation, to fp32 tolerance), and writes the
# table into bench/RESULTS.md. Needs a build (make) and pip torch + transformers + safetensors.
# Usage: bench/run.sh [THREADS=2 STEPS=5 BATCH=4 SEQ=256 bench/run.sh]
set -eu
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-5}
BATCH=${BATCH:-4}
SEQ=${SEQ:-256}
CONFIGS=${CONFIGS:-"olmo-small smollm2-135m"}
LETHE=${LETHE:-build/lethe}
[ -x "$LETHE" ] || make build
export OMP_NUM_THREADS=$THREADS
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table="$work/table.md"
printf '| model | sgemm peak GFLOP/s | lethe tok/s | PyTorch tok/s | lethe / PyTorch | lethe GFLOP/s | of peak | lethe peak RSS / design bytes | loss (lethe / PyTorch, step 1 and 3) |\n|---|---|---|---|---|---|---|---|---|\n' >"$table"
blas=""
for cfg in $CONFIGS; do
  conf=bench/configs/$cfg.json
  echo "== $cfg: sgemm at the model's shapes ($THREADS threads)"
  "$LETHE" bench gemm --config "$conf" --rows $((BATCH * SEQ)) --threads "$THREADS" | tee "$work/$cfg.gemm"
  peak=$(sed -n 's/^sgemm_peak_gflops=//p' "$work/$cfg.gemm")
  echo "== $cfg: lethe"
  "$LETHE" bench step --config "$conf" --batch "$BATCH" --seq "$SEQ" --threads "$THREADS" --steps "$STEPS" --warmup 2 \
    --save "$work/$cfg" | tee "$work/$cfg.lethe"
  echo "== $cfg: PyTorch peer"
  python3 bench/peer_torch.py --dir "$work/$cfg" --threads "$THREADS" --steps "$STEPS" --warmup 2 2>/dev/null | tee "$work/$cfg.peer"
  get() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p; s/^$2=\([^[:space:]]*\).*/\1/p" "$1" | head -1; }
  lt=$(get "$work/$cfg.lethe" tokens_per_s)
  lg=$(get "$work/$cfg.lethe" gflops)
  rss=$(get "$work/$cfg.lethe" peak_rss_mb)
  des=$(get "$work/$cfg.lethe" design_mb)
  blas=$(get "$work/$cfg.lethe" blas_core)
  pt=$(get "$work/$cfg.peer" tokens_per_s)
  l1=$(grep '^loss step=1 ' "$work/$cfg.lethe" | sed 's/.*total=\([^ ]*\).*/\1/')
  l3=$(grep '^loss step=3 ' "$work/$cfg.lethe" | sed 's/.*total=\([^ ]*\).*/\1/')
  p1=$(grep '^loss step=1 ' "$work/$cfg.peer" | sed 's/.*total=\([^ ]*\).*/\1/')
  p3=$(grep '^loss step=3 ' "$work/$cfg.peer" | sed 's/.*total=\([^ ]*\).*/\1/')
  awk -v cfg="$cfg" -v peak="$peak" -v lt="$lt" -v pt="$pt" -v lg="$lg" -v rss="$rss" -v des="$des" \
      -v l1="$l1" -v l3="$l3" -v p1="$p1" -v p3="$p3" 'BEGIN {
    printf "| %s | %.1f | %.1f | %.1f | %.2fx | %.1f | %.0f%% | %.0f / %.0f MB = %.2f | %s / %s, %s / %s |\n",
      cfg, peak, lt, pt, lt / pt, lg, 100 * lg / peak, rss, des, rss / des, l1, p1, l3, p3 }' >>"$table"
done
echo
cat "$table"
# Replace the step-benchmark section of bench/RESULTS.md.
res=bench/RESULTS.md
{
  echo "<!-- step-bench:begin -->"
  echo "## The Low-Rank NPO step on the CPU (bench/run.sh)"
  echo
  echo "- machine: $cpu, $cores cores; threads $THREADS; OpenBLAS kernel $blas (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}); both sides in this one run"
  echo "- commit $commit; command: \`THREADS=$THREADS STEPS=$STEPS bench/run.sh\`; batch $BATCH x $SEQ tokens, $STEPS timed steps after 2 warm-up steps"
  echo "- step: NPO + retain NLL + gold-token KL, LoRA r 5 alpha 5 on q_proj,v_proj, Adam; lethe caches the reference log-probs once, the peer (PyTorch $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null), transformers, eager, fp32) recomputes them every step as the paper's code does"
  echo "- GFLOP/s counts useful work only (bench/FLOPS.md); the sgemm peak is the best OpenBLAS rate at the model's own GEMM shapes"
  echo
  cat "$table"
  echo "<!-- step-bench:end -->"
} >"$work/section.md"
bench/results_section.sh step-bench "$work/section.md" "$res"
echo "wrote $res"

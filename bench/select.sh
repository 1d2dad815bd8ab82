#!/bin/sh
# bench/select.sh: evaluation while unlearning and best-epoch selection (issue 21). On two data
# sets -- the demo's (lethe demo --quick's memorised model and people) and stories260K made to
# memorise synthetic people of its own (lethe data bios, seed 7) -- one Low-Rank NPO run of 20
# epochs evaluated after every epoch gives the fixed-epoch results (epochs 5, 10, 20: a constant
# schedule makes a fixed-E run the first E epochs of it, tests/unlearn/test_select_best.c checks
# this) and the best-selected one; then the evaluation overhead, --lr auto on stories260K and a
# small lethe sweep.
# Writes the section "select" of bench/RESULTS.md. Needs a build (make) and jq.
# Usage: bench/select.sh [THREADS=1]
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh # THREADS, LETHE, S, commit, $work, $sec, demo_data, bios_data
t() { jq -r "$1" "$2"; }
row() { # name, eval_log, epoch -> table row of that epoch's evaluation
  jq -r --argjson e "$3" --arg n "$1" 'select((.epoch|round) == $e) |
    "| \($n) | \(.forget_regurgitation|.*1000|round/1000) / \(.forget_knowledge|.*1000|round/1000) | \(.retain_regurgitation|.*1000|round/1000) / \(.retain_knowledge|.*1000|round/1000) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) |"' "$2"
}
table() { # label, run dir
  log="$2/eval_log.jsonl"
  ce=$(t '.evaluation.chosen.epoch|round' "$2/run.json")
  echo "| $1 | forget regurg. / knowl. | retain regurg. / knowl. | task aggregate | MIA AUC | MIA score | final |"
  echo "|---|---|---|---|---|---|---|"
  for e in 5 10 20; do row "fixed $e epochs" "$log" $e; done
  row "**best-selected (epoch $ce)**" "$log" "$ce"
  ev=$(t '.evaluation.eval_seconds' "$2/run.json"); tr=$(t '.training.seconds' "$2/run.json")
  n=$(t '.evaluation.evaluations' "$2/run.json")
  echo
  echo "evaluation overhead: $n evaluations in $(printf %.1f "$ev") s against $(printf %.1f "$tr") s of training ($(echo "$ev $tr" | awk '{printf "%.0f", 100*$1/$2}')%)"
  echo
}
# data set 1: the demo's
demo_data
"$LETHE" unlearn --model "$work/demo/memorised/model" --forget "$D/forget.jsonl" --retain "$D/retain.jsonl" \
  --mia-members "$D/mia_members.jsonl" --mia-nonmembers "$D/mia_nonmembers.jsonl" --eval-every 1 --eval-max-new 96 \
  --lr 2e-3 --epochs 20 --seed 1 --threads "$THREADS" --quiet --out "$work/d1"
# data set 2: stories260K on its own people
bios_data
common="--model $work/mem/model --tokenizer $S/tok512.bin --forget $B/forget.jsonl --retain $B/retain.jsonl --mia-members $B/mia_members.jsonl --mia-nonmembers $B/mia_nonmembers.jsonl --eval-every 1 --eval-max-new 64 --threads $THREADS --quiet"
# shellcheck disable=SC2086
"$LETHE" unlearn $common --lr 1e-2 --epochs 20 --out "$work/d2"
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$LETHE" unlearn $common --lr auto --epochs 20 --out "$work/auto"
auto_s=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
# a small sweep: 2 rates x 2 ranks, 10 epochs each
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$LETHE" sweep $common --lr 3e-3,1e-2 --lora-rank 2,5 --epochs 10 --out "$work/sweep" 2>/dev/null | sed "s|$work/sweep|OUT|g" >"$work/sweep.txt"
sweep_s=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
{
  echo "<!-- select:begin -->"
  echo "## Evaluation while unlearning, best-epoch selection, --lr auto (issue 21)"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores shared with other jobs; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $THREADS thread(s); commit $commit; command: \`bench/select.sh\`"
  echo "- Low-Rank NPO (paper recipe: LoRA r 5 on q,v; NPO + retain NLL + KL 0.5), 20 epochs, evaluated before step 1 and after every epoch (greedy generations of every forget and retain row, MIA on the forget people against never-seen ones); final = mean of task aggregate and MIA score (no MMLU here)"
  echo
  echo "### The demo's data (lethe demo --quick: 3-layer d-96 model, 12 people, 3 to forget), lr 2e-3"
  echo
  table "demo" "$work/d1"
  echo "### stories260K memorising 8 people of its own (2 to forget), lr 1e-2 (over-forgets by the end)"
  echo
  table "stories260K" "$work/d2"
  echo "### --lr auto on stories260K (no other tuning flag)"
  echo
  echo "$(t '.candidates | map("lr \(.lr): best final \(.best_final|.*10000|round/10000)") | join("; ")' "$work/auto/lr_search.json")"
  echo
  echo "chosen lr $(t .chosen_lr "$work/auto/lr_search.json"); search budget $(t .total_steps "$work/auto/lr_search.json") steps ($(t .probe_epochs "$work/auto/lr_search.json") epochs per candidate, 5 candidates) in $(t '.seconds|.*10|round/10' "$work/auto/lr_search.json") s; whole run including the search $auto_s s."
  echo
  echo "| --lr auto, selected | task aggregate | MIA AUC | MIA score | final |"
  echo "|---|---|---|---|---|"
  t '.evaluation.chosen | "| epoch \(.epoch|round) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) |"' "$work/auto/run.json"
  echo
  echo "### lethe sweep on stories260K: --lr 3e-3,1e-2 --lora-rank 2,5, 10 epochs, selected by evaluation"
  echo
  echo '```'
  cat "$work/sweep.txt"
  echo '```'
  echo
  echo "sweep wall time $sweep_s s; sum of the four runs' own times $(t '.sum_of_run_seconds|.*10|round/10' "$work/sweep/sweep.json") s (each run loads the model and computes its reference cache again: they are cheap here)."
  echo
  echo "- SmolLM2-135M (its GGUF converted with lethe convert) with --lr auto: the section "--lr auto --select best on SmolLM2-135M" of RESULTS.md, written by bench/lr_auto_smollm2.sh (its memorising alone takes about an hour on 2 shared cores, so it is a script of its own); the stories260K case above is also a test (tests/unlearn/test_select_best.c). Evaluation is not cheap on models this small: one evaluation (greedy generation of every row, up to 96 / 64 new tokens, then the MIA NLLs) costs about 2-3 epochs of training, so --eval-every 1 triples the time (--eval-every K divides the overhead by K); answer NLLs and MIA document NLLs share one pass over the model. lethe sweep loads the model and computes the reference cache once per run, not once per sweep."
  echo
  echo "<!-- select:end -->"
} >"$sec"
sh bench/results_section.sh select "$sec"
cat "$sec"

#!/bin/sh
# bench/lr_auto_smollm2.sh: `--lr auto --select best` on a real pretrained model (issue 21).
# SmolLM2-135M-Instruct (the Q4_1 GGUF from PyPI, converted with lethe convert, fp32) is made to
# memorise synthetic people of its own (lethe data bios, seed 11: 8 people, 2 to forget, 4 never
# seen for the MIA) with `lethe train --full`; then one `lethe unlearn --lr auto` with no other
# tuning flag (the paper's recipe otherwise: LoRA r 5 on q,v, NPO + retain NLL + KL, 20 epochs),
# evaluated after every epoch and selected by the final score. --eval-max-new 64 bounds the
# evaluation's generations (the longest answer is about 30 tokens); it changes no training.
# Writes the section "select-smollm2" of bench/RESULTS.md. Needs a build (make), jq and the GGUF
# (scripts/fetch-smollm2.sh). Slow: about 40 CPU-minutes of memorising and 30-60 of unlearning.
# Usage: bench/lr_auto_smollm2.sh [THREADS=2] [WORK=dir to keep the runs in]
set -eu
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
LETHE=${LETHE:-build/lethe}
GGUF=${GGUF:-${LETHE_CACHE:-$HOME/.cache/lethe}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "${WORK:-}" ]; then
  work=$WORK
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
t() { jq -r "$1" "$2"; }
secs() { echo "$1 $(date +%s.%N)" | awk '{printf "%.0f", $2 - $1}'; }
[ -d "$work/smol" ] || "$LETHE" convert --model "$GGUF" --out "$work/smol" >/dev/null
B="$work/bios"
[ -d "$B" ] || "$LETHE" data bios --out "$B" --n 8 --forget 2 --holdout 4 --seed 11 >/dev/null
cat "$B/forget.jsonl" "$B/retain.jsonl" >"$B/all.jsonl"
[ -d "$work/mem/model" ] || "$LETHE" train --model "$work/smol" --data "$B/all.jsonl" --full --out "$work/mem" \
  --epochs 15 --lr 3e-4 --batch 8 --threads "$THREADS" --quiet
mem_s=$(t '.training.seconds|round' "$work/mem/run.json")
start=$(date +%s.%N)
"$LETHE" unlearn --model "$work/mem/model" --forget "$B/forget.jsonl" --retain "$B/retain.jsonl" \
  --mia-members "$B/mia_members.jsonl" --mia-nonmembers "$B/mia_nonmembers.jsonl" --eval-every 1 --eval-max-new 64 \
  --lr auto --threads "$THREADS" --quiet --out "$work/auto"
auto_s=$(secs "$start")
run="$work/auto/run.json"
log="$work/auto/eval_log.jsonl"
sec="$work/section.md"
{
  echo "<!-- select-smollm2:begin -->"
  echo "## --lr auto --select best on SmolLM2-135M memorising people of its own (issue 21)"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores (shared with other jobs); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $THREADS threads; commit $commit; command: \`bench/lr_auto_smollm2.sh\`"
  echo "- memorising: \`lethe train --full\` on the 48 forget + retain rows, 15 epochs, lr 3e-4, batch 8: $mem_s s wall"
  echo "- unlearning: \`lethe unlearn --lr auto\` with the paper's recipe otherwise (LoRA r 5 on q,v; NPO + retain NLL + KL; 20 epochs), evaluated before step 1 and after every epoch (greedy generations of all 48 rows up to 64 new tokens; MIA on the 2 forget people's documents against 4 never seen); $auto_s s wall including the search"
  echo
  echo "$(t '.candidates | map("lr \(.lr): best final \(if .best_final == null then "diverged" else (.best_final|.*10000|round/10000) end) (epoch \(.best_epoch))") | join("; ")' "$work/auto/lr_search.json")"
  echo
  echo "chosen lr $(t .chosen_lr "$work/auto/lr_search.json"); search budget $(t .total_steps "$work/auto/lr_search.json") steps ($(t .probe_epochs "$work/auto/lr_search.json") epochs per candidate, 5 candidates) in $(t '.seconds|round' "$work/auto/lr_search.json") s."
  echo
  echo "| SmolLM2-135M | forget regurg. / knowl. | retain regurg. / knowl. | task aggregate | MIA AUC | MIA score | final |"
  echo "|---|---|---|---|---|---|---|"
  jq -r 'select(.step == 0) | "| before unlearning | \(.forget_regurgitation|.*1000|round/1000) / \(.forget_knowledge|.*1000|round/1000) | \(.retain_regurgitation|.*1000|round/1000) / \(.retain_knowledge|.*1000|round/1000) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) |"' "$log" | head -1
  t '.evaluation.chosen | "| **--lr auto, selected (epoch \(.epoch|round))** | \(.forget_regurgitation|.*1000|round/1000) / \(.forget_knowledge|.*1000|round/1000) | \(.retain_regurgitation|.*1000|round/1000) / \(.retain_knowledge|.*1000|round/1000) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) |"' "$run"
  jq -r -s 'last | "| last epoch (\(.epoch|round)) | \(.forget_regurgitation|.*1000|round/1000) / \(.forget_knowledge|.*1000|round/1000) | \(.retain_regurgitation|.*1000|round/1000) / \(.retain_knowledge|.*1000|round/1000) | \(.task_aggregate|.*10000|round/10000) | \(.mia_auc|.*1000|round/1000) | \(.mia_score|.*1000|round/1000) | \(.final|.*10000|round/10000) |"' "$log"
  echo
  echo "bar (task aggregate >= 0.85 and MIA score >= 0.6): $(t '.evaluation.chosen | if .task_aggregate >= 0.85 and .mia_score >= 0.6 then "reached" else "NOT reached" end' "$run")"
  echo
  echo "<!-- select-smollm2:end -->"
} >"$sec"
sh bench/results_section.sh select-smollm2 "$sec"
cat "$sec"

#!/bin/sh
# bench/eval_bench.sh: evaluation speed, lethe eval vs the official script's transformers loop
# (bench/eval_peer.py), in one run on the same model and the same data, for each DTYPE in DTYPES
# (fp32 and/or bf16 on both sides: lethe --dtype, transformers torch_dtype).
# MODEL: smollm2 (SmolLM2-135M-Instruct: the Q4_1 GGUF converted by `lethe convert` to an fp32 Hugging
# Face directory) or stories260K (../shared/models/stories260K, converted the same way with its
# tok512 tokenizer). Both sides read that directory. SETS (each side in turn, per set):
#   demo       the demo's data (lethe data bios, defaults; its first DEMO_ROWS forget and retain rows
#              when set) and its MIA documents
#   lume       a LUME slice: the first ROWS forget and ROWS retain train rows of ../shared/data/lume,
#              the first DOCS member and DOCS non-member documents
#   lume-full  the LUME data: every forget and retain row of train + validation, every member and
#              non-member document of lume/mia
# PEER_SETS (default SETS) are the sets the peer runs too; for a set lethe alone runs, the peer's CPU
# time is extrapolated from its per-row and per-document cost on the last set it ran.
# Greedy generation of MAX_NEW tokens, THREADS threads on both sides. Both whole processes are timed
# by /usr/bin/time (wall, user + system CPU seconds; the peer's load of torch and the model
# included), and the peer also prints its loop's own times. The header says the CPU, its flags,
# whether it has AVX512_BF16 (without it lethe's bf16 path runs its fallback: bf16-rounded weights
# and activations computed through fp32 kernels) and OpenBLAS's core type, and the load average.
# Usage: [MODEL=smollm2 SETS="demo lume" PEER_SETS= ROWS=32 DOCS=150 DEMO_ROWS= MAX_NEW=32 THREADS=2
#         DTYPES=fp32 PY=python3 WORK=] bench/eval_bench.sh
set -eu
cd "$(dirname "$0")/.."
MODEL=${MODEL:-smollm2}
SETS=${SETS:-demo lume}
PEER_SETS=${PEER_SETS:-$SETS}
ROWS=${ROWS:-32}
DOCS=${DOCS:-150}
DEMO_ROWS=${DEMO_ROWS:-}
MAX_NEW=${MAX_NEW:-32}
THREADS=${THREADS:-2}
DTYPES=${DTYPES:-${DTYPE:-fp32}}
PY=${PY:-python3}
LETHE=${LETHE:-build/lethe}
GGUF=${GGUF:-$HOME/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
S260=${S260:-../shared/models/stories260K}
L=${LUME:-../shared/data/lume}
export OMP_NUM_THREADS=$THREADS
# idle OpenMP threads sleep instead of spinning (both sides), so CPU seconds count work on a loaded machine
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

# the machine
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
flags=$(grep -o -w 'avx2\|fma\|f16c\|avx512f\|avx512bw\|avx512vl\|avx512_vnni\|avx512_bf16\|amx_bf16\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')
blas=$(ldd "$LETHE" | sed -n 's/.*libopenblas[^ ]* => \([^ ]*\).*/\1/p' | head -1)
core=$($PY -c "import ctypes,sys; l=ctypes.CDLL(sys.argv[1]); l.openblas_get_corename.restype=ctypes.c_char_p; print(l.openblas_get_corename().decode())" "$blas" 2>/dev/null || echo unknown)
echo "machine: $cpu, $(nproc) cores; flags: $flags"
echo "OpenBLAS: $blas, core type $core (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}); OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
case " $flags " in
*" avx512_bf16 "*) echo "bf16: this CPU has AVX512_BF16: lethe --dtype bf16 runs its AVX512_BF16 engine" ;;
*) echo "bf16: this CPU has NO AVX512_BF16: lethe --dtype bf16 runs its fallback (weights and activations rounded to bf16 as transformers does, products in fp32 kernels); torch's bf16 runs without native bf16 instructions too" ;;
esac
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' (src modified)'); model $MODEL; threads $THREADS; max_new $MAX_NEW; dtypes $DTYPES"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

case $MODEL in
smollm2) model=$work/smollm2; [ -d "$model" ] || "$LETHE" convert --model "$GGUF" --out "$model" >/dev/null ;;
stories260K) model=$work/stories260K; [ -d "$model" ] || "$LETHE" convert --model "$S260/stories260K.bin" --tokenizer "$S260/tok512.bin" --out "$model" >/dev/null ;;
*) echo "MODEL is smollm2 or stories260K" >&2; exit 2 ;;
esac

for set in $SETS; do
  d=$work/$set
  rm -rf "$d"
  mkdir -p "$d/mia"
  case $set in
  demo)
    "$LETHE" data bios --out "$d" >/dev/null
    if [ -n "$DEMO_ROWS" ]; then
      for s in forget retain; do head -n "$DEMO_ROWS" "$d/$s.jsonl" >"$d/$s.tmp" && mv "$d/$s.tmp" "$d/$s.jsonl"; done
    fi
    mv "$d/mia_members.jsonl" "$d/mia/member.jsonl"
    mv "$d/mia_nonmembers.jsonl" "$d/mia/nonmember.jsonl"
    ;;
  lume)
    head -n "$ROWS" $L/forget_train.jsonl >"$d/forget.jsonl"
    head -n "$ROWS" $L/retain_train.jsonl >"$d/retain.jsonl"
    head -n "$DOCS" $L/mia/member.jsonl >"$d/mia/member.jsonl"
    head -n "$DOCS" $L/mia/nonmember.jsonl >"$d/mia/nonmember.jsonl"
    ;;
  lume-full)
    cat $L/forget_train.jsonl $L/forget_validation.jsonl >"$d/forget.jsonl"
    cat $L/retain_train.jsonl $L/retain_validation.jsonl >"$d/retain.jsonl"
    cp $L/mia/member.jsonl $L/mia/nonmember.jsonl "$d/mia/"
    ;;
  *) echo "unknown set $set (demo, lume, lume-full)" >&2; exit 2 ;;
  esac
done

cpu_s() { read -r w u s <"$1"; echo "$u + $s" | bc; }
wall_s() { read -r w u s <"$1"; echo "$w"; }
for dt in $DTYPES; do
  case $dt in fp32) TD=float32 ;; bf16) TD=bfloat16 ;; *) echo "DTYPES holds fp32 or bf16" >&2; exit 2 ;; esac
  for set in $SETS; do
    d=$work/$set
    # non-empty lines per file (lume/mia/member.jsonl has no final newline: cat would join two lines)
    rows=$(awk 'NF { n++ } END { print n }' "$d/forget.jsonl" "$d/retain.jsonl")
    docs=$(awk 'NF { n++ } END { print n }' "$d/mia/member.jsonl" "$d/mia/nonmember.jsonl")
    tag=$set-$dt
    rm -rf "$work/out-$tag"
    /usr/bin/time -f "%e %U %S" -o "$work/time-lethe-$tag" "$LETHE" eval --model "$model" --data-dir "$d" --out "$work/out-$tag" \
      --max-new "$MAX_NEW" --threads "$THREADS" --dtype "$dt" --quiet >/dev/null
    lc=$(cpu_s "$work/time-lethe-$tag")
    line="$set dtype=$dt rows=$rows docs=$docs lethe_wall_s=$(wall_s "$work/time-lethe-$tag") lethe_cpu_s=$lc"
    line="$line lethe_cpu_ms_per_row_or_doc=$(echo "scale=1; 1000 * $lc / ($rows + $docs)" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
    case " $PEER_SETS " in
    *" $set "*)
      /usr/bin/time -f "%e %U %S" -o "$work/time-peer-$tag" $PY bench/eval_peer.py "$model" "$d" "$MAX_NEW" "$THREADS" "$TD" \
        >"$work/peer-$tag.json" 2>"$work/peer-$tag.err"
      pc=$(cpu_s "$work/time-peer-$tag")
      # the peer's per-row and per-document CPU seconds (its loop), for the extrapolation below
      pr=$($PY -c "import json,sys; j=json.load(open(sys.argv[1])); print('%.3f %.3f %.2f' % (j['rows_cpu_s'] / max(j['rows'], 1), j['mia_cpu_s'] / max(j['docs'], 1), $pc - j['rows_cpu_s'] - j['mia_cpu_s']))" "$work/peer-$tag.json")
      echo "$pr" >"$work/peer-cost-$dt"
      line="$line peer_wall_s=$(wall_s "$work/time-peer-$tag") peer_cpu_s=$pc cpu_ratio_peer_over_lethe=$(echo "scale=2; $pc / $lc" | bc)"
      line="$line peer_cpu_s_per_row=$(echo "$pr" | cut -d' ' -f1) peer_cpu_s_per_doc=$(echo "$pr" | cut -d' ' -f2) load=$(cut -d' ' -f1 /proc/loadavg) peer_loop=$(cat "$work/peer-$tag.json")"
      ;;
    *)
      if [ -f "$work/peer-cost-$dt" ]; then
        read -r cr cd cl <"$work/peer-cost-$dt"
        pe=$(echo "scale=1; ($rows * $cr + $docs * $cd + $cl) / 1" | bc)
        line="$line peer=not_run peer_cpu_s_extrapolated=$pe (its measured per-row and per-document cost) cpu_ratio_peer_over_lethe_extrapolated=$(echo "scale=2; $pe / $lc" | bc)"
      else
        line="$line peer=not_run"
      fi
      ;;
    esac
    echo "$line"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

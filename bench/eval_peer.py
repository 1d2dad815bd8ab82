#!/usr/bin/env python3
"""bench/eval_peer.py: the official SemEval-2025 Task 4 script's evaluation loop (evaluate_generations.py:
per row, tokenizer(question) -> model.generate(greedy, max_new_tokens, use_cache) -> decode, then
model(question + answer, labels with the question masked).loss; per MIA document model(doc,
labels=doc).loss), timed, on a Hugging Face model directory, for bench/eval_bench.sh.

    python bench/eval_peer.py MODEL_DIR DATA_DIR MAX_NEW [THREADS [DTYPE]]

DTYPE: float32 (default) or bfloat16 (the organisers' torch_dtype).

DATA_DIR holds forget.jsonl, retain.jsonl, mia/member.jsonl, mia/nonmember.jsonl. Prints one JSON
line: rows, new tokens, documents, and the seconds of generation+NLL and of the MIA pass."""

import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    model_dir, data, max_new = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    tok = AutoTokenizer.from_pretrained(model_dir)
    dtype = sys.argv[5] if len(sys.argv) > 5 else "float32"
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=getattr(torch, dtype)).eval()
    rows = jsonl(os.path.join(data, "forget.jsonl")) + jsonl(os.path.join(data, "retain.jsonl"))
    new_tokens = 0
    t0, c0 = time.time(), time.process_time()
    with torch.no_grad():
        for r in rows:
            q, a = r["input"], r["output"]
            ids = tok(q, return_tensors="pt").input_ids
            both = tok(q + a, return_tensors="pt").input_ids
            labels = both.clone()
            labels[:, : ids.shape[1]] = -100
            out = model.generate(ids, max_new_tokens=max_new, do_sample=False, use_cache=True,
                                 pad_token_id=tok.eos_token_id)
            new_tokens += out.shape[1] - ids.shape[1]
            tok.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
            model(both, labels=labels).loss.item()
    t_rows, c_rows = time.time() - t0, time.process_time() - c0
    docs = jsonl(os.path.join(data, "mia", "member.jsonl")) + jsonl(os.path.join(data, "mia", "nonmember.jsonl"))
    t0, c0 = time.time(), time.process_time()
    with torch.no_grad():
        for d in docs:
            ids = tok(d["document"], return_tensors="pt").input_ids
            model(ids, labels=ids.clone()).loss.item()
    t_mia, c_mia = time.time() - t0, time.process_time() - c0
    print(json.dumps({"rows": len(rows), "new_tokens": int(new_tokens), "docs": len(docs), "rows_s": t_rows, "mia_s": t_mia,
                      "rows_cpu_s": c_rows, "mia_cpu_s": c_mia}))


if __name__ == "__main__":
    main()

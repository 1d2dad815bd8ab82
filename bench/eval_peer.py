#!/usr/bin/env python3
"""bench/eval_peer.py: the official SemEval-2025 Task 4 script's evaluation loop (evaluate_generations.py:
per row, tokenizer(question) -> model.generate(greedy, max_new_tokens, use_cache) -> decode, then
model(question + answer, labels with the question masked).loss; per MIA document model(doc,
labels=doc).loss), timed, on a Hugging Face model directory, for bench/eval_bench.sh.

    python bench/eval_peer.py MODEL_DIR DATA_DIR MAX_NEW [THREADS [DTYPE]]

DTYPE: float32 (default) or bfloat16 (the organisers' torch_dtype).

Where a sequence is longer than the model's context (config max_position_embeddings: stories260K's
512 on LUME's longer rows and documents; never on SmolLM2's 8192) it is cut as lethe eval cuts it,
so that both sides do the same work: a prompt to its last ctx - 1 tokens with generation stopping at
the context, question + answer to its last ctx tokens, a document to its first ctx tokens (counted
in "cut"). The official script runs OLMo (4096 tokens), whose context LUME's data never exceed.

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
    ctx = getattr(model.config, "max_position_embeddings", None) or 1 << 30
    rows = jsonl(os.path.join(data, "forget.jsonl")) + jsonl(os.path.join(data, "retain.jsonl"))
    new_tokens = cut = 0
    t0, c0 = time.time(), time.process_time()
    with torch.no_grad():
        for r in rows:
            q, a = r["input"], r["output"]
            ids = tok(q, return_tensors="pt").input_ids
            both = tok(q + a, return_tensors="pt").input_ids
            labels = both.clone()
            labels[:, : ids.shape[1]] = -100
            if ids.shape[1] > ctx - 1 or both.shape[1] > ctx:
                cut += 1
                ids, both, labels = ids[:, -(ctx - 1):], both[:, -ctx:], labels[:, -ctx:]
            out = model.generate(ids, max_new_tokens=max(1, min(max_new, ctx - ids.shape[1])), do_sample=False,
                                 use_cache=True, pad_token_id=tok.eos_token_id)
            new_tokens += out.shape[1] - ids.shape[1]
            tok.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
            model(both, labels=labels).loss.item()
    t_rows, c_rows = time.time() - t0, time.process_time() - c0
    docs = jsonl(os.path.join(data, "mia", "member.jsonl")) + jsonl(os.path.join(data, "mia", "nonmember.jsonl"))
    t0, c0 = time.time(), time.process_time()
    with torch.no_grad():
        for d in docs:
            ids = tok(d["document"], return_tensors="pt").input_ids
            if ids.shape[1] > ctx:
                cut += 1
                ids = ids[:, :ctx]
            model(ids, labels=ids.clone()).loss.item()
    t_mia, c_mia = time.time() - t0, time.process_time() - c0
    print(json.dumps({"dtype": dtype, "rows": len(rows), "new_tokens": int(new_tokens), "docs": len(docs), "cut": cut,
                      "rows_s": round(t_rows, 2), "mia_s": round(t_mia, 2), "rows_cpu_s": round(c_rows, 2),
                      "mia_cpu_s": round(c_mia, 2), "torch": torch.__version__,
                      "torch_cpu": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

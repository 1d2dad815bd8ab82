#!/usr/bin/env python3
"""tools/reference/make_score_fixtures.py: transformers' per-token log-probabilities for `lethe score`.

Writes tests/fixtures/score/:
  tokenizer.json   a small BPE (Metaspace, 96 ids) that fits models/llama_tiny's vocabulary of 96
  rows.jsonl       LUME-style rows {id, input, output}; docs.jsonl documents {document}
  expected.json    per row, as transformers computes them on llama_tiny (fp32, eager) alone and with
                   the PEFT adapter tests/fixtures/peft/llama_tiny_peft: the ids of input+output,
                   the prompt length (len of the input's ids), and log_softmax(logits)[p, ids[p+1]]
                   for p from max(n_prompt - 1, 0) to len - 2
Run: /work/venv/bin/python tools/reference/make_score_fixtures.py
"""
import json
import os

import torch
from peft import PeftModel
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import AutoModelForCausalLM

FX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
D = os.path.join(FX, "score")
ROWS = [
    {"id": "a1", "input": "Who wrote the letter?", "output": " Ada wrote it in the autumn."},
    {"id": "a2", "input": "Where is the tower", "output": " near the old river"},
    {"id": 3, "input": "Name", "output": " Tom"},
    {"id": "a4", "input": "The quiet garden and the stone wall were", "output": " both older than the town."},
]
DOCS = [{"document": "The river was cold and the town was quiet."}, {"document": "Ada wrote letters."},
        {"document": "Tom and Ada walked to the tower near the garden wall in the autumn rain."}]


def main():
    os.makedirs(D, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    text = [r["input"] + r["output"] for r in ROWS] + [d["document"] for d in DOCS]
    tok.train_from_iterator(text * 3, trainers.BpeTrainer(vocab_size=96, special_tokens=["<unk>"]))
    tok.save(os.path.join(D, "tokenizer.json"))
    with open(os.path.join(D, "rows.jsonl"), "w") as f:
        for r in ROWS:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(D, "docs.jsonl"), "w") as f:
        for d in DOCS:
            f.write(json.dumps(d) + "\n")
    name = os.path.join(FX, "models", "llama_tiny")
    base = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, attn_implementation="eager").eval()
    out = {}
    for which, model in [("base", base), ("adapter", PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, attn_implementation="eager").eval(),
            os.path.join(FX, "peft", "llama_tiny_peft")))]:
        for kind, items in [("rows", ROWS), ("docs", DOCS)]:
            res = []
            for it in items:
                inp, outp = (it["input"], it["output"]) if kind == "rows" else ("", it["document"])
                ids = tok.encode(inp + outp).ids
                n_prompt = len(tok.encode(inp).ids) if inp else 0
                assert max(ids) < 96
                with torch.no_grad():
                    lp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].double(), -1)
                first = max(n_prompt - 1, 0)
                res.append({"ids": ids, "n_prompt": n_prompt, "scored": ids[first + 1:],
                            "logprobs": [lp[p, ids[p + 1]].item() for p in range(first, len(ids) - 1)]})
            out[f"{which}_{kind}"] = res
    json.dump(out, open(os.path.join(D, "expected.json"), "w"), indent=1)
    print({k: [len(r["scored"]) for r in v] for k, v in out.items()})


if __name__ == "__main__":
    main()

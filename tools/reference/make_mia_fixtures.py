#!/usr/bin/env python3
"""Writes tests/fixtures/mia/: the expected values of lethe's MIA attacks and memorisation
metrics (src/eval/attacks.c), computed independently with torch in float64 from the definitions
of open-unlearning (src/evals/metrics/mia/*.py, memorization.py: read for the formulas), and the
CSV fields of the official layout as Python's csv module (what pandas.to_csv uses) writes them.

    /work/venv/bin/python tools/reference/make_mia_fixtures.py

attacks.json: V (vocabulary), k, and "seqs": for each sequence its member flag, text, targets,
logits (T x V float32 values, written exactly), base_logits (the adapter-off model's), and the
expected per-token logp / mu / var / argmax and per-sequence scores (loss, zlib, min_k,
min_k_plus_plus, reference, exact_memorization, extraction_strength); "auc": every attack's AUC
with open-unlearning's convention (non-members are the positives of the score, roc_auc_score),
computed here by counting pairs (ties one half)."""

import csv
import io
import json
import os
import random
import zlib

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "mia")
V, K = 37, 0.2


def min_k(lp, k):
    n = max(1, int(len(lp) * k))
    return -float(torch.sort(lp).values[:n].mean())


def seq_case(g, member, T, text):
    scale = 3.0 if member else 1.5
    logits = (torch.randn(T, V, generator=g) * scale).to(torch.float32)
    targets = torch.randint(0, V, (T,), generator=g)
    # Members: make the target the greedy choice on a run at the end (memorised suffix).
    if member:
        for t in range(T // 2, T):
            logits[t, targets[t]] = logits[t].max() + 1.0
    base = (logits + torch.randn(T, V, generator=g).to(torch.float32) * 0.5).to(torch.float32)
    lps = torch.log_softmax(logits.double(), dim=-1)
    logp = lps.gather(1, targets[:, None]).squeeze(1)
    p = lps.exp()
    mu = (p * lps).sum(-1)
    var = (p * lps.square()).sum(-1) - mu.square()
    preds = lps.argmax(-1)
    loss = -float(logp.mean())
    z = (logp - mu) / var.clamp(min=1e-6).sqrt()
    base_loss = -float(torch.log_softmax(base.double(), -1).gather(1, targets[:, None]).mean())
    hit = preds == targets
    em = float(hit.double().mean())
    n = T
    k = 0
    for k in range(n):
        if torch.equal(preds[k:], targets[k:]):
            break
    es = 1 - k / n
    return {
        "member": int(member), "text": text, "targets": targets.tolist(),
        "logits": [[float(x) for x in row] for row in logits], "base_logits": [[float(x) for x in row] for row in base],
        "logp": logp.tolist(), "mu": mu.tolist(), "var": var.tolist(), "argmax": preds.tolist(),
        "scores": {"loss": loss, "zlib": loss / len(zlib.compress(text.encode("utf-8"))), "min_k": min_k(logp, K),
                   "min_k_plus_plus": min_k(z, K), "reference": loss - base_loss},
        "exact_memorization": em, "extraction_strength": es,
    }


def auc_nonmember_positive(seqs, key):
    pos = [s["scores"][key] for s in seqs if not s["member"]]
    neg = [s["scores"][key] for s in seqs if s["member"]]
    tot = 0.0
    for a in pos:
        for b in neg:
            tot += 1.0 if a > b else 0.5 if a == b else 0.0
    return tot / (len(pos) * len(neg))


def main():
    os.makedirs(FIX, exist_ok=True)
    g = torch.Generator().manual_seed(16)
    rnd = random.Random(16)
    words = "alpha beta gamma delta the of and Zoë 東京 lily park story once upon time".split()
    seqs = []
    for i in range(11):
        T = [1, 2, 3, 5, 8, 13, 21, 4, 6, 9, 17][i]
        text = " ".join(rnd.choice(words) for _ in range(3 + 2 * T))
        seqs.append(seq_case(g, i % 2 == 0, T, text))
    # A fully memorised sequence (extraction strength 1) and one whose last token is missed.
    s = seq_case(g, True, 6, "fully memorised")
    seqs.append(s)
    out = {"V": V, "k": K, "seqs": seqs,
           "auc": {key: auc_nonmember_positive(seqs, key) for key in
                   ("loss", "zlib", "min_k", "min_k_plus_plus", "reference")}}
    with open(os.path.join(FIX, "attacks.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    # CSV fields as the official script's pandas.to_csv writes them (csv module, QUOTE_MINIMAL).
    fields = ["plain", "with,comma", 'with "quote"', "line\nbreak", "cr\rhere", "", " lead space", "Zoë 東京",
              '"2ebbbb06-ab81"sc1', "tab\there", "semi;colon"]
    with open(os.path.join(FIX, "csv_fields.jsonl"), "w", encoding="utf-8") as f:
        for x in fields:
            b = io.StringIO()
            csv.writer(b, lineterminator="\n").writerow(["a", x, "z"])
            f.write(json.dumps({"field": x, "row": b.getvalue()}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

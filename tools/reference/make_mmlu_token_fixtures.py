#!/usr/bin/env python3
"""Writes tests/fixtures/eval/mmlu_tokens.jsonl and mmlu_real_tokens.txt: the token ids of MMLU
prompts as allenai/open-instruct's eval/mmlu/run_eval.py builds and tokenises them, with the OLMo
tokenizer (transformers' fast tokenizer on ../shared/tokenizers/olmo-0724/tokenizer.json):

  (transformers' PreTrainedTokenizerFast is the `tokenizers` Tokenizer of that file: its encode
  with and without the post-processor's special tokens is used directly here)
  * k starts at --ntrain (5) and is lowered while tokenizer(prompt, add_special_tokens=False)
    is longer than the limit (2048 in run_eval.py; smaller limits here exercise the loop);
  * the model sees tokenizer(prompt) with its special tokens (get_next_word_predictions'
    add_special_tokens=True), and the answer is the argmax over the last position's
    probabilities of the candidates encode(" " + X, add_special_tokens=False)[-1], X = A..D.

Prompts are built here from the CSVs with open-instruct's format_subject / format_example /
gen_prompt (pandas' NA strings read as "nan"), and checked against mmlu_mini_prompts.jsonl (made
with pandas). mmlu_tokens.jsonl holds the ids for our own mmlu_mini questions; for the real MMLU
in ../shared only k, the length and a 64-bit FNV-1a hash of the ids are committed (no text).

    /work/venv/bin/python tools/reference/make_mmlu_token_fixtures.py [--shared ../shared]"""

import argparse
import csv
import json
import os

from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "eval")
NA = set(json.load(open(os.path.join(FIX, "pandas_na.json")))["na"])


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    return [[("nan" if x in NA else x) for x in r] for r in rows]


def fmt_subject(s):
    return "".join(" " + e for e in s.split("_"))


def fmt_example(r, answer=True):
    p = r[0]
    for j, c in enumerate("ABCD"):
        p += "\n{}. {}".format(c, r[j + 1])
    p += "\nAnswer:"
    if answer:
        p += " {}\n\n".format(r[5])
    return p


def gen_prompt(dev, subject, k):
    p = "The following are multiple choice questions (with answers) about {}.\n\n".format(fmt_subject(subject))
    for i in range(k):
        p += fmt_example(dev[i])
    return p


def encode_open_instruct(tok, dev, test_row, subject, ntrain, limit):
    k = ntrain
    end = fmt_example(test_row, answer=False)
    prompt = gen_prompt(dev, subject, k) + end
    ids = tok(prompt, add_special_tokens=False).input_ids
    while len(ids) > limit and k > 0:  # run_eval.py would loop forever below k = 0
        k -= 1
        prompt = gen_prompt(dev, subject, k) + end
        ids = tok(prompt, add_special_tokens=False).input_ids
    return k, prompt, tok(prompt).input_ids


def fnv64(ids):
    h = 0xCBF29CE484222325
    for x in ids:
        for b in int(x).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    a = ap.parse_args()
    t = Tokenizer.from_file(os.path.join(a.shared, "tokenizers", "olmo-0724", "tokenizer.json"))
    choice_ids = [t.encode(" " + c, add_special_tokens=False).ids[-1] for c in "ABCD"]

    class Ids:
        def __init__(self, ids):
            self.input_ids = ids

    def tok(text, add_special_tokens=True):
        return Ids(t.encode(text, add_special_tokens=add_special_tokens).ids)
    mini = os.path.join(FIX, "mmlu_mini")
    want = {}
    for line in open(os.path.join(FIX, "mmlu_mini_prompts.jsonl"), encoding="utf-8"):
        d = json.loads(line)
        if not d["literal"]:
            want[(d["subject"], d["index"], d["k"])] = d["prompt"]
    out = []
    for subject in sorted(f[: -len("_test.csv")] for f in os.listdir(os.path.join(mini, "test"))):
        dev = read(os.path.join(mini, "dev", subject + "_dev.csv"))[:5]
        test = read(os.path.join(mini, "test", subject + "_test.csv"))
        for i, row in enumerate(test):
            for k in (0, 1, 5):
                if (subject, i, k) in want:
                    built = gen_prompt(dev, subject, min(k, len(dev))) + fmt_example(row, answer=False)
                    assert built == want[(subject, i, k)], (subject, i, k)
            for limit in (2048, 120, 60):
                k, prompt, ids = encode_open_instruct(tok, dev, row, subject, min(5, len(dev)), limit)
                out.append({"subject": subject, "index": i, "limit": limit, "k": k, "ids": ids})
    with open(os.path.join(FIX, "mmlu_tokens.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"choice_ids": choice_ids}) + "\n")
        for d in out:
            f.write(json.dumps(d) + "\n")
    real = os.path.join(a.shared, "data", "mmlu")
    lines = []
    for subject in sorted(f[: -len("_test.csv")] for f in os.listdir(os.path.join(real, "test"))):
        dev = read(os.path.join(real, "dev", subject + "_dev.csv"))[:5]
        test = read(os.path.join(real, "test", subject + "_test.csv"))
        for i in range(min(3, len(test))):
            k, _, ids = encode_open_instruct(tok, dev, test[i], subject, 5, 2048)
            lines.append(f"{subject} {i} {k} {len(ids)} {fnv64(ids):016x}")
    with open(os.path.join(FIX, "mmlu_real_tokens.txt"), "w") as f:
        f.write("# subject index k n fnv64(ids as int32 LE): open-instruct run_eval.py, OLMo tokenizer, limit 2048\n")
        f.write("\n".join(lines) + "\n")
    print("wrote", len(out), "mini and", len(lines), "real prompts; k < 5 for", sum(1 for l in lines if l.split()[2] != "5"))


if __name__ == "__main__":
    main()

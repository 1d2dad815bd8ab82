#!/usr/bin/env python3
"""tools/reference/make_smollm2_fixtures.py: llama.cpp's answers on SmolLM2-135M-Instruct (Q4_1 GGUF,
fetched by scripts/fetch-smollm2.sh) for lethe's tests, written to tests/fixtures/gguf/:

  smollm2_greedy.json    three prompts: their token ids (llama.cpp's tokenizer, the file's own
                         add-BOS setting, special tokens parsed) and llama.cpp's greedy continuation
                         (argmax of the logits, temperature 0) for 48 tokens (EOS does not stop it:
                         it is a token like the others, so every run is 48 long), with the
                         margin between the best and second-best logit at each step (small margins
                         are where an fp32 computation may legitimately pick another token)
  smollm2_tokenize.json  many strings (hand-written edge cases and seeded random mixes of letters,
                         digits, punctuation, whitespace and non-ASCII) with llama.cpp's ids

With --fp32 it also writes the GGUF's weights dequantised to fp32 (gguf-py) into a temporary GGUF
and records llama.cpp's greedy continuation on that copy ("continuation_ids_fp32"): llama.cpp then
multiplies fp32 weights by fp32 activations, as lethe does, instead of quantising the activations
to 8 bits for its Q4_1 / Q8_0 dot products, so any remaining difference is lethe's own.

With --check-tokjson PATH it instead compares the Hugging Face `tokenizers` library, loading the
tokenizer.json that lethe emitted from the GGUF (e.g. by `lethe convert`), against llama.cpp on the
same strings, and prints the mismatches.

Run: python3 tools/reference/make_smollm2_fixtures.py [--gguf PATH] [--check-tokjson PATH]
(pip: llama-cpp-python numpy; tokenizers for --check-tokjson)
"""
import argparse
import json
import os
import random

import numpy as np
from llama_cpp import Llama

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf")
DEFAULT_GGUF = os.path.join(os.environ.get("LETHE_CACHE", os.path.expanduser("~/.cache/lethe")), "smollm2",
                            "SmolLM2-135M-Instruct.Q4_1.gguf")
PROMPTS = [
    "The capital of France is",
    "<|im_start|>user\nWhat is the largest planet in the solar system?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, in a small village by the sea, there lived",
]
MAX_NEW = 48

HAND = [
    "", " ", "  ", "\n", "\n\n", "\t", "Hello world", "Hello, world!", " Hello", "hello   world", "Hello\nworld",
    "The year 2024 had 366 days.", "3.14159", "1,000,000", "x=12345678901234567890", "version 1.2.3-rc4",
    "I'm sure you're right, they'll see we'd've done it.", "IT'S DON'T", "'s 't 're", "e-mail: someone@example.com",
    "https://example.com/path?q=1&r=2#frag", "def f(x):\n    return x ** 2\n", "if (a != b) { c += 1; }",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u00fcber stra\u00dfe", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\u4e2d\u6587\u5b57", "\ud55c\uad6d\uc5b4", "\u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "emoji \U0001F642\U0001F680 and \u2764\ufe0f",
    "\u00bd \u2153 \u2460 \u0663", "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>", "a<|endoftext|>b",
    "<|im_start|>assistant", "text with  two  spaces", "trailing space ", "   leading", "tabs\tand\tmore\ttabs",
    "mixed \r\n line endings\r\n", "CamelCaseIdentifierName", "snake_case_identifier", "ALLCAPS WORDS HERE",
    "!!!???...", "((([[[{{{", "--- *** ___", "$100 and 50%", "#hashtag @mention", "a1b2c3d4", "0x7fff",
    "Question: What is 2+2?\nAnswer: 4", "The quick brown fox jumps over the lazy dog.",
    "Ms. Smith's cat, Mr. Whiskers, isn't amused.", "\u2018curly\u2019 \u201cquotes\u201d \u2014 dash \u2026",
]

ALPHABET = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 4 + list("0123456789") * 2 +
            list(" " * 30) + list("\n\t.,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`") +
            ["\u00e9", "\u00fc", "\u00df", "\u65e5", "\u672c", "\U0001F642", "\u2014", "\u00a0", "\u0416", "\u0663",
             "'s", "'ll", "  ", "\r\n", "<|im_end|>"])


def random_strings(n, seed=7):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(n)]


def strings():
    return HAND + random_strings(150)


def tokenize(tok, s):
    return tok.tokenize(s.encode("utf-8"), add_bos=True, special=True)


def greedy(llm, prompt_ids):
    llm.reset()
    llm.eval(prompt_ids)
    out, margins = [], []
    for _ in range(MAX_NEW):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        order = np.argsort(-logits, kind="stable")
        t = int(order[0])
        out.append(t)
        margins.append(round(float(logits[order[0]] - logits[order[1]]), 4))
        llm.eval([t])
    return out, margins


def fp32_copy(gguf, path):
    """The same model with every tensor dequantised to fp32 (metadata copied; file_type 0)."""
    import gguf as gg
    from gguf.quants import dequantize
    r = gg.GGUFReader(gguf)
    arch = r.fields["general.architecture"].contents()
    w = gg.GGUFWriter(path, arch)
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        sub = field.types[-1] if field.types[0] == gg.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), field.types[0], sub_type=sub)
    w.add_file_type(0)
    for t in r.tensors:
        x = dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, x.reshape([int(d) for d in reversed(t.shape)]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def add_fp32(gguf):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "smollm2_f32.gguf")
        fp32_copy(gguf, path)
        llm = Llama(model_path=path, n_ctx=256, logits_all=True, verbose=False, seed=0, n_threads=2)
        fn = os.path.join(OUT, "smollm2_greedy.json")
        g = json.load(open(fn))
        for run in g["runs"]:
            cont, margins = greedy(llm, run["prompt_ids"])
            run["continuation_ids_fp32"] = cont
            run["margins_fp32"] = margins
            same = next((i for i, (a, b) in enumerate(zip(cont, run["continuation_ids"])) if a != b), min(len(cont), len(run["continuation_ids"])))
            print(repr(run["prompt"][:40]), "fp32 copy agrees with the Q4_1 run for", same, "tokens")
        with open(fn, "w") as f:
            json.dump(g, f, indent=1, ensure_ascii=False)
            f.write("\n")


def make(gguf):
    tok = Llama(model_path=gguf, vocab_only=True, verbose=False)
    cases = [{"text": s, "ids": tokenize(tok, s)} for s in strings()]
    with open(os.path.join(OUT, "smollm2_tokenize.json"), "w") as f:
        json.dump({"model": os.path.basename(gguf), "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    llm = Llama(model_path=gguf, n_ctx=256, logits_all=True, verbose=False, seed=0, n_threads=2)
    runs = []
    for p in PROMPTS:
        ids = tokenize(tok, p)
        cont, margins = greedy(llm, ids)
        runs.append({"prompt": p, "prompt_ids": ids, "continuation_ids": cont, "margins": margins,
                     "text": llm.detokenize(cont).decode("utf-8", "replace")})
        print(repr(p), "->", repr(runs[-1]["text"]), "min margin", min(margins) if margins else None)
    with open(os.path.join(OUT, "smollm2_greedy.json"), "w") as f:
        json.dump({"model": os.path.basename(gguf), "max_new": MAX_NEW, "runs": runs}, f, indent=1, ensure_ascii=False)
        f.write("\n")


def check_tokjson(gguf, path):
    from tokenizers import Tokenizer
    hf = Tokenizer.from_file(path)
    tok = Llama(model_path=gguf, vocab_only=True, verbose=False)
    bad = 0
    ss = strings()
    for s in ss:
        a, b = hf.encode(s).ids, tokenize(tok, s)
        if a != b:
            bad += 1
            print("DIFF", repr(s), "\n  tokenizers:", a, "\n  llama.cpp: ", b)
    print(f"{len(ss) - bad} of {len(ss)} strings encode identically (tokenizers with {path} vs llama.cpp)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--check-tokjson")
    ap.add_argument("--fp32", action="store_true", help="only add the fp32-copy continuations to smollm2_greedy.json")
    a = ap.parse_args()
    if a.check_tokjson:
        check_tokjson(a.gguf, a.check_tokjson)
    elif a.fp32:
        add_fp32(a.gguf)
    else:
        make(a.gguf)
        add_fp32(a.gguf)


if __name__ == "__main__":
    main()

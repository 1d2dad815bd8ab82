#!/usr/bin/env python3
"""tools/reference/make_gguf_llama2c_tokenizer.py: the ids llama2.c's encode() gives for many strings
with a llama2.c tokenizer file (default ../shared/models/stories260K/tok512.bin), computed by a
faithful Python port of run.c's encode (BOS, the " " dummy prefix, UTF-8 characters looked up or
split into byte tokens <0xXX> = byte + 3, then repeated merging of the adjacent pair whose
concatenation has the highest score, leftmost on ties), written to
tests/fixtures/gguf/llama2c_tok512_encode.json for lethe's test of the tokenizer.json it derives
from the same file (src/tokenizer/tok_llama2c_json.c).

With --check-tokjson PATH it compares the Hugging Face `tokenizers` library loading PATH (the
tokenizer.json lethe wrote, e.g. by `lethe convert --tokenizer tok512.bin`) against the port and
prints every string that differs.

Run: python3 tools/reference/make_gguf_llama2c_tokenizer.py [--tok PATH] [--check-tokjson PATH]
"""
import argparse
import json
import os
import random
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf", "llama2c_tok512_encode.json")
DEFAULT_TOK = os.path.join(ROOT, "..", "shared", "models", "stories260K", "tok512.bin")


def load(path):
    b = open(path, "rb").read()
    o = 4
    vocab, scores = [], []
    while o < len(b):
        s, n = struct.unpack_from("<fi", b, o)
        o += 8
        vocab.append(b[o:o + n])
        scores.append(s)
        o += n
    return vocab, scores


def encode(vocab, scores, text, bos=True, eos=False):
    """run.c's encode(), on bytes."""
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    data = text.encode("utf-8")
    toks = [1] if bos else []
    if data:
        toks.append(lookup[b" "])
    buf = b""
    for k, c in enumerate(data):
        if (c & 0xC0) != 0x80:
            buf = b""
        buf += bytes([c])
        if k + 1 < len(data) and (data[k + 1] & 0xC0) == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            toks.append(lookup[buf])
        else:
            toks.extend(x + 3 for x in buf)
        buf = b""
    while True:
        best, best_id, best_i = -1e10, -1, -1
        for i in range(len(toks) - 1):
            j = lookup.get(vocab[toks[i]] + vocab[toks[i + 1]])
            if j is not None and scores[j] > best:
                best, best_id, best_i = scores[j], j, i
        if best_i < 0:
            break
        toks[best_i:best_i + 2] = [best_id]
    if eos:
        toks.append(2)
    return toks


HAND = [
    "", " ", "Once upon a time", "Once upon a time, there was a little girl named Lily.",
    "She loved to play outside in the park.", "  two leading spaces", "trailing  ", "multiple   spaces here",
    "Tom said, \"Let's go!\"", "The cat's toy was red, blue and green.", "line one\nline two\n\nline four",
    "tabs\tare\tbytes", "numbers 1234567890 and 3.14", "UPPER lower MiXeD", "caf\u00e9 na\u00efve", "\u65e5\u672c",
    "emoji \U0001F642", "a", "ab", "abc", "aaaaaaaa", "the the the the", "happy happily happiness",
    "!@#$%^&*()_+-=[]{};':\",./<>?\\|`~", "\u2581already\u2581a\u2581metaspace", "<s>", "</s>", "<unk>",
]


def strings():
    rng = random.Random(11)
    words = ("once upon a time there was little girl boy named lily tom ben sue she he they loved play park "
             "dog cat ball tree sun happy sad big small red blue went saw said to the and with in on of was "
             "were had very friends mom dad day fun toy").split()
    alphabet = list("abcdefghijklmnopqrstuvwxyz") * 3 + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + list("0123456789") + \
        list(" " * 20) + list(".,!?'\"\n-") + ["\u00e9", "\u00fc", "\u65e5", "\U0001F642", "\u2014"]
    out = list(HAND)
    for _ in range(120):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 14))) + rng.choice(["", ".", "!", "?", ","]))
    for _ in range(80):
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", default=DEFAULT_TOK)
    ap.add_argument("--check-tokjson")
    a = ap.parse_args()
    vocab, scores = load(a.tok)
    ss = strings()
    if a.check_tokjson:
        from tokenizers import Tokenizer
        hf = Tokenizer.from_file(a.check_tokjson)
        bad = 0
        for s in ss:
            x, y = hf.encode(s).ids, encode(vocab, scores, s)
            if x != y:
                bad += 1
                print("DIFF", repr(s), "\n  tokenizers:", x, "\n  llama2.c:  ", y)
        print(f"{len(ss) - bad} of {len(ss)} strings encode identically (tokenizers with {a.check_tokjson} vs llama2.c)")
        return
    cases = [{"text": s, "ids": encode(vocab, scores, s)} for s in ss]
    with open(OUT, "w") as f:
        json.dump({"tokenizer": "stories260K/tok512.bin", "bos": True, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(len(cases), "cases written to", OUT)


if __name__ == "__main__":
    main()

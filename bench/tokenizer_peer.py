#!/usr/bin/env python3
"""bench/tokenizer_peer.py: the Python peer of bench/tokenizer_bench.c: the same texts ("input"
and "output" of every JSONL row, each on its own, no special tokens) encoded by pip `tokenizers`,
single-threaded: a loop of Tokenizer.encode, and Tokenizer.encode_batch with RAYON_NUM_THREADS=1
(set before tokenizers is imported). Prints the same columns and the same ids hash as the C side.
Usage: RAYON_NUM_THREADS=1 tokenizer_peer.py [--reps N] TOKENIZER FILE.jsonl..."""
import argparse
import json
import os
import struct
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import tokenizers  # noqa: E402  (after the environment is set)


def fnv(all_ids):
    h = 0xCBF29CE484222325
    for ids in all_ids:
        for b in struct.pack("<%di" % len(ids), *ids):
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("tokenizer")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    texts = []
    for f in a.files:
        with open(f, encoding="utf-8") as fp:
            for line in fp:
                row = json.loads(line)
                texts += [row["input"], row["output"]]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    path = a.tokenizer
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
    t0 = time.perf_counter()
    tok = tokenizers.Tokenizer.from_file(path)
    load = time.perf_counter() - t0

    def loop():
        t0 = time.perf_counter()
        ids = [tok.encode(s, add_special_tokens=False).ids for s in texts]
        return time.perf_counter() - t0, ids

    def batch():
        t0 = time.perf_counter()
        ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        return time.perf_counter() - t0, ids

    cold, ids = loop()
    ntok = sum(len(x) for x in ids)
    h = fnv(ids)
    best_loop = min(loop()[0] for _ in range(a.reps))
    best_batch = 1e30
    for _ in range(a.reps):
        dt, ids2 = batch()
        best_batch = min(best_batch, dt)
    assert fnv(ids2) == h
    print("# tokenizers %s: %d texts, %d bytes, %d tokens, ids hash %016x, load %.3f s, "
          "RAYON_NUM_THREADS=%s" % (tokenizers.__version__, len(texts), nbytes, ntok, h, load,
                                    os.environ.get("RAYON_NUM_THREADS")))
    for name, dt in (("tokenizers encode (first)", cold), ("tokenizers encode (best)", best_loop),
                     ("tokenizers encode_batch", best_batch)):
        print("%-28s %10.4f %12.2f %14.0f" % (name, dt, nbytes / dt / 1e6, ntok / dt))


if __name__ == "__main__":
    main()

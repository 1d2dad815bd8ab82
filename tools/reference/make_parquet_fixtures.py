#!/usr/bin/env python3
"""Writes the Parquet fixtures of lethe's reader (tests/fixtures/parquet/) and the fuzz seed corpus
(fuzz/corpus/parquet/) with pyarrow, the writer Hugging Face datasets use.

    /work/venv/bin/python tools/reference/make_parquet_fixtures.py [--lume ../shared/data/lume --lume-out DIR]

rows.jsonl holds synthetic rows in the LUME schema (id, input, output, task, plus an extra column
"split"), with the hard cases: ids holding '"', non-ASCII text, an embedded NUL, empty strings, a
null task, a long text, repeated values (so that dictionaries matter). Every rows_*.parquet holds
the same rows, written with one codec x encoding x data page version (and small row groups and
pages in some), and must read back as rows.jsonl. docs.jsonl / docs_*.parquet are MIA documents
({"id": int64, "document"}). With --lume-out the task's own file names are written from the
public LUME split (not committed: ../shared is never copied into the repository)."""

import argparse
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "parquet")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "parquet")

WORDS = ("the quick brown fox jumps over a lazy dog while Zoë naïvely sings "
         "über crème brûlée 東京 ☃ and then stops").split()


def synthetic_rows():
    rows = []
    for i in range(30):
        kind = "sc" if i % 3 == 0 else "qa"
        uid = f'"{i:04d}-abcd-{i * 7919 % 10000:04d}"{kind}{i % 5 + 1}'
        words = [WORDS[(i * 3 + k) % len(WORDS)] for k in range(5 + i % 7)]
        inp = " ".join(words) + ("?" if kind == "qa" else "")
        out = " ".join(reversed(words[: 2 + i % 4]))
        task = f"Task{i % 3 + 1}"
        rows.append({"id": uid, "input": inp, "output": out, "task": task, "split": "forget"})
    rows[4]["output"] = "with a NUL \x00 inside"
    rows[5]["output"] = ""
    rows[6]["task"] = None
    rows[7]["input"] = "long " * 700 + "end"
    rows[8]["input"] = "tab\tnewline\nquote\" backslash\\ done"
    return rows


def synthetic_docs():
    return [{"id": 58350216 + 1000 * i,
             "document": " ".join(WORDS[(i + k) % len(WORDS)] for k in range(20 + i))} for i in range(24)]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False) + "\n")


def table(rows, schema):
    return pa.Table.from_pylist(rows, schema=schema)


ROW_SCHEMA = pa.schema([("id", pa.string()), ("input", pa.string()), ("output", pa.string()),
                        ("task", pa.string()), ("split", pa.string())])
DOC_SCHEMA = pa.schema([("id", pa.int64()), ("document", pa.string())])

# (name, codec, dictionary, data page version, row group size, data page size)
VARIANTS = [
    ("none_v1_dict", "NONE", True, "1.0", None, None),
    ("none_v1_plain", "NONE", False, "1.0", None, None),
    ("snappy_v1_dict", "SNAPPY", True, "1.0", None, None),
    ("gzip_v1_plain", "GZIP", False, "1.0", 7, None),
    ("zstd_v1_dict", "ZSTD", True, "1.0", None, 256),
    ("none_v2_plain", "NONE", False, "2.0", None, None),
    ("snappy_v2_dict", "SNAPPY", True, "2.0", 11, 128),
    ("gzip_v2_dict", "GZIP", True, "2.0", None, None),
    ("zstd_v2_plain", "ZSTD", False, "2.0", None, 200),
]


def write_pq(path, t, codec, dictionary, version, rg, page):
    kw = dict(compression=codec, use_dictionary=dictionary, data_page_version=version)
    if rg:
        kw["row_group_size"] = rg
    if page:
        kw["data_page_size"] = page
    pq.write_table(t, path, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lume", default=os.path.join(ROOT, "..", "shared", "data", "lume"))
    ap.add_argument("--lume-out", default=None, help="write the LUME split as the task's Parquet files here")
    a = ap.parse_args()
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    rows, docs = synthetic_rows(), synthetic_docs()
    write_jsonl(os.path.join(FIX, "rows.jsonl"), rows)
    write_jsonl(os.path.join(FIX, "docs.jsonl"), docs)
    for name, codec, dic, ver, rg, page in VARIANTS:
        write_pq(os.path.join(FIX, f"rows_{name}.parquet"), table(rows, ROW_SCHEMA), codec, dic, ver, rg, page)
    write_pq(os.path.join(FIX, "docs_snappy_v1_dict.parquet"), table(docs, DOC_SCHEMA), "SNAPPY", True, "1.0", None, None)
    write_pq(os.path.join(FIX, "docs_zstd_v2_plain.parquet"), table(docs, DOC_SCHEMA), "ZSTD", False, "2.0", None, None)
    # int32 ids and a column of a type lethe does not decode (a double): still readable rows.
    t = pa.table({"id": pa.array(list(range(len(rows))), pa.int32()),
                  "input": [r["input"] for r in rows], "output": [r["output"] for r in rows],
                  "weight": pa.array([0.5] * len(rows), pa.float64())})
    pq.write_table(t, os.path.join(FIX, "rows_int_id.parquet"), compression="NONE")
    # Inputs lethe must refuse, each with its own message: a codec it does not read (LZ4_RAW,
    # BROTLI), an encoding it does not read (DELTA_BYTE_ARRAY), a nested (list) column.
    pq.write_table(table(rows[:5], ROW_SCHEMA), os.path.join(FIX, "bad_lz4.parquet"), compression="LZ4")
    pq.write_table(table(rows[:5], ROW_SCHEMA), os.path.join(FIX, "bad_brotli.parquet"), compression="BROTLI")
    pq.write_table(table(rows[:5], ROW_SCHEMA), os.path.join(FIX, "bad_delta.parquet"), compression="NONE",
                   use_dictionary=False, column_encoding={"input": "DELTA_BYTE_ARRAY"})
    pq.write_table(pa.table({"id": ["a", "b"], "input": ["x", "y"], "output": ["p", "q"],
                             "choices": [["1", "2"], ["3"]]}), os.path.join(FIX, "bad_nested.parquet"))
    # Fuzz seeds: small files of each kind.
    small = rows[:4]
    for name, codec, dic, ver, rg, page in VARIANTS:
        write_pq(os.path.join(CORPUS, f"{name}.parquet"), table(small, ROW_SCHEMA), codec, dic, ver, 2, 64)
    write_pq(os.path.join(CORPUS, "docs.parquet"), table(docs[:3], DOC_SCHEMA), "NONE", True, "1.0", None, None)
    if a.lume_out:
        os.makedirs(a.lume_out, exist_ok=True)
        for split in ("forget_train", "forget_validation", "retain_train", "retain_validation"):
            with open(os.path.join(a.lume, split + ".jsonl"), encoding="utf-8") as f:
                lr = [json.loads(line) for line in f if line.strip()]
            pq.write_table(pa.Table.from_pylist(lr), os.path.join(a.lume_out, f"{split}-00000-of-00001.parquet"))
        for mia in ("member", "nonmember"):
            with open(os.path.join(a.lume, "mia", mia + ".jsonl"), encoding="utf-8") as f:
                lr = [{"id": str(d["id"]), "document": d["document"]} for d in map(json.loads, f) if d]
            pq.write_table(pa.Table.from_pylist(lr), os.path.join(a.lume_out, f"mia_{mia}-00000-of-00001.parquet"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tools/reference/make_gguf_mistral_fixtures.py: GGUF files as llama.cpp writes a Mistral model
(architecture llama, general.name naming Mistral), for lethe's check that a conversion does not drop
the sliding window silently. From tests/fixtures/gguf/llama_tiny_f32.gguf (made by
make_gguf_fixtures.py), with extra metadata keys inserted (plain struct packing, no gguf-py):
  mistral_nosw.gguf  general.name = "Mistral-7B-v0.1-tiny", no sliding window key
  mistral_sw.gguf    the same and llama.attention.sliding_window = 16
Run: python3 tools/reference/make_gguf_mistral_fixtures.py
"""
import os
import struct

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "gguf")
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(b, o, t):
    if t == 8:
        n, = struct.unpack_from("<Q", b, o)
        return o + 8 + n
    if t == 9:
        et, n = struct.unpack_from("<IQ", b, o)
        o += 12
        for _ in range(n):
            o = skip_value(b, o, et)
        return o
    return o + SIZES[t]


def gstr(s):
    s = s.encode()
    return struct.pack("<Q", len(s)) + s


def rewrite(src, dst, extra):
    b = open(src, "rb").read()
    magic, ver, nt, nkv = struct.unpack_from("<4sIQQ", b, 0)
    o = 24
    align = 32
    for _ in range(nkv):
        n, = struct.unpack_from("<Q", b, o)
        key = b[o + 8:o + 8 + n].decode()
        t, = struct.unpack_from("<I", b, o + 8 + n)
        vo = o + 12 + n
        if key == "general.alignment":
            align, = struct.unpack_from("<I", b, vo)
        o = skip_value(b, vo, t)
    kv_end = o
    for _ in range(nt):
        n, = struct.unpack_from("<Q", b, o)
        nd, = struct.unpack_from("<I", b, o + 8 + n)
        o += 8 + n + 4 + 8 * nd + 4 + 8
    ti_end = o
    data_start = (ti_end + align - 1) // align * align
    add = b""
    for k, (t, v) in extra.items():
        add += gstr(k) + struct.pack("<I", t) + (gstr(v) if t == 8 else struct.pack("<I", v))
    head = struct.pack("<4sIQQ", magic, ver, nt, nkv + len(extra)) + b[24:kv_end] + add + b[kv_end:ti_end]
    head += b"\0" * ((-len(head)) % align)
    open(dst, "wb").write(head + b[data_start:])


def main():
    src = os.path.join(D, "llama_tiny_f32.gguf")
    rewrite(src, os.path.join(D, "mistral_nosw.gguf"), {"general.name": (8, "Mistral-7B-v0.1-tiny")})
    rewrite(src, os.path.join(D, "mistral_sw.gguf"), {"general.name": (8, "Mistral-7B-v0.1-tiny"),
                                                      "llama.attention.sliding_window": (4, 16)})


if __name__ == "__main__":
    main()

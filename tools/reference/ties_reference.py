#!/usr/bin/env python3
"""tools/reference/ties_reference.py: NumPy reference for `lethe merge --combine linear|ties`.

Combines the two committed PEFT adapters of the tiny OLMo fixture (tests/fixtures/peft/olmo_tiny_lethe,
r 3 alpha 6 on q, v, o, down; tests/fixtures/peft/olmo_tiny_peft, r 4 alpha 8 on q, v, down) into the
base weights, tensor by tensor, with each delta D_i = (alpha_i / r_i) B_i A_i:
  linear  W + sum_i w_i D_i
  ties    trim each D_i to its round(density * numel) largest |entries| (ties at the threshold kept),
          elect sign(sum_i w_i T_i) per entry, W + sum_{i agrees} w_i T_i / sum_{i agrees} w_i
          (an entry agrees when T_i != 0 has the elected sign; 0 where none agrees).
Writes tests/fixtures/merge/CASE.safetensors (the expected weights of every adapted projection,
HF names) and tests/fixtures/merge/cases.json (with the relative errors of rank-R truncated SVDs of
combined deltas, for --as-adapter).
Run: python3 tools/reference/ties_reference.py  (pip: numpy, safetensors)
"""
import json
import os

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
ADAPTERS = ["tests/fixtures/peft/olmo_tiny_lethe", "tests/fixtures/peft/olmo_tiny_peft"]
CASES = {
    "linear_w1_07": {"combine": "linear", "weights": [1.0, 0.7], "density": 1.0},
    "ties_d08_w1_1": {"combine": "ties", "weights": [1.0, 1.0], "density": 0.8},  # ZJUKLAB's
    "ties_d03_w1_05": {"combine": "ties", "weights": [1.0, 0.5], "density": 0.3},
}
PROJ = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
        "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def load_adapter(path):
    cfg = json.load(open(os.path.join(ROOT, path, "adapter_config.json")))
    t = load_file(os.path.join(ROOT, path, "adapter_model.safetensors"))
    scale = cfg["lora_alpha"] / cfg["r"]
    deltas = {}
    for key in t:
        if not key.endswith("lora_A.weight"):
            continue
        name = key[len("base_model.model."):-len(".lora_A.weight")] + ".weight"
        A = t[key].astype(np.float64)
        B = t[key.replace("lora_A", "lora_B")].astype(np.float64)
        deltas[name] = (scale * (B @ A)).astype(np.float32)
    return deltas


def trim(d, density):
    k = int(np.floor(density * d.size + 0.5))
    if k == 0:
        return np.zeros_like(d)
    if k >= d.size:
        return d.copy()
    thr = np.sort(np.abs(d).ravel())[::-1][k - 1]
    return np.where(np.abs(d) >= thr, d, 0).astype(np.float32)


def combine(base, deltas, case):
    w = case["weights"]
    out = {}
    for name in sorted(set(k for d in deltas for k in d)):
        W = base[name].astype(np.float64)
        D = [d.get(name, np.zeros_like(base[name])).astype(np.float64) for d in deltas]
        if case["combine"] == "linear":
            merged = sum(wi * Di for wi, Di in zip(w, D))
        else:
            T = [trim(Di.astype(np.float32), case["density"]).astype(np.float64) for Di in D]
            s = sum(wi * Ti for wi, Ti in zip(w, T))
            agree = [(Ti != 0) & (np.sign(Ti) == np.sign(s)) & (s != 0) for Ti in T]
            num = sum(wi * np.where(a, Ti, 0) for wi, Ti, a in zip(w, T, agree))
            den = sum(wi * a for wi, a in zip(w, agree))
            merged = np.where(den != 0, num / np.where(den != 0, den, 1), 0)
        out[name] = (W + merged).astype(np.float32)
    return out


def main():
    base = load_file(os.path.join(ROOT, "tests/fixtures/models/olmo_tiny/model.safetensors"))
    deltas = [load_adapter(a) for a in ADAPTERS]
    outdir = os.path.join(ROOT, "tests/fixtures/merge")
    os.makedirs(outdir, exist_ok=True)
    for name, case in CASES.items():
        save_file(combine(base, deltas, case), os.path.join(outdir, f"{name}.safetensors"))
    # --as-adapter: the relative Frobenius error of a rank-R truncated SVD of each combined delta
    svd = []
    for name, rank in (("ties_d08_w1_1", 4), ("linear_w1_07", 7), ("linear_w1_07", 2)):
        merged = combine(base, deltas, CASES[name])
        tail = total = worst = 0.0
        for t in merged:
            sv = np.linalg.svd((merged[t].astype(np.float64) - base[t].astype(np.float64)), compute_uv=False)
            e2, a2 = float((sv[rank:] ** 2).sum()), float((sv ** 2).sum())
            tail, total, worst = tail + e2, total + a2, max(worst, (e2 / a2) ** 0.5 if a2 else 0.0)
        svd.append({"case": name, "rank": rank, "err_all": (tail / total) ** 0.5, "err_max": worst})
    json.dump({"adapters": ADAPTERS, "cases": CASES, "svd": svd}, open(os.path.join(outdir, "cases.json"), "w"), indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench/adapter_diff.py: how far apart two PEFT LoRA adapters are: the largest, over adapted
projections, of ||B2 A2 - B1 A1||_F / ||B1 A1||_F (the weight update each adapter adds), printed as
one number. Usage: python3 bench/adapter_diff.py ADAPTER_DIR_1 ADAPTER_DIR_2"""
import os
import sys

import torch
from safetensors.torch import load_file


def updates(d):
    t = load_file(os.path.join(d, "adapter_model.safetensors"))
    out = {}
    for k, a in t.items():
        if k.endswith(".lora_A.weight"):
            b = t[k.replace(".lora_A.", ".lora_B.")]
            out[k[: -len(".lora_A.weight")]] = b.double() @ a.double()
    return out


def main():
    u1, u2 = updates(sys.argv[1]), updates(sys.argv[2])
    worst = max(((u2[k] - u1[k]).norm() / u1[k].norm()).item() for k in u1)
    print(f"{worst:.3e}")


if __name__ == "__main__":
    main()

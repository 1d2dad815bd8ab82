#!/usr/bin/env python3
"""bench/peer_torch.py: the PyTorch peer of `lethe bench step`: the same Low-Rank NPO step as a
user would run it in PyTorch eager, the paper's way: transformers' model (OlmoForCausalLM /
LlamaForCausalLM, eager attention, fp32) with a hand-made LoRA on q_proj and v_proj (r 5, alpha 5),
the reference log-probs from a second forward with the adapter switched off every step, NPO + retain
NLL + gold-token KL (beta 0.5, weights 1 / 1 / 0.5), torch.optim.Adam lr 1e-4.

It loads the random model, adapter and batch that `lethe bench step --save DIR` wrote, so both sides
compute the same numbers; it prints tokens/s and the first steps' loss terms in lethe's format.
Usage: python3 bench/peer_torch.py --dir DIR [--threads 2] [--steps 5] [--warmup 2]
"""
import argparse
import json
import os
import resource

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from npo_loss import gold_logp, npo_step, print_losses, timed_steps


class LoRALinear(torch.nn.Module):
    def __init__(self, base, A, B, scale):
        super().__init__()
        self.base = base
        self.A = torch.nn.Parameter(A.clone())
        self.B = torch.nn.Parameter(B.clone())
        self.scale = scale
        self.enabled = True

    def forward(self, x):
        y = self.base(x)
        if self.enabled:
            y = y + self.scale * (x @ self.A.T) @ self.B.T
        return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    batch = json.load(open(os.path.join(a.dir, "batch.json")))
    model = AutoModelForCausalLM.from_pretrained(os.path.join(a.dir, "model"), dtype=torch.float32,
                                                 attn_implementation="eager")
    model.train(False)
    for p in model.parameters():
        p.requires_grad_(False)
    ad = load_file(os.path.join(a.dir, "adapter", "adapter_model.safetensors"))
    scale = batch["alpha"] / batch["rank"]
    loras = []
    for i, layer in enumerate(model.model.layers):
        for name in ("q_proj", "v_proj"):
            key = f"base_model.model.model.layers.{i}.self_attn.{name}"
            m = LoRALinear(getattr(layer.self_attn, name), ad[key + ".lora_A.weight"], ad[key + ".lora_B.weight"], scale)
            setattr(layer.self_attn, name, m)
            loras.append(m)
    params = [t for m in loras for t in (m.A, m.B)]
    opt = torch.optim.Adam(params, lr=batch["lr"])
    seqs = batch["sequences"]
    ids = torch.tensor([s["tokens"] for s in seqs])
    T = ids.shape[1]
    # answer positions t >= n_prompt - 1 predict token t + 1
    mask = torch.zeros(ids.shape[0], T - 1, dtype=torch.bool)
    for i, s in enumerate(seqs):
        mask[i, s["n_prompt"] - 1:] = True
    forget = torch.tensor([s["split"] == "forget" for s in seqs])
    gold = ids[:, 1:]
    beta, wf, wr, wk = batch["beta"], batch["w_forget"], batch["w_retain"], batch["w_kl"]

    def step():
        for m in loras:
            m.enabled = False
        with torch.no_grad():
            ref = gold_logp(model(input_ids=ids).logits, gold)
        for m in loras:
            m.enabled = True
        lp = gold_logp(model(input_ids=ids).logits, gold)
        return npo_step(opt, lp, ref, mask, forget, beta, wf, wr, wk)

    losses, el = timed_steps(step, a.warmup, a.steps)
    toks = ids.numel() * a.steps / el
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peer=torch-{torch.__version__} threads={a.threads} tokens_per_s={toks:.1f} seconds_per_step={el / a.steps:.4f} peak_rss_mb={rss:.1f}")
    print_losses(losses)


if __name__ == "__main__":
    main()

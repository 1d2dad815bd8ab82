#!/usr/bin/env python3
"""bench/peer_torch.py: the PyTorch peer of `lethe bench step`: the same Low-Rank NPO step as a
user would run it in PyTorch eager, the paper's way: transformers' model (OlmoForCausalLM /
LlamaForCausalLM, eager attention, fp32) with a hand-made LoRA on q_proj and v_proj (r 5, alpha 5),
the reference log-probs from a second forward with the adapter switched off every step, NPO + retain
NLL + gold-token KL (beta 0.5, weights 1 / 1 / 0.5), torch.optim.Adam lr 1e-4.

--careful is the strongest way a PyTorch user writes that step: the reference log-probs computed
once before training (as lethe does), lm_head applied only to the answer positions, SDPA attention;
--bf16 adds torch.autocast("cpu", dtype=torch.bfloat16) around the forward (loss in fp32).

It loads the random model, adapter and batch that `lethe bench step --save DIR` wrote, so both sides
compute the same numbers; it prints tokens/s and the first steps' loss terms in lethe's format.
Usage: python3 bench/peer_torch.py --dir DIR [--threads 2] [--steps 5] [--warmup 2] [--careful [--bf16]]
"""
import argparse
import json
import os
import contextlib
import resource
import time

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
    ap.add_argument("--careful", action="store_true", help="cached reference, answer-only head, SDPA")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (with --careful)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    batch = json.load(open(os.path.join(a.dir, "batch.json")))
    model = AutoModelForCausalLM.from_pretrained(os.path.join(a.dir, "model"), dtype=torch.float32,
                                                 attn_implementation="sdpa" if a.careful else "eager")
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

    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.bf16 else contextlib.nullcontext

    def answer_logp():
        """gold log-probs at the answer positions only (A): the head runs on those rows alone"""
        with amp():
            h = model.model(input_ids=ids).last_hidden_state[:, :-1][mask]
            z = model.lm_head(h)
        return torch.log_softmax(z.float(), -1).gather(-1, gold[mask][:, None]).squeeze(-1)

    if a.careful:
        for m in loras:
            m.enabled = False
        with torch.no_grad():
            ref_rows = answer_logp()  # cached once, like lethe's reference log-probs
        for m in loras:
            m.enabled = True
        ref_full = torch.zeros(mask.shape)
        ref_full[mask] = ref_rows

        def careful_step():
            lp = torch.zeros(mask.shape)
            lp = lp.masked_scatter(mask, answer_logp())
            return npo_step(opt, lp, ref_full, mask, forget, beta, wf, wr, wk)

        step = careful_step  # noqa: F811

    calls = [0, 0.0]  # steps run, process CPU time when the timed ones began

    def counted():
        if calls[0] == a.warmup:
            calls[1] = time.process_time()
        calls[0] += 1
        return step()

    losses, el = timed_steps(counted, a.warmup, a.steps)
    cpu = (time.process_time() - calls[1]) / a.steps
    toks = ids.numel() * a.steps / el
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = ("careful-bf16" if a.bf16 else "careful-fp32") if a.careful else "paper-fp32"
    print(f"peer=torch-{torch.__version__} kind={kind} threads={a.threads} tokens_per_s={toks:.1f} seconds_per_step={el / a.steps:.4f} "
          f"cpu_seconds_per_step={cpu:.4f} peak_rss_mb={rss:.1f}")
    print_losses(losses)


if __name__ == "__main__":
    main()

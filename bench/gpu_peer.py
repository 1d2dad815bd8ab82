#!/usr/bin/env python3
"""bench/gpu_peer.py: the GPU peer of `lethe bench step --device cuda`: transformers + PEFT doing the
paper's Low-Rank NPO step the way a user does on a GPU: the model in bf16 (sdpa attention), a PEFT
LoRA on q_proj and v_proj (r 5, alpha 5; PEFT keeps the adapter in fp32), the reference log-probs from
a forward with the adapter disabled (`model.disable_adapter()`) every step, as the paper's code does,
NPO + retain NLL + gold-token KL (beta 0.5, weights 1 / 1 / 0.5), torch.optim.Adam lr 1e-4.

Two uses:
  --dir DIR      the random model, adapter and batch that `lethe bench step --save DIR` wrote: the
                 same numbers as lethe computes (compare the loss lines), and the speed;
  --config JSON  a random model of that shape drawn on the GPU (no files: a 7B shape needs none),
                 with --batch and --seq; speed only.
Prints, in lethe's key=value format: tokens_per_s, seconds_per_step, peak_gpu_mb
(torch.cuda.max_memory_allocated) and the first steps' loss terms.
"""
import argparse
import json
import os

import torch
import transformers
import peft
from transformers import AutoConfig, AutoModelForCausalLM
from peft import LoraConfig, PeftModel, get_peft_model

from npo_loss import gold_logp, npo_step, print_losses, timed_steps


def load_saved(d, dev):
    model = AutoModelForCausalLM.from_pretrained(os.path.join(d, "model"), dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").to(dev)
    model = PeftModel.from_pretrained(model, os.path.join(d, "adapter"), is_trainable=True)
    batch = json.load(open(os.path.join(d, "batch.json")))
    seqs = batch["sequences"]
    ids = torch.tensor([s["tokens"] for s in seqs])
    n_prompt = [s["n_prompt"] for s in seqs]
    forget = torch.tensor([s["split"] == "forget" for s in seqs])
    return model, ids, n_prompt, forget, batch


def random_model(config, B, T, seed, dev):
    cfg = AutoConfig.from_pretrained(config)
    torch.manual_seed(seed)
    with torch.device(dev):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    lc = LoraConfig(r=5, lora_alpha=5, target_modules=["q_proj", "v_proj"], lora_dropout=0.0,
                    init_lora_weights="gaussian")
    model = get_peft_model(model, lc)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    n_prompt = [T // 4] * B
    forget = torch.tensor([i < (B + 1) // 2 for i in range(B)])
    batch = {"beta": 0.5, "w_forget": 1.0, "w_retain": 1.0, "w_kl": 0.5, "lr": 1e-4}
    return model, ids, n_prompt, forget, batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--config")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a check of this script)")
    a = ap.parse_args()
    dev = a.device
    gpu = dev.startswith("cuda")
    if bool(a.dir) == bool(a.config):
        ap.error("give exactly one of --dir and --config")
    torch.backends.cuda.matmul.allow_tf32 = False
    if a.dir:
        model, ids, n_prompt, forget, batch = load_saved(a.dir, dev)
    else:
        model, ids, n_prompt, forget, batch = random_model(a.config, a.batch, a.seq, a.seed, dev)
    for n, p in model.named_parameters():
        if "lora_" in n:
            p.data = p.data.float()  # PEFT's default for a bf16 base; made explicit
    ids = ids.to(dev)
    forget = forget.to(dev)
    B, T = ids.shape
    # answer positions t >= n_prompt - 1 predict token t + 1
    mask = torch.zeros(B, T - 1, dtype=torch.bool, device=dev)
    for i, n in enumerate(n_prompt):
        mask[i, n - 1:] = True
    gold = ids[:, 1:]
    beta, wf, wr, wk = batch["beta"], batch["w_forget"], batch["w_retain"], batch["w_kl"]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=batch["lr"])

    def step():
        with torch.no_grad(), model.disable_adapter():
            ref = gold_logp(model(input_ids=ids).logits, gold)
        lp = gold_logp(model(input_ids=ids).logits, gold)
        return npo_step(opt, lp, ref, mask, forget, beta, wf, wr, wk)

    if gpu:
        torch.cuda.reset_peak_memory_stats()
    losses, el = timed_steps(step, a.warmup, a.steps, torch.cuda.synchronize if gpu else (lambda: None))
    toks = ids.numel() * a.steps / el
    peak = torch.cuda.max_memory_allocated() / 1048576 if gpu else 0.0
    print(f"peer=transformers-{transformers.__version__}+peft-{peft.__version__}+torch-{torch.__version__} dtype=bf16 "
          f"tokens_per_s={toks:.1f} seconds_per_step={el / a.steps:.4f} peak_gpu_mb={peak:.1f}")
    print_losses(losses)


if __name__ == "__main__":
    main()

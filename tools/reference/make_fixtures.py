#!/usr/bin/env python3
"""tools/reference/make_fixtures.py: PyTorch reference fixtures for the model parity tests.

Builds tiny random models with transformers' own classes (OlmoForCausalLM with clip_qkv,
LlamaForCausalLM with GQA, a tied head and llama3 RoPE scaling, Qwen2ForCausalLM with q/k/v
biases), attaches LoRA with PEFT, and writes, per model, into tests/fixtures/models/NAME/:
  config.json, model.safetensors   the model as save_pretrained writes it
  parity.safetensors               inputs and expected outputs:
    tokens (N) int32, start (S+1) int32, targets (N) int32 (-1: no loss), packed sequences
    logits_base (N, V), loss_base (1)           the model alone
    grad.NAME                                   d loss_base / d every parameter (full training)
    logits_lora (N, V), loss_lora (1)           the model with the LoRA adapter
    lora.KEY, lora_grad.KEY                     adapter weights and d loss_lora / d each (PEFT keys)
  lora.json                                     r, alpha, targets, use_rslora
The loss is the mean next-token NLL over target rows of all sequences, as lethe computes it.
Run: python3 tools/reference/make_fixtures.py  (pip: torch, transformers, peft, safetensors)
"""
import json
import os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, OlmoConfig, OlmoForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "models")
VOCAB = 96
# Two sequences (packed): (prompt length, total length).
SEQS = [(4, 9), (2, 6)]


def variants():
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=4, max_position_embeddings=64, attn_implementation="eager")
    yield ("olmo_tiny", OlmoForCausalLM,
           OlmoConfig(**common, clip_qkv=1.0, pad_token_id=1, eos_token_id=95, tie_word_embeddings=False),
           dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], use_rslora=False))
    yield ("llama_tiny", LlamaForCausalLM,
           LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=True, rms_norm_eps=1e-6,
                       bos_token_id=1, eos_token_id=2,
                       rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                       rope_theta=500.0),
           dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "gate_proj"], use_rslora=True))
    yield ("qwen2_tiny", Qwen2ForCausalLM,
           Qwen2Config(**common, num_key_value_heads=2, tie_word_embeddings=False, rms_norm_eps=1e-6,
                       bos_token_id=1, eos_token_id=2),
           dict(r=3, lora_alpha=6, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"],
                use_rslora=False))


def batch(gen):
    toks, start, targets = [], [0], []
    for p, n in SEQS:
        s = torch.randint(3, VOCAB, (n,), generator=gen)
        toks.append(s)
        start.append(start[-1] + n)
        t = torch.full((n,), -1, dtype=torch.int64)
        t[p - 1:n - 1] = s[p:]
        targets.append(t)
    return toks, torch.tensor(start, dtype=torch.int32), torch.cat(targets).to(torch.int32)


def run(model, toks, targets):
    logits = torch.cat([model(input_ids=s[None]).logits[0] for s in toks])
    lp = torch.log_softmax(logits.float(), dim=-1)
    mask = targets >= 0
    nll = -lp[mask].gather(1, targets[mask].long()[:, None]).squeeze(1)
    return logits, nll.mean()


def main():
    for name, cls, cfg, lcfg in variants():
        torch.manual_seed(1234)
        gen = torch.Generator().manual_seed(99)
        model = cls(cfg).float()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
                else:
                    p.normal_(0.0, 0.15)
        model.eval()
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        toks, start, targets = batch(gen)
        tensors = {"tokens": torch.cat(toks).to(torch.int32), "start": start, "targets": targets}

        model.zero_grad()
        logits, loss = run(model, toks, targets)
        loss.backward()
        tensors["logits_base"] = logits.detach()
        tensors["loss_base"] = loss.detach().reshape(1)
        for n, p in model.named_parameters():
            tensors["grad." + n] = p.grad.detach().clone()
        model.zero_grad()

        pm = get_peft_model(model, LoraConfig(lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                                              init_lora_weights=True, **lcfg))
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_B" in n:
                    p.normal_(0.0, 0.1)
        logits, loss = run(pm, toks, targets)
        loss.backward()
        tensors["logits_lora"] = logits.detach()
        tensors["loss_lora"] = loss.detach().reshape(1)
        for n, p in pm.named_parameters():
            if "lora_" in n:
                key = n.replace(".default", "")
                tensors["lora." + key] = p.detach().clone()
                tensors["lora_grad." + key] = p.grad.detach().clone()
        save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, "parity.safetensors"))
        with open(os.path.join(out, "lora.json"), "w") as f:
            json.dump(lcfg, f, indent=1)
        print(f"{name}: loss_base {tensors['loss_base'].item():.6f} loss_lora {tensors['loss_lora'].item():.6f}")


if __name__ == "__main__":
    main()

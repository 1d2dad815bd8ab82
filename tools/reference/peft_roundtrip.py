#!/usr/bin/env python3
"""tools/reference/peft_roundtrip.py: PEFT's side of the adapter round trip.

For the fixture models olmo_tiny and llama_tiny (tests/fixtures/models):
  1. loads the adapter lethe wrote (tests/fixtures/peft/NAME_lethe, written by
     `LETHE_WRITE_FIXTURES=1 build/tests/test_peft`) with PeftModel.from_pretrained, unchanged,
     and records the logits on the fixture batch: logits_lethe_adapter;
  2. makes an adapter with PEFT (get_peft_model, random B), saves it with save_pretrained to
     tests/fixtures/peft/NAME_peft and records its logits: logits_peft_adapter.
Both go to tests/fixtures/peft/NAME_expected.safetensors; the test checks lethe against them.
Run: python3 tools/reference/peft_roundtrip.py  (pip: torch, transformers, peft, safetensors)
"""
import json
import os

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
PEFT_TARGETS = {"olmo_tiny": ["q_proj", "v_proj", "down_proj"], "llama_tiny": ["q_proj", "k_proj", "o_proj", "gate_proj"]}


def load_base(name):
    return AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "models", name), dtype=torch.float32,
                                                attn_implementation="eager").eval()


def logits(model, name):
    p = load_file(os.path.join(ROOT, "models", name, "parity.safetensors"))
    toks, start = p["tokens"].long(), p["start"].tolist()
    with torch.no_grad():
        return torch.cat([model(input_ids=toks[a:b][None]).logits[0] for a, b in zip(start[:-1], start[1:])]).float()


def main():
    for name, targets in PEFT_TARGETS.items():
        out = {}
        lethe_dir = os.path.join(ROOT, "peft", f"{name}_lethe")
        m = PeftModel.from_pretrained(load_base(name), lethe_dir)
        out["logits_lethe_adapter"] = logits(m, name)
        torch.manual_seed(5)
        m = get_peft_model(load_base(name), LoraConfig(r=4, lora_alpha=8, target_modules=targets, lora_dropout=0.0,
                                                       bias="none", task_type="CAUSAL_LM"))
        with torch.no_grad():
            for n, p in m.named_parameters():
                if "lora_B" in n:
                    p.normal_(0.0, 0.1)
        peft_dir = os.path.join(ROOT, "peft", f"{name}_peft")
        m.save_pretrained(peft_dir)
        # keep the committed files free of this machine's paths and of PEFT's generated model card
        cfg_path = os.path.join(peft_dir, "adapter_config.json")
        cfg = json.load(open(cfg_path))
        cfg["base_model_name_or_path"] = f"tests/fixtures/models/{name}"
        json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
        if os.path.exists(os.path.join(peft_dir, "README.md")):
            os.remove(os.path.join(peft_dir, "README.md"))
        out["logits_peft_adapter"] = logits(m, name)
        save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(ROOT, "peft", f"{name}_expected.safetensors"))
        print(name, {k: tuple(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()

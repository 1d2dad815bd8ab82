#!/usr/bin/env python3
"""tools/reference/peft_targets.py: adapters whose target_modules PEFT resolves in its less plain ways.

On the committed fixture models (tests/fixtures/models) makes, with PEFT's get_peft_model and
save_pretrained, one adapter per case into tests/fixtures/peft/targets_CASE/ and records the
logits PeftModel.from_pretrained gives with it on the fixture batch (models/NAME/parity.safetensors)
as tensor CASE in tests/fixtures/peft/targets_expected.safetensors:
  all_linear   olmo_tiny,  target_modules="all-linear" (PEFT saves the 14 full module names)
  suffix_excl  llama_tiny, ["self_attn.q_proj", "v_proj", "mlp.down_proj"] less
               exclude_modules=["model.layers.1.self_attn.v_proj"]
  layers       qwen2_tiny, ["q_proj", "up_proj"], layers_to_transform=[1], layers_pattern="layers"
  regex        llama_tiny, r".*\\.layers\\.0\\.(self_attn\\.k|mlp\\.gate)_proj"
  excl_regex   qwen2_tiny, "all-linear" less exclude_modules=r".*mlp\\..*"
and the logits PEFT gives with the adapter lethe wrote for some layers only
(tests/fixtures/peft/targets_lethe_partial, written by `LETHE_WRITE_FIXTURES=1 build/tests/test_peft`)
as tensor lethe_partial.
Run: /work/venv/bin/python tools/reference/peft_targets.py  (pip: torch, transformers, peft, safetensors)
"""
import json
import os

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file

from peft_roundtrip import load_base, logits  # the same base models and fixture batch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
CASES = {
    "all_linear": ("olmo_tiny", dict(target_modules="all-linear")),
    "suffix_excl": ("llama_tiny", dict(target_modules=["self_attn.q_proj", "v_proj", "mlp.down_proj"],
                                       exclude_modules=["model.layers.1.self_attn.v_proj"])),
    "layers": ("qwen2_tiny", dict(target_modules=["q_proj", "up_proj"], layers_to_transform=[1], layers_pattern="layers")),
    "regex": ("llama_tiny", dict(target_modules=r".*\.layers\.0\.(self_attn\.k|mlp\.gate)_proj")),
    "excl_regex": ("qwen2_tiny", dict(target_modules="all-linear", exclude_modules=r".*mlp\..*")),
}


def main():
    out = {}
    for case, (name, kw) in CASES.items():
        torch.manual_seed(11)
        m = get_peft_model(load_base(name), LoraConfig(r=2, lora_alpha=5, lora_dropout=0.0, bias="none",
                                                       task_type="CAUSAL_LM", **kw))
        with torch.no_grad():
            for n, p in m.named_parameters():
                if "lora_B" in n:
                    p.normal_(0.0, 0.2)
        d = os.path.join(ROOT, "peft", f"targets_{case}")
        m.save_pretrained(d)
        cfg_path = os.path.join(d, "adapter_config.json")
        cfg = json.load(open(cfg_path))
        cfg["base_model_name_or_path"] = f"tests/fixtures/models/{name}"
        if isinstance(cfg["target_modules"], list):
            cfg["target_modules"] = sorted(cfg["target_modules"])
        json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
        if os.path.exists(os.path.join(d, "README.md")):
            os.remove(os.path.join(d, "README.md"))
        # what PEFT loads back from the directory is what the test compares with
        out[case] = logits(PeftModel.from_pretrained(load_base(name), d), name)
        print(case, name, cfg["target_modules"], sorted(load_file(os.path.join(d, "adapter_model.safetensors")).keys())[:3])
    out["lethe_partial"] = logits(PeftModel.from_pretrained(load_base("llama_tiny"),
                                                            os.path.join(ROOT, "peft", "targets_lethe_partial")), "llama_tiny")
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(ROOT, "peft", "targets_expected.safetensors"))


if __name__ == "__main__":
    main()

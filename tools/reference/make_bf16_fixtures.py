#!/usr/bin/env python3
"""tools/reference/make_bf16_fixtures.py: transformers in bfloat16 (torch_dtype=torch.bfloat16 on the
CPU, as the SemEval-2025 Task 4 organisers load models) for lethe's --dtype bf16.

Writes tests/fixtures/bf16/MODEL.json for the committed fixture models llama_tiny and olmo_tiny
(qwen2_tiny on request) and for stories260K (../shared/models/stories260K, converted here to a Hugging Face Llama
with llama2.c's interleaved RoPE rows permuted to HF's halves):
  prompts     token-id prompts (sampled from the fp32 model, so they read like the model's text)
  answers     a continuation of each prompt (sampled too)
  bf16 / fp32 per prompt: model.generate's greedy new tokens (max_new_tokens MAX_NEW, no eos), and
              per (prompt, answer) row the official script's NLL: model(prompt + answer, labels with
              the prompt masked).loss
Run: /work/venv/bin/python tools/reference/make_bf16_fixtures.py [MODEL ...]   (default: all four)
"""
import json
import os
import struct
import sys
import tempfile

import numpy as np
import torch
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, "..", "..", "tests", "fixtures")
SHARED = os.path.join(HERE, "..", "..", "..", "shared")
N_PROMPTS = 40
MAX_NEW = 24


def stories_hf(out_dir):
    """llama2.c's stories260K.bin -> a Hugging Face Llama directory (fp32 safetensors)."""
    path = os.path.join(SHARED, "models", "stories260K", "stories260K.bin")
    with open(path, "rb") as f:
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq = struct.unpack("7i", f.read(28))
        data = np.frombuffer(f.read(), dtype=np.float32)
    tied = vocab > 0
    vocab = abs(vocab)
    hd = dim // n_heads
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(data[off:off + n].copy()).reshape(*shape)
        off += n
        return t

    emb = take(vocab, dim)
    att_norm = take(n_layers, dim)
    wq = take(n_layers, n_heads * hd, dim)
    wk = take(n_layers, n_kv * hd, dim)
    wv = take(n_layers, n_kv * hd, dim)
    wo = take(n_layers, dim, n_heads * hd)
    ffn_norm = take(n_layers, dim)
    w1 = take(n_layers, hidden, dim)
    w2 = take(n_layers, dim, hidden)
    w3 = take(n_layers, hidden, dim)
    final = take(dim)
    take(seq, hd // 2)
    take(seq, hd // 2)
    head = emb if tied else take(vocab, dim)

    def permute(w, heads):
        return w.view(heads, hd // 2, 2, dim).transpose(1, 2).reshape(heads * hd, dim)

    cfg = LlamaConfig(hidden_size=dim, intermediate_size=hidden, num_hidden_layers=n_layers, num_attention_heads=n_heads,
                      num_key_value_heads=n_kv, vocab_size=vocab, max_position_embeddings=seq, rms_norm_eps=1e-5,
                      tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2)
    m = LlamaForCausalLM(cfg)
    sd = {"model.embed_tokens.weight": emb, "model.norm.weight": final, "lm_head.weight": head}
    for l in range(n_layers):
        p = f"model.layers.{l}."
        sd[p + "input_layernorm.weight"] = att_norm[l]
        sd[p + "post_attention_layernorm.weight"] = ffn_norm[l]
        sd[p + "self_attn.q_proj.weight"] = permute(wq[l], n_heads)
        sd[p + "self_attn.k_proj.weight"] = permute(wk[l], n_kv)
        sd[p + "self_attn.v_proj.weight"] = wv[l]
        sd[p + "self_attn.o_proj.weight"] = wo[l]
        sd[p + "mlp.gate_proj.weight"] = w1[l]
        sd[p + "mlp.down_proj.weight"] = w2[l]
        sd[p + "mlp.up_proj.weight"] = w3[l]
    m.load_state_dict(sd, strict=False)
    m.save_pretrained(out_dir)
    return out_dir


def sample_texts(model, vocab, bos, seed):
    """N_PROMPTS prompts of 3..10 tokens and 8..16-token answers, drawn from the fp32 model."""
    g = torch.Generator().manual_seed(seed)
    prompts, answers = [], []
    for i in range(N_PROMPTS):
        n_p = 3 + i % 8
        n_a = 8 + (i * 5) % 9
        ids = [bos] if bos is not None else [int(torch.randint(3, vocab, (1,), generator=g))]
        with torch.no_grad():
            while len(ids) < n_p + n_a:
                z = model(torch.tensor([ids])).logits[0, -1].float()
                p = torch.softmax(z, -1)
                ids.append(int(torch.multinomial(p, 1, generator=g)))
        prompts.append(ids[:n_p])
        answers.append(ids[n_p:])
    return prompts, answers


def run(model, prompts, answers):
    gens, nlls = [], []
    gc = GenerationConfig(max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=None, pad_token_id=0)
    with torch.no_grad():
        for p, a in zip(prompts, answers):
            out = model.generate(torch.tensor([p]), generation_config=gc)
            gens.append(out[0, len(p):].tolist())
            both = torch.tensor([p + a])
            labels = both.clone()
            labels[:, :len(p)] = -100
            nlls.append(float(model(both, labels=labels).loss))
    return {"generations": gens, "nll": nlls}


def fixture(name, model_dir, bos, seed):
    m32 = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    m16 = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16).eval()
    prompts, answers = sample_texts(m32, m32.config.vocab_size, bos, seed)
    f32, b16 = run(m32, prompts, answers), run(m16, prompts, answers)
    same = sum(x == y for x, y in zip(f32["generations"], b16["generations"]))
    print(f"{name}: transformers fp32 vs bf16: {same} of {len(prompts)} generations identical, "
          f"max |NLL diff| {max(abs(x - y) for x, y in zip(f32['nll'], b16['nll'])):.3e}, "
          f"attention {m16.config._attn_implementation}")
    os.makedirs(os.path.join(FX, "bf16"), exist_ok=True)
    with open(os.path.join(FX, "bf16", name + ".json"), "w") as f:
        json.dump({"model": name, "torch": torch.__version__, "attn_implementation": m16.config._attn_implementation,
                   "max_new": MAX_NEW, "prompts": prompts, "answers": answers, "bf16": b16, "fp32": f32}, f)


def main():
    torch.set_num_threads(1)  # tiny models: one thread is fastest
    want = sys.argv[1:] or ["llama_tiny", "olmo_tiny", "stories260K"]
    for i, name in enumerate(["llama_tiny", "olmo_tiny", "qwen2_tiny"]):
        if name in want:
            fixture(name, os.path.join(FX, "models", name), None, 10 + i)
    if "stories260K" in want:
        with tempfile.TemporaryDirectory() as d:
            fixture("stories260K", stories_hf(d), 1, 20)


if __name__ == "__main__":
    main()

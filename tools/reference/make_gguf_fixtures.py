#!/usr/bin/env python3
"""tools/reference/make_gguf_fixtures.py: small GGUF files and their reference values for lethe's
GGUF reader tests, written with gguf-py (the GGUF library llama.cpp ships) into tests/fixtures/gguf/:

  dequant.gguf + dequant_ref.safetensors
      one tensor per supported type (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K), 2 x 512 values;
      the quantised types hold random blocks (every bit pattern, finite scales) and the reference is
      gguf-py's own dequantize(), as fp32.
  olmo_tiny_f32.gguf, llama_tiny_f32.gguf
      tests/fixtures/models/olmo_tiny and llama_tiny converted with convert_hf_to_gguf.py's
      conventions (q/k rows permuted for llama.cpp's interleaved RoPE; olmo: clamp_kqv; llama: GQA,
      tied head, and Llama 3 RoPE scaling stored as the factors of rope_freqs.weight; fp32): lethe
      must read back the very same weights and config, and so the logits of parity.safetensors.
  llama_mixed.gguf + llama_mixed_ref.safetensors
      a tiny random Llama (GQA, untied head) whose tensors use F32, F16, BF16, Q8_0, Q4_0, Q4_1 and
      Q4_K, with a GPT-2 style byte-level tokenizer; reference logits come from transformers'
      LlamaForCausalLM loaded with the dequantised weights (q/k permuted back).
  olmo_mixed.gguf + olmo_mixed_ref.safetensors
      a tiny random OLMo (clip_qkv, tied head) with Q8_0, Q4_0, Q6_K, F16 tensors and a SentencePiece
      style tokenizer given by scores only; reference logits from OlmoForCausalLM.
  fuzz/corpus/gguf/*.gguf
      the fuzzer's seeds: small models of both architectures with tokenizers, one tensor of every
      supported type, and metadata of every value type (nested arrays included).
  tokenize_cases.json
      strings and the ids llama.cpp (llama-cpp-python, vocab_only) gives them with the tokenizers of
      llama_mixed.gguf and olmo_mixed.gguf (written only when llama_cpp is installed).

Run: python3 tools/reference/make_gguf_fixtures.py   (pip: gguf numpy torch transformers safetensors;
llama-cpp-python for tokenize_cases.json and for a check that llama.cpp reads the models the same way)
"""
import json
import os

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM, OlmoConfig, OlmoForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf")
BLOCK = {T.Q8_0: (32, 34), T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q4_K: (256, 144), T.Q6_K: (256, 210)}
# byte offsets of the f16 scale fields in a block (kept finite and small)
SCALES = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q4_K: [0, 2], T.Q6_K: [208]}


def random_blocks(rng, qt, rows, cols, scale):
    """Random blocks of type qt for a (rows, cols) tensor, scales drawn in [scale/2, scale)."""
    bs, nb = BLOCK[qt]
    raw = rng.integers(0, 256, size=(rows, cols // bs, nb), dtype=np.uint8)
    for off in SCALES[qt]:
        d = (rng.uniform(0.5, 1.0, size=(rows, cols // bs)) * scale).astype(np.float16)
        raw[:, :, off:off + 2] = d.view(np.uint8).reshape(rows, cols // bs, 2)
    return raw.reshape(rows, cols // bs * nb)


def encode(rng, qt, w, scale=None):
    """(raw array for GGUFWriter, raw dtype, dequantised fp32 values) of fp32 matrix w as type qt."""
    if qt == T.F32:
        return w.astype(np.float32), None, w.astype(np.float32)
    if qt == T.F16:
        h = w.astype(np.float16)
        return h, None, h.astype(np.float32)
    if qt in (T.Q4_K, T.Q6_K) or scale is not None:
        raw = random_blocks(rng, qt, w.shape[0], w.shape[1], scale)
    else:
        raw = quantize(w.astype(np.float32), qt)
    return raw, qt, dequantize(raw, qt).reshape(w.shape).astype(np.float32)


def permute(w, n_head):
    """convert_hf_to_gguf's LlamaModel.permute: HF rotate-half rows -> interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add_tensor(writer, name, raw, qt):
    if qt is None:
        writer.add_tensor(name, raw)
    else:
        writer.add_tensor(name, raw, raw_dtype=qt)


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# ---- dequantisation -------------------------------------------------------------------------------

def make_dequant(rng):
    w = gguf.GGUFWriter(os.path.join(OUT, "dequant.gguf"), "none")
    ref = {}
    x = rng.normal(0, 1, size=(2, 512)).astype(np.float32)
    for qt in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q6_K):
        if qt == T.BF16:
            raw = quantize(x, qt)
            deq = dequantize(raw, qt).reshape(x.shape).astype(np.float32)
            add_tensor(w, "deq." + qt.name, raw, qt)
        elif qt in BLOCK:
            raw, _, deq = encode(rng, qt, x, scale=0.05)
            add_tensor(w, "deq." + qt.name, raw, qt)
        else:
            raw, q, deq = encode(rng, qt, x)
            add_tensor(w, "deq." + qt.name, raw, q)
        ref["deq." + qt.name] = deq
    finish(w)
    save_file(ref, os.path.join(OUT, "dequant_ref.safetensors"))


# ---- olmo_tiny (the committed HF fixture) as fp32 GGUF ------------------------------------------------

def llama3_rope_factors(rope, dim):
    """generate_extra_tensors of convert_hf_to_gguf's LlamaModel, for rope_type llama3."""
    import math
    base = rope.get("rope_theta", 10000.0)
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = rope.get("factor", 8.0), rope.get("low_freq_factor", 1.0), rope.get("high_freq_factor", 4.0)
    old = rope.get("original_max_position_embeddings", 8192)
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < old / high:
            out.append(1)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(out, dtype=torch.float32).numpy()


def make_tiny(name):
    """tests/fixtures/models/NAME as tests/fixtures/gguf/NAME_f32.gguf."""
    src = os.path.join(ROOT, "tests", "fixtures", "models", name)
    cfg = json.load(open(os.path.join(src, "config.json")))
    sd = {k: v.float().numpy() for k, v in load_file(os.path.join(src, "model.safetensors")).items()}
    arch = cfg["model_type"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // nh
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    w = gguf.GGUFWriter(os.path.join(OUT, f"{name}_f32.gguf"), arch)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_rope_freq_base(rope.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    if arch == "olmo":
        w.add_layer_norm_eps(1e-5)
        if cfg.get("clip_qkv") is not None:
            w.add_clamp_kqv(cfg["clip_qkv"])
    else:
        w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
        w.add_rope_dimension_count(hd)
    w.add_file_type(0)
    for key, fn in (("bos_token_id", w.add_bos_token_id), ("eos_token_id", w.add_eos_token_id),
                    ("pad_token_id", w.add_pad_token_id)):
        if cfg.get(key) is not None:
            fn(cfg[key])
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    if rope.get("rope_type") == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(rope, hd))
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    if "model.norm.weight" in sd:
        w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    for layer in range(cfg["num_hidden_layers"]):
        for hf, gg in names.items():
            key = f"model.layers.{layer}.{hf}.weight"
            if key not in sd:
                continue
            t = sd[key]
            if gg == "attn_q":
                t = permute(t, nh)
            elif gg == "attn_k":
                t = permute(t, nkv)
            w.add_tensor(f"blk.{layer}.{gg}.weight", np.ascontiguousarray(t))
    if not cfg.get("tie_word_embeddings", False):
        w.add_tensor("output.weight", sd["lm_head.weight"])
    finish(w)


# ---- tokenizers for the random models --------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def gpt2_vocab():
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "w")]
    for a, b in merges:
        tokens.append(a + b)
    tokens.append("<|endoftext|>")
    types = [1] * (len(tokens) - 1) + [3]
    return tokens, types, [f"{a} {b}" for a, b in merges]


def spm_vocab():
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0] * len(tokens)
    merged = ["▁t", "he", "▁the", "in", "▁a", "er", "on", "an", "▁w", "re", "ed", "nd", "▁s", "at"]
    for i, p in enumerate(merged):
        tokens.append(p)
        types.append(1)
        scores.append(-float(i))
    for i, c in enumerate(["▁"] + [chr(ord("a") + k) for k in range(26)]):
        tokens.append(c)
        types.append(1)
        scores.append(-100.0 - i)
    return tokens, types, scores


# ---- random tiny models ---------------------------------------------------------------------------

def make_llama_mixed(rng):
    tokens, types, merges = gpt2_vocab()
    V, d, F, L, nh, nkv = len(tokens), 64, 256, 2, 4, 2
    hd = d // nh
    cfg = LlamaConfig(vocab_size=V, hidden_size=d, intermediate_size=F, num_hidden_layers=L, num_attention_heads=nh,
                      num_key_value_heads=nkv, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                      tie_word_embeddings=False, attn_implementation="eager", bos_token_id=None, eos_token_id=V - 1)
    w = gguf.GGUFWriter(os.path.join(OUT, "llama_mixed.gguf"), "llama")
    w.add_context_length(128)
    w.add_embedding_length(d)
    w.add_block_count(L)
    w.add_feed_forward_length(F)
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(hd)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(V - 1)
    w.add_add_bos_token(False)
    sd = {}

    def put(gname, hname, shape, qt, std=0.08, perm=None):
        x = rng.normal(0, std, size=shape).astype(np.float32)
        raw, q, deq = encode(rng, qt, permute(x, perm) if perm else x, scale=None if qt not in (T.Q4_K, T.Q6_K) else 2e-4)
        add_tensor(w, gname, raw, q)
        sd[hname] = torch.from_numpy(unpermute(deq, perm) if perm else deq)

    put("token_embd.weight", "model.embed_tokens.weight", (V, d), T.Q8_0, std=0.5)
    for i in range(L):
        p, h = f"blk.{i}.", f"model.layers.{i}."
        norm = (1 + rng.normal(0, 0.1, size=d)).astype(np.float32)
        w.add_tensor(p + "attn_norm.weight", norm)
        sd[h + "input_layernorm.weight"] = torch.from_numpy(norm)
        put(p + "attn_q.weight", h + "self_attn.q_proj.weight", (nh * hd, d), T.Q4_0, perm=nh)
        put(p + "attn_k.weight", h + "self_attn.k_proj.weight", (nkv * hd, d), T.Q4_1, perm=nkv)
        put(p + "attn_v.weight", h + "self_attn.v_proj.weight", (nkv * hd, d), T.Q8_0)
        put(p + "attn_output.weight", h + "self_attn.o_proj.weight", (d, nh * hd), T.F16)
        norm = (1 + rng.normal(0, 0.1, size=d)).astype(np.float32)
        w.add_tensor(p + "ffn_norm.weight", norm)
        sd[h + "post_attention_layernorm.weight"] = torch.from_numpy(norm)
        put(p + "ffn_gate.weight", h + "mlp.gate_proj.weight", (F, d), T.BF16 if i == 0 else T.Q4_0)
        put(p + "ffn_up.weight", h + "mlp.up_proj.weight", (F, d), T.Q4_1 if i == 0 else T.F32)
        put(p + "ffn_down.weight", h + "mlp.down_proj.weight", (d, F), T.Q4_K)
    norm = (1 + rng.normal(0, 0.1, size=d)).astype(np.float32)
    w.add_tensor("output_norm.weight", norm)
    sd["model.norm.weight"] = torch.from_numpy(norm)
    put("output.weight", "lm_head.weight", (V, d), T.F16, std=0.2)
    finish(w)
    model = LlamaForCausalLM(cfg).float().eval()
    model.load_state_dict(sd, strict=True)
    return reference(model, V, rng, "llama_mixed")


def make_olmo_mixed(rng):
    tokens, types, scores = spm_vocab()
    V, d, F, L, nh = len(tokens), 64, 256, 2, 4
    hd = d // nh
    clip = 0.5
    cfg = OlmoConfig(vocab_size=V, hidden_size=d, intermediate_size=F, num_hidden_layers=L, num_attention_heads=nh,
                     max_position_embeddings=128, rope_theta=10000.0, clip_qkv=clip, tie_word_embeddings=True,
                     attn_implementation="eager", pad_token_id=None, bos_token_id=1, eos_token_id=2)
    w = gguf.GGUFWriter(os.path.join(OUT, "olmo_mixed.gguf"), "olmo")
    w.add_context_length(128)
    w.add_embedding_length(d)
    w.add_block_count(L)
    w.add_feed_forward_length(F)
    w.add_head_count(nh)
    w.add_head_count_kv(nh)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_eps(1e-5)
    w.add_clamp_kqv(clip)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores(scores)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    sd = {}

    def put(gname, hname, shape, qt, std=0.08, perm=None):
        x = rng.normal(0, std, size=shape).astype(np.float32)
        raw, q, deq = encode(rng, qt, permute(x, perm) if perm else x, scale=None if qt not in (T.Q4_K, T.Q6_K) else 1e-5)
        add_tensor(w, gname, raw, q)
        sd[hname] = torch.from_numpy(unpermute(deq, perm) if perm else deq)

    put("token_embd.weight", "model.embed_tokens.weight", (V, d), T.Q8_0, std=0.5)
    for i in range(L):
        p, h = f"blk.{i}.", f"model.layers.{i}."
        put(p + "attn_q.weight", h + "self_attn.q_proj.weight", (d, d), T.Q8_0, std=0.3, perm=nh)
        put(p + "attn_k.weight", h + "self_attn.k_proj.weight", (d, d), T.Q4_0, std=0.3, perm=nh)
        put(p + "attn_v.weight", h + "self_attn.v_proj.weight", (d, d), T.F16, std=0.3)
        put(p + "attn_output.weight", h + "self_attn.o_proj.weight", (d, d), T.Q4_0)
        put(p + "ffn_gate.weight", h + "mlp.gate_proj.weight", (F, d), T.Q8_0)
        put(p + "ffn_up.weight", h + "mlp.up_proj.weight", (F, d), T.F16)
        put(p + "ffn_down.weight", h + "mlp.down_proj.weight", (d, F), T.Q6_K)
    finish(w)
    model = OlmoForCausalLM(cfg).float().eval()
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    model.load_state_dict(sd, strict=True)
    return reference(model, V, rng, "olmo_mixed")


def reference(model, V, rng, name):
    tokens = rng.integers(3, V, size=12).astype(np.int32)
    with torch.no_grad():
        logits = model(input_ids=torch.from_numpy(tokens.astype(np.int64))[None]).logits[0].float().numpy()
    save_file({"tokens": tokens, "logits": logits}, os.path.join(OUT, f"{name}_ref.safetensors"))
    return tokens, logits


# ---- llama.cpp checks -------------------------------------------------------------------------------

TOKENIZE_STRINGS = [
    "", "the", "the theater", " the", "  the  ", "hello world", "in an inn", "where were we", "the end\n",
    "tab\tseparated", "a", "ab", "abc abc abc", "thethethe", "Uppercase Letters", "digits 0123456789",
    "it's don't we'll", "x\n\ny", "caf\u00e9 na\u00efve", "\u65e5\u672c\u8a9e", "emoji \U0001F642!", "<|endoftext|>",
    "a<|endoftext|>b", "    ", "\n", "the   weather  was  nice", "re ed nd at on an",
]


def llama_cpp_checks(logits_by_model):
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llama_cpp not installed: tokenize_cases.json not written")
        return
    cases = {}
    for name in ("llama_mixed", "olmo_mixed"):
        path = os.path.join(OUT, name + ".gguf")
        tok = Llama(model_path=path, vocab_only=True, verbose=False)
        cases[name] = [{"text": s, "ids": tok.tokenize(s.encode(), add_bos=True, special=True)} for s in TOKENIZE_STRINGS]
        # llama.cpp reads the same model: its logits (quantised activations) close to transformers'
        llm = Llama(model_path=path, logits_all=True, verbose=False, n_ctx=64)
        toks, want = logits_by_model[name]
        llm.eval([int(t) for t in toks])
        got = np.array(llm.scores[:len(toks)], dtype=np.float32)
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        print(f"{name}: llama.cpp logits vs transformers relative error {rel:.2e}")
        assert rel < 0.05, name
    with open(os.path.join(OUT, "tokenize_cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")


def make_fuzz_seeds(rng):
    out = os.path.join(ROOT, "fuzz", "corpus", "gguf")
    os.makedirs(out, exist_ok=True)
    # 1: a tiny llama, F32/F16, byte-level tokenizer
    V, d, F, nh = 16, 8, 16, 2
    w = gguf.GGUFWriter(os.path.join(out, "seed_llama_f32.gguf"), "llama")
    for k, v in (("context_length", 32), ("embedding_length", d), ("block_count", 1), ("feed_forward_length", F)):
        getattr(w, "add_" + k)(v)
    w.add_head_count(nh)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    b2u = bytes_to_unicode()
    toks = [b2u[b] for b in range(97, 97 + 13)] + ["ab", "abc", "<|e|>"]
    w.add_token_list(toks)
    w.add_token_types([1] * 15 + [3])
    w.add_token_merges(["a b", "ab c"])
    w.add_eos_token_id(15)
    w.add_tensor("token_embd.weight", rng.normal(size=(V, d)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(d, np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(d, np.float32))
    for n, shape in (("attn_q", (d, d)), ("attn_k", (d // nh, d)), ("attn_v", (d // nh, d)), ("attn_output", (d, d)),
                     ("ffn_gate", (F, d)), ("ffn_up", (F, d)), ("ffn_down", (d, F))):
        x = rng.normal(size=shape).astype(np.float32)
        w.add_tensor(f"blk.0.{n}.weight", x.astype(np.float16) if n.startswith("ffn") else x)
    finish(w)
    # 2: a tiny olmo, Q8_0/Q4_0/Q4_1, SentencePiece tokenizer from scores
    V, d, F = 8, 32, 32
    w = gguf.GGUFWriter(os.path.join(out, "seed_olmo_q.gguf"), "olmo")
    for k, v in (("context_length", 32), ("embedding_length", d), ("block_count", 1), ("feed_forward_length", F)):
        getattr(w, "add_" + k)(v)
    w.add_head_count(2)
    w.add_layer_norm_eps(1e-5)
    w.add_clamp_kqv(2.0)
    w.add_tokenizer_model("llama")
    w.add_token_list(["<unk>", "<s>", "</s>", "<0x41>", "\u2581", "a", "b", "\u2581a"])
    w.add_token_types([2, 3, 3, 6, 1, 1, 1, 1])
    w.add_token_scores([0, 0, 0, 0, -3, -4, -5, -1])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for n, shape, qt in (("token_embd.weight", (V, d), T.Q8_0), ("blk.0.attn_q.weight", (d, d), T.Q4_0),
                         ("blk.0.attn_k.weight", (d, d), T.Q4_1), ("blk.0.attn_v.weight", (d, d), T.Q8_0),
                         ("blk.0.attn_output.weight", (d, d), T.Q4_0), ("blk.0.ffn_gate.weight", (F, d), T.Q4_1),
                         ("blk.0.ffn_up.weight", (F, d), T.Q8_0), ("blk.0.ffn_down.weight", (d, F), T.Q4_0)):
        raw, q, _ = encode(rng, qt, rng.normal(size=shape).astype(np.float32))
        add_tensor(w, n, raw, q)
    finish(w)
    # 3: one small tensor of every supported type
    w = gguf.GGUFWriter(os.path.join(out, "seed_types.gguf"), "none")
    w.add_uint32("general.alignment", 64)
    x = rng.normal(size=(1, 256)).astype(np.float32)
    for qt in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q6_K):
        if qt == T.BF16:
            add_tensor(w, "t." + qt.name, quantize(x, qt), qt)
        else:
            raw, q, _ = encode(rng, qt, x, scale=0.05 if qt in BLOCK else None)
            add_tensor(w, "t." + qt.name, raw, q)
    finish(w)
    # 4: metadata of every value type, nested arrays included, no tensors
    w = gguf.GGUFWriter(os.path.join(out, "seed_meta.gguf"), "llama")
    V = gguf.GGUFValueType
    for i, (vt, val) in enumerate(((V.UINT8, 200), (V.INT8, -5), (V.UINT16, 60000), (V.INT16, -3000), (V.UINT32, 7),
                                   (V.INT32, -7), (V.FLOAT32, 1.5), (V.BOOL, True), (V.STRING, "text"),
                                   (V.UINT64, 1 << 40), (V.INT64, -(1 << 40)), (V.FLOAT64, 2.25))):
        w.add_key_value(f"k.{i}", val, vt)
    w.add_key_value("k.arr", [1, 2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("k.strs", ["x", "yy", ""], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("k.nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
    finish(w)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20250204)
    make_fuzz_seeds(np.random.default_rng(5))
    make_dequant(rng)
    make_tiny("olmo_tiny")
    make_tiny("llama_tiny")
    refs = {"llama_mixed": make_llama_mixed(rng), "olmo_mixed": make_olmo_mixed(rng)}
    llama_cpp_checks(refs)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()

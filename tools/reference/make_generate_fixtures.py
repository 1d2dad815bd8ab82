#!/usr/bin/env python3
"""tools/reference/make_generate_fixtures.py: transformers' side of lethe generate's tests.

Writes into tests/fixtures/:
  generate/sampling.json   fixed logits and, per (temperature, top_k, top_p), the distribution
                           transformers samples from: TemperatureLogitsWarper, TopKLogitsWarper,
                           TopPLogitsWarper in generate's order, then softmax
  generate/eos.json        greedy generation on models/llama_tiny with a generation_config whose
                           eos_token_id is a list: model.generate's tokens (it stops on the list)
  chat/CASE.json           apply_chat_template(messages, add_generation_prompt=True) text and ids
                           for ChatML (chat/chatml: a small byte-level BPE made here, with
                           SmolLM2-Instruct's template), Llama 3 (../shared/tokenizers/llama3),
                           Mistral v0.1 and Llama-2 templates (chat/mistral, chat/llama2 configs on
                           ../shared/tokenizers/mistral)
Run: /work/venv/bin/python tools/reference/make_generate_fixtures.py
"""
import json
import os
import shutil
import tempfile

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.generation.logits_process import (LogitsProcessorList, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, "..", "..", "tests", "fixtures")
SHARED = os.path.join(HERE, "..", "..", "..", "shared")

SMOL_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
                 "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + "
                 "message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
                 "{{ '<|im_start|>assistant\n' }}{% endif %}")
MISTRAL_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
                    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
                    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")
LLAMA2_TEMPLATE = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
                   "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
                   "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                   "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                   "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
                   "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
                   "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
                   "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

CONVS = {
    "one": [{"role": "user", "content": "What is the capital of France?"}],
    "system": [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "  Name a colour.\n"}],
    "turns": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi there"},
              {"role": "assistant", "content": " Hello! How can I help? "}, {"role": "user", "content": "Tell me a joke."}],
}


def sampling():
    g = torch.Generator().manual_seed(3)
    logits = (torch.randn(1, 24, generator=g) * 2.0).float()
    cases = []
    for t, k, p in [(1.0, 0, 1.0), (0.7, 0, 1.0), (1.0, 5, 1.0), (1.0, 0, 0.9), (0.8, 10, 0.75), (1.5, 50, 0.95), (0.5, 3, 0.5),
                    (1.0, 1, 1.0), (2.0, 0, 0.3)]:
        procs = LogitsProcessorList()
        if t != 1.0:
            procs.append(TemperatureLogitsWarper(t))
        if k:
            procs.append(TopKLogitsWarper(k))
        if p < 1.0:
            procs.append(TopPLogitsWarper(p))
        scores = procs(torch.zeros(1, 1, dtype=torch.long), logits.clone())
        cases.append({"temperature": t, "top_k": k, "top_p": p, "probs": torch.softmax(scores, -1)[0].tolist()})
    json.dump({"logits": logits[0].tolist(), "cases": cases}, open(os.path.join(FX, "generate", "sampling.json"), "w"), indent=1)


def eos():
    name = os.path.join(FX, "models", "llama_tiny")
    m = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, attn_implementation="eager").eval()
    prompt = [5, 17, 42, 8]
    free = m.generate(torch.tensor([prompt]), generation_config=GenerationConfig(max_new_tokens=24, do_sample=False,
                                                                                eos_token_id=None, pad_token_id=0))[0, 4:].tolist()
    # an eos list: a token the free run never makes, and the first new token not among the first three
    stop_at = next(i for i in range(3, len(free)) if free[i] not in free[:i])
    ids = [91, free[stop_at]] if 91 not in free else [free[stop_at]]
    gc = {"eos_token_id": ids, "max_new_tokens": 20, "do_sample": False}
    got = m.generate(torch.tensor([prompt]), generation_config=GenerationConfig(pad_token_id=0, **gc))[0, 4:].tolist()
    json.dump({"prompt": prompt, "generation_config": gc, "free": free, "transformers": got},
              open(os.path.join(FX, "generate", "eos.json"), "w"), indent=1)
    print("eos", free, got)


def small_chatml_tokenizer(d):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    text = [c["content"] for conv in CONVS.values() for c in conv] + ["system user assistant You are a helpful AI assistant"] * 3
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(os.path.join(d, "tokenizer.json"))


def chat():
    cases = {}
    d = os.path.join(FX, "chat", "chatml")
    small_chatml_tokenizer(d)
    json.dump({"chat_template": SMOL_TEMPLATE, "bos_token": None, "eos_token": "<|im_end|>", "tokenizer_class": "PreTrainedTokenizerFast"},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    cases["chatml"] = (d, d, ["one", "system", "turns"])
    cases["llama3"] = (os.path.join(SHARED, "tokenizers", "llama3"), None, ["one", "system", "turns"])
    for name, tmpl, convs in [("mistral", MISTRAL_TEMPLATE, ["one"]), ("llama2", LLAMA2_TEMPLATE, ["one", "system", "turns"])]:
        d = os.path.join(FX, "chat", name)
        cfg = json.load(open(os.path.join(SHARED, "tokenizers", "mistral", "tokenizer_config.json")))
        cfg = {k: v for k, v in cfg.items() if k != "added_tokens_decoder"}
        cfg["chat_template"] = tmpl
        json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
        cases[name] = (os.path.join(SHARED, "tokenizers", "mistral"), d, convs)
    mistral_turns = [c for c in CONVS["turns"] if c["role"] != "system"]
    for name, (tokdir, cfgdir, convs) in cases.items():
        with tempfile.TemporaryDirectory() as t:
            shutil.copy(os.path.join(tokdir, "tokenizer.json"), t)
            shutil.copy(os.path.join(cfgdir or tokdir, "tokenizer_config.json"), t)
            tk = AutoTokenizer.from_pretrained(t)
            out = []
            for c in convs:
                msgs = CONVS[c]
                text = tk.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
                ids = tk.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False)
                if hasattr(ids, "tolist"):
                    ids = ids.tolist()
                if isinstance(ids, dict) or hasattr(ids, "keys"):
                    ids = ids["input_ids"]
                assert ids == tk(text, add_special_tokens=False)["input_ids"], name
                out.append({"messages": msgs, "text": text, "ids": ids})
            if name == "mistral":
                text = tk.apply_chat_template(mistral_turns, add_generation_prompt=True, tokenize=False)
                out.append({"messages": mistral_turns, "text": text, "ids": tk(text, add_special_tokens=False)["input_ids"]})
            json.dump({"tokenizer": os.path.relpath(os.path.join(tokdir, "tokenizer.json"), os.path.join(FX, "..", "..")),
                       "config": os.path.relpath(cfgdir or tokdir, os.path.join(FX, "..", "..")), "cases": out},
                      open(os.path.join(FX, "chat", f"{name}.json"), "w"), indent=1)
            print(name, [len(o["ids"]) for o in out], repr(out[-1]["text"][:120]))


if __name__ == "__main__":
    sampling()
    eos()
    chat()

#!/usr/bin/env python3
"""Writes demo/testmodel/tokenizer.json and tokenizer_config.json: a byte-level
BPE tokenizer for the toy vocabulary of the reference test models
(testdata/reference/README.md): printable ASCII ' '..'~' -> ord(c)-32,
'\\n' -> 95, special tokens 256+, unused ids as <|unused_N|> added tokens."""
import json, os

def byte_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}

specials = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
            "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>",
            "<|end_of_video|>", "<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>",
            "</tool_response>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>", "/nothink",
            "<|begin_of_box|>", "<|end_of_box|>", "<|image|>", "<|video|>"]
b2u = byte_to_unicode()
vocab = {b2u[c]: c - 32 for c in range(32, 127)}
vocab[b2u[10]] = 95
added = []
for i in range(96, 256):
    added.append({"id": i, "content": f"<|unused_{i}|>", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True})
for i, s in enumerate(specials):
    added.append({"id": 256 + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True})
for i in range(256 + len(specials), 300):
    added.append({"id": i, "content": f"<|unused_{i}|>", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True})
tok = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
    "post_processor": None,
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": []},
}
out = os.path.join(os.path.dirname(__file__), "..", "demo", "testmodel")
with open(os.path.join(out, "tokenizer.json"), "w") as f:
    json.dump(tok, f, ensure_ascii=False, indent=1)
with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
    json.dump({"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "model_max_length": 4096,
               "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=1)

#!/usr/bin/env python3
"""Renders the chat-template goldens in this folder with Python jinja2, set up
the way transformers sets it up (sandboxed environment, trim_blocks,
lstrip_blocks, loopcontrols, a tojson that keeps non-ASCII and key order,
raise_exception). Dev time only; `go test` reads goldens.json.

Usage: python3 testdata/chat/render.py   (Debian's python3-jinja2, 3.1.x)
"""
import json
import os

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "reference", "chat_template", "glm_ocr_family.jinja")


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Météo d'une ville — 天气",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                                            "detail": {"type": "boolean"}}, "required": ["city"]}}}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {
    "query": {"type": "string"}, "filters": {"type": "object"}, "limit": {"type": "number"}}}}}

CASES = {
    "ocr_tools_thinking_off": ("ocr", {
        "messages": [{"role": "user", "content": "Weather in 北京 for 3 days?"}],
        "tools": [WEATHER, SEARCH], "add_generation_prompt": True, "enable_thinking": False}),
    "ocr_typed_tool_arguments": ("ocr", {
        "messages": [
            {"role": "user", "content": "Find cats"},
            {"role": "assistant", "content": "<think>\nneed search\n</think>\n\nSearching.", "tool_calls": [
                {"type": "function", "function": {"name": "search", "arguments": {
                    "query": "猫 \"quoted\"", "filters": {"color": "black", "tags": ["a", "b"]}, "limit": 2.5}}},
                {"function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "detail": True,
                                                                    "none": None}}}]},
            {"role": "tool", "content": [{"type": "text", "text": "result one"}, {"type": "image"}]},
            {"role": "tool", "content": "plain result"},
            {"role": "assistant", "content": "Done.", "reasoning_content": "\n  all results in  \n"},
            {"role": "user", "content": "thanks"}],
        "tools": [SEARCH], "add_generation_prompt": True}),
    "ocr_reasoning_after_last_user": ("ocr", {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "List "}, {"type": "text", "text": "system."}]},
            {"role": "user", "content": [{"type": "video"}, {"type": "image"}, {"type": "text", "text": "Both?"}]},
            {"role": "assistant", "content": "<think>one</think>Answer A"},
            {"role": "assistant", "content": "Answer B", "reasoning_content": "two"}],
        "add_generation_prompt": False}),
    "ocr_nothink_list_content": ("ocr", {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "first /nothink"}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "second"}]}],
        "add_generation_prompt": True, "enable_thinking": False}),
    "ocr_thinking_true": ("ocr", {
        "messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True, "enable_thinking": True}),
    "ocr_empty_and_unicode": ("ocr", {
        "messages": [
            {"role": "user", "content": ""},
            {"role": "assistant", "content": "   "},
            {"role": "user", "content": "emoji 👨‍👩‍👧 and\ttabs\n\nnewlines  "}],
        "add_generation_prompt": True}),
    "features_basic": ("features", {
        "messages": [
            {"role": "system", "content": "skipped"},
            {"role": "user", "content": "  hello  "},
            {"role": "assistant", "content": "hi", "tool_calls": [
                {"type": "function", "function": {"name": "search", "arguments": {"query": "ü", "n": 1, "x": [1.5, None, False]}}}]},
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]},
            {"role": "assistant", "content": "never shown"}],
        "tools": [WEATHER], "add_generation_prompt": True, "enable_thinking": False}),
    "features_no_tools": ("features", {
        "messages": [{"role": "user", "content": "x"}], "add_generation_prompt": False}),
    "features_thinking_true": ("features", {
        "messages": [{"role": "user", "content": "x"}], "add_generation_prompt": True, "enable_thinking": True}),
}


def main():
    templates = {"ocr": open(REF, encoding="utf-8").read(),
                 "features": open(os.path.join(HERE, "features.jinja"), encoding="utf-8").read()}
    files = {"ocr": "../reference/chat_template/glm_ocr_family.jinja", "features": "features.jinja"}
    out = {}
    for name, (tname, ctx) in CASES.items():
        kwargs = dict(ctx)
        kwargs.setdefault("tools", None)  # transformers always passes tools (None when absent)
        entry = {"template": files[tname], "context": ctx}
        try:
            entry["rendered"] = env.from_string(templates[tname]).render(**kwargs)
        except Exception as e:  # recorded: the Go side must fail too
            entry["error"] = f"{type(e).__name__}: {e}"
        out[name] = entry
    with open(os.path.join(HERE, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(len(out), "cases")


if __name__ == "__main__":
    main()

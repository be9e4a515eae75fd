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
import jinja2.nodes
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "reference", "chat_template", "glm_ocr_family.jinja")


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}…{% endgeneration %} as transformers' chat templates use
    it: the body renders unchanged (transformers only records where it is)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                   extensions=[GenerationBlock, jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Météo d'une ville — 天气",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                                            "detail": {"type": "boolean"}}, "required": ["city"]}}}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {
    "query": {"type": "string"}, "filters": {"type": "object"}, "limit": {"type": "number"}}}}}

# apply_chat_template always passes documents and tools (None when absent).
DOCS = open(os.path.join(HERE, "documents.jinja"), encoding="utf-8").read()

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
    # Message shapes clients send, as transformers passes them through.
    "shape_tool_calls_unwrapped": ("ocr", {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2, "ratio": 1.0, "tags": ["a", "é"],
                                                      "nested": {"k": None, "b": False}}},
                {"id": "call_2", "type": "function", "function": {"name": "search", "arguments": {"query": "x"}}}]},
            {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "name": "search", "content": "found"}],
        "tools": [WEATHER, SEARCH], "add_generation_prompt": True}),
    "shape_tool_call_string_arguments": ("ocr", {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}],
        "add_generation_prompt": True}),
    "shape_tool_call_unwrapped_string_arguments": ("ocr", {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": "{}"}]}],
        "add_generation_prompt": True}),
    "shape_assistant_content_null_with_tool_calls": ("ocr", {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 3}"}],
        "tools": [WEATHER], "add_generation_prompt": True, "enable_thinking": False}),
    "shape_assistant_content_missing": ("ocr", {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "search", "arguments": {}}}]}],
        "add_generation_prompt": False}),
    "shape_system_content_null": ("ocr", {
        "messages": [{"role": "system", "content": None}, {"role": "user", "content": "Hi"}],
        "add_generation_prompt": True}),
    "shape_user_content_null": ("ocr", {
        "messages": [{"role": "user", "content": None}], "add_generation_prompt": True}),
    "shape_tool_content_null": ("ocr", {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": None}],
        "add_generation_prompt": True}),
    "shape_user_content_missing": ("ocr", {
        "messages": [{"role": "user"}], "add_generation_prompt": True}),
    "shape_reasoning_content_variants": ("ocr", {
        "messages": [
            {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "<think>old</think>A1", "reasoning_content": None},
            {"role": "user", "content": "Q2"},
            {"role": "assistant", "content": "<think>inline</think>A2", "reasoning_content": ""},
            {"role": "assistant", "content": "A3", "reasoning_content": "  kept  "},
            {"role": "assistant", "content": "<think>ignored</think>A4", "reasoning_content": "field wins"}],
        "add_generation_prompt": False}),
    "shape_list_content_every_role": ("ocr", {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Sys "}, {"type": "image"}, "bare string",
                                           {"type": "audio", "audio": "a.wav"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Look: "}, {"type": "image", "image": "cat.png"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "video", "video": "clip.mp4"}, {"type": "input_audio", "input_audio": {"data": "x"}},
                {"image": "no-type.png"}, {"type": "text", "text": " end"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "<think>r</think>"},
                                              {"type": "text", "text": "List answer"}, {"type": "image"}]},
            {"role": "tool", "content": [
                {"type": "text", "text": "text result"}, {"type": "TEXT", "text": "upper type"},
                {"type": "image_url", "image_url": {"url": "x"}}, {"type": "video_url"},
                {"type": "json", "data": {"a": 1, "b": [1.5, None]}}, {"type": "text"},
                {"output": "an output"}, "plain string", 42, None]},
            {"role": "tool", "content": [{"output": {"k": "v"}}]}],
        "add_generation_prompt": True}),
    "shape_tool_content_mapping": ("ocr", {
        "messages": [{"role": "user", "content": "Hi"},
                     {"role": "tool", "content": {"output": "o", "extra": 1}}],
        "add_generation_prompt": True}),
    "shape_extra_fields": ("ocr", {
        "messages": [
            {"role": "system", "content": "S", "name": "boss", "x-custom": [1, 2]},
            {"role": "user", "content": "U", "name": "alice", "metadata": {"id": 7}},
            {"role": "assistant", "content": "A", "name": "bot", "refusal": None, "audio": None},
            {"role": "tool", "content": "T", "name": "fn", "tool_call_id": "call_9"},
            {"role": "developer", "content": "dev text is not rendered by this template"},
            {"role": "user", "content": "again"}],
        "add_generation_prompt": True, "enable_thinking": False}),
    "shape_arguments_values": ("ocr", {
        "messages": [
            {"role": "user", "content": "Go"},
            {"role": "assistant", "content": "Calling", "tool_calls": [
                {"type": "function", "function": {"name": "f", "arguments": {
                    "int": 10, "neg": -3, "float": 0.1, "whole_float": 2.0, "exp": 1e-7, "big": 1e21,
                    "bool": True, "null": None, "str": "quote\" and \\ and\nnewline", "uni": "ünï 中文 🚀",
                    "list": [1, "two", {"three": 3}], "obj": {"z": 1, "a": {"deep": []}}, "empty": {}}}}]}],
        "add_generation_prompt": False}),
    "shape_documents_always_defined": ("docs", {
        "messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True}),
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
    templates = {"docs": DOCS, "ocr": open(REF, encoding="utf-8").read(),
                 "features": open(os.path.join(HERE, "features.jinja"), encoding="utf-8").read()}
    files = {"docs": "documents.jinja", "ocr": "../reference/chat_template/glm_ocr_family.jinja", "features": "features.jinja"}
    out = {}
    for name, (tname, ctx) in CASES.items():
        kwargs = dict(ctx)
        kwargs.setdefault("tools", None)  # transformers always passes tools (None when absent)
        kwargs.setdefault("documents", None)  # and documents
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

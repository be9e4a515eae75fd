// A small Markdown renderer for model answers. Model output is untrusted:
// the renderer builds DOM nodes and only ever inserts the text as text
// (textContent / text nodes), never as HTML, so nothing the model writes
// can become markup, script or a style. Links are kept only for http(s)
// and mailto URLs.
//
// Supported: paragraphs (line breaks kept), ATX headings, fenced code
// blocks (also unterminated ones, while streaming), indented lists
// (ordered and not, nested), block quotes, rules, GitHub tables, and
// inline code, strong, emphasis, strikethrough and links. Box markers
// (BOX_OPEN index BOX_CLOSE, put in by the page) become elements made by
// opts.box(index).
"use strict";

const Markdown = (() => {
  const BOX_OPEN = "\uE000";
  const BOX_CLOSE = "\uE001";

  function el(tag, cls) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  const fenceRe = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
  const headingRe = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
  const ruleRe = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
  const quoteRe = /^ {0,3}> ?(.*)$/;
  const itemRe = /^( {0,12})([-*+]|\d{1,9}[.)])(\s+|$)(.*)$/;
  const tableSepRe = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

  function isBlank(l) { return /^\s*$/.test(l); }

  // startsBlock reports whether a line interrupts a paragraph.
  function startsBlock(l) {
    return fenceRe.test(l) || headingRe.test(l) || ruleRe.test(l) || quoteRe.test(l) || itemRe.test(l);
  }

  function splitRow(l) {
    let s = l.trim();
    if (s.startsWith("|")) s = s.slice(1);
    if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
    return s.split(/(?<!\\)\|/).map((c) => c.trim());
  }

  // blocks renders lines into parent.
  function blocks(lines, parent, opts, depth) {
    let i = 0;
    while (i < lines.length) {
      const l = lines[i];
      if (isBlank(l)) { i++; continue; }
      let m;
      if ((m = fenceRe.exec(l))) {
        const fence = m[1];
        const lang = m[2];
        const body = [];
        i++;
        while (i < lines.length) {
          const t = lines[i].trim();
          if (t.length >= fence.length && t[0] === fence[0] && /^(`+|~+)$/.test(t)) { i++; break; }
          body.push(lines[i]);
          i++;
        }
        parent.appendChild(codeBlock(body.join("\n"), lang, opts));
        continue;
      }
      if ((m = headingRe.exec(l)) && m[1]) {
        const h = el("h" + Math.min(6, m[1].length + 2));
        inline(m[2] || "", h, opts);
        parent.appendChild(h);
        i++;
        continue;
      }
      if (ruleRe.test(l)) { parent.appendChild(el("hr")); i++; continue; }
      if (quoteRe.test(l) && depth < 8) {
        const inner = [];
        while (i < lines.length && !isBlank(lines[i])) {
          const q = quoteRe.exec(lines[i]);
          inner.push(q ? q[1] : lines[i]);
          i++;
        }
        const bq = el("blockquote");
        blocks(inner, bq, opts, depth + 1);
        parent.appendChild(bq);
        continue;
      }
      if ((m = itemRe.exec(l)) && depth < 8) {
        i = list(lines, i, parent, opts, depth);
        continue;
      }
      if (l.includes("|") && i + 1 < lines.length && tableSepRe.test(lines[i + 1]) && lines[i + 1].includes("-")) {
        i = table(lines, i, parent, opts);
        continue;
      }
      const para = [];
      while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 || !startsBlock(lines[i]))) {
        para.push(lines[i]);
        i++;
      }
      const p = el("p");
      inline(para.join("\n"), p, opts);
      parent.appendChild(p);
    }
  }

  function list(lines, i, parent, opts, depth) {
    const first = itemRe.exec(lines[i]);
    const ordered = /\d/.test(first[2]);
    const indent = first[1].length;
    const ul = el(ordered ? "ol" : "ul");
    if (ordered) {
      const n = parseInt(first[2], 10);
      if (n !== 1) ul.start = n;
    }
    let loose = false;
    while (i < lines.length) {
      const m = itemRe.exec(lines[i]);
      if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
      const contentIndent = indent + m[2].length + Math.max(1, Math.min(4, m[3].length));
      const body = [m[4]];
      i++;
      while (i < lines.length) {
        const l = lines[i];
        if (isBlank(l)) {
          // A blank line continues the item only if indented text follows.
          let j = i + 1;
          while (j < lines.length && isBlank(lines[j])) j++;
          if (j < lines.length && leading(lines[j]) >= contentIndent) {
            loose = true;
            for (; i < j; i++) body.push("");
            continue;
          }
          break;
        }
        const sub = itemRe.exec(l);
        if (sub && sub[1].length <= indent) break;
        if (leading(l) >= contentIndent || sub) {
          body.push(l.slice(Math.min(leading(l), contentIndent)));
        } else if (startsBlock(l)) {
          break;
        } else {
          body.push(l.trim()); // lazy continuation
        }
        i++;
      }
      const li = el("li");
      const simple = body.every((b) => !startsBlock(b) && !isBlank(b)) && !loose;
      if (simple) inline(body.join("\n"), li, opts);
      else blocks(body, li, opts, depth + 1);
      ul.appendChild(li);
      while (i < lines.length && isBlank(lines[i]) && i + 1 < lines.length && itemRe.test(lines[i + 1]) &&
        itemRe.exec(lines[i + 1])[1].length === indent) i++;
    }
    parent.appendChild(ul);
    return i;
  }

  function leading(l) { return l.length - l.replace(/^ +/, "").length; }

  function table(lines, i, parent, opts) {
    const head = splitRow(lines[i]);
    const aligns = splitRow(lines[i + 1]).map((c) =>
      c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : "");
    const wrap = el("div", "table-wrap");
    const t = el("table");
    const thead = el("thead");
    const tr = el("tr");
    head.forEach((c, k) => {
      const th = el("th");
      if (aligns[k]) th.style.textAlign = aligns[k];
      inline(c, th, opts);
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    const tbody = el("tbody");
    i += 2;
    while (i < lines.length && !isBlank(lines[i]) && lines[i].includes("|")) {
      const row = el("tr");
      splitRow(lines[i]).slice(0, Math.max(head.length, 1)).forEach((c, k) => {
        const td = el("td");
        if (aligns[k]) td.style.textAlign = aligns[k];
        inline(c, td, opts);
        row.appendChild(td);
      });
      tbody.appendChild(row);
      i++;
    }
    t.appendChild(tbody);
    wrap.appendChild(t);
    parent.appendChild(wrap);
    return i;
  }

  function codeBlock(text, lang, opts) {
    const fig = el("div", "code-block");
    const bar = el("div", "code-bar");
    const name = el("span", "code-lang");
    name.textContent = lang || "code";
    bar.appendChild(name);
    const copy = el("button", "copy");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy " + (lang ? lang + " " : "") + "code");
    copy.addEventListener("click", () => {
      const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy"; }, 1200); };
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => {});
    });
    bar.appendChild(copy);
    fig.appendChild(bar);
    const pre = el("pre");
    const code = el("code");
    if (lang) code.dataset.lang = lang;
    // Boxes inside code are shown as their text.
    code.textContent = stripBoxes(text, opts);
    pre.appendChild(code);
    fig.appendChild(pre);
    return fig;
  }

  function stripBoxes(text, opts) {
    return text.replace(/\uE000(\d+)\uE001/g, (_, n) => (opts.boxText ? opts.boxText(+n) : ""));
  }

  const isWord = (c) => c !== undefined && /[\p{L}\p{N}]/u.test(c);
  const isSpace = (c) => c === undefined || /\s/.test(c);
  const isPunct = (c) => c !== undefined && /[\p{P}\p{S}]/u.test(c);

  // canOpen/canClose follow CommonMark's flanking rules closely enough:
  // '_' never opens or closes inside a word (snake_case stays text).
  function canOpen(s, i, len) {
    const before = s[i - 1], after = s[i + len];
    if (isSpace(after)) return false;
    const leftFlank = !isPunct(after) || isSpace(before) || isPunct(before);
    if (!leftFlank) return false;
    return s[i] === "*" || s[i] === "~" || !isWord(before);
  }

  function canClose(s, i, len) {
    const before = s[i - 1], after = s[i + len];
    if (isSpace(before)) return false;
    const rightFlank = !isPunct(before) || isSpace(after) || isPunct(after);
    if (!rightFlank) return false;
    return s[i] === "*" || s[i] === "~" || !isWord(after);
  }

  // Sticky patterns read at a position without copying the rest of the
  // text (long answers full of brackets stay linear).
  const ticksRe = /`+/y;
  const linkRe = /\[([^\]\n]+)\]\(([^)\s]+)\)/y;

  function ticksAt(s, i) {
    ticksRe.lastIndex = i;
    return ticksRe.exec(s)[0];
  }

  function findClose(s, from, marker) {
    for (let j = from; j < s.length; j++) {
      if (s[j] === "\\") { j++; continue; }
      if (s[j] === "`") {
        const run = ticksAt(s, j);
        const end = s.indexOf(run, j + run.length);
        if (end > 0) { j = end + run.length - 1; continue; }
      }
      if (s.startsWith(marker, j) && canClose(s, j, marker.length) &&
        !(marker.length === 1 && s[j + 1] === marker && s[j - 1] !== marker)) return j;
    }
    return -1;
  }

  function safeURL(u) {
    try {
      const url = new URL(u, location.href);
      if (url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:") return url.href;
    } catch (e) { /* not a URL */ }
    return null;
  }

  // inline renders one span of text into parent.
  function inline(s, parent, opts, depth) {
    depth = depth || 0;
    let text = "";
    const flush = () => { if (text) { parent.appendChild(document.createTextNode(text)); text = ""; } };
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === "\\" && i + 1 < s.length && /[!-/:-@[-`{-~]/.test(s[i + 1])) {
        text += s[i + 1];
        i += 2;
        continue;
      }
      if (c === BOX_OPEN) {
        const end = s.indexOf(BOX_CLOSE, i);
        if (end > i) {
          flush();
          parent.appendChild(opts.box(parseInt(s.slice(i + 1, end), 10)));
          i = end + 1;
          continue;
        }
      }
      if (c === "`") {
        const run = ticksAt(s, i);
        const end = s.indexOf(run, i + run.length);
        if (end > 0 && s[end + run.length] !== "`") {
          flush();
          const code = el("code");
          let body = s.slice(i + run.length, end).replace(/\n/g, " ");
          if (/^ .* $/.test(body) && body.trim()) body = body.slice(1, -1);
          code.textContent = stripBoxes(body, opts);
          parent.appendChild(code);
          i = end + run.length;
          continue;
        }
        text += run;
        i += run.length;
        continue;
      }
      if (c === "[" && depth < 4) {
        linkRe.lastIndex = i;
        const m = linkRe.exec(s);
        if (m) {
          const href = safeURL(m[2]);
          flush();
          if (href) {
            const a = el("a");
            a.href = href;
            a.rel = "noopener noreferrer nofollow";
            a.target = "_blank";
            inline(m[1], a, opts, depth + 1);
            parent.appendChild(a);
          } else {
            inline(m[1], parent, opts, depth + 1);
          }
          i += m[0].length;
          continue;
        }
      }
      if ((c === "*" || c === "_" || c === "~") && depth < 6) {
        const dbl = s[i + 1] === c;
        const marker = dbl ? c + c : c;
        if (c !== "~" || dbl) {
          if (canOpen(s, i, marker.length)) {
            const end = findClose(s, i + marker.length, marker);
            if (end > i + marker.length) {
              flush();
              const tag = c === "~" ? "del" : dbl ? "strong" : "em";
              const e = el(tag);
              inline(s.slice(i + marker.length, end), e, opts, depth + 1);
              parent.appendChild(e);
              i = end + marker.length;
              continue;
            }
          }
          text += marker;
          i += marker.length;
          continue;
        }
      }
      text += c;
      i++;
    }
    flush();
  }

  // render replaces parent's children with the rendering of src.
  function render(src, parent, opts) {
    opts = opts || {};
    if (!opts.box) opts.box = (n) => document.createTextNode("");
    const frag = document.createDocumentFragment();
    blocks(src.replace(/\r\n?/g, "\n").split("\n"), frag, opts, 0);
    parent.replaceChildren(frag);
  }

  return { render, inline, BOX_OPEN, BOX_CLOSE };
})();

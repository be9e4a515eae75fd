// The glmv chat page. It talks to this server's /v1/chat/completions with
// streaming, keeps the conversations in the page, and draws the model's
// grounding boxes over the image they refer to. Everything the model
// writes is inserted as text (see markdown.js), never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    messages: $("messages"), empty: $("empty"), status: $("status"), prompt: $("prompt"),
    send: $("send"), stop: $("stop"), attach: $("attach"), fileInput: $("file-input"),
    attachments: $("attachments"), composer: $("composer"), chatList: $("chat-list"),
    newChat: $("new-chat"), thinking: $("thinking"), modelName: $("model-name"),
    temperature: $("temperature"), topP: $("top-p"), maxTokens: $("max-tokens"), seed: $("seed"),
    system: $("system"), tools: $("tools"), toolsError: $("tools-error"), apiKey: $("api-key"),
    settings: $("settings"), toggleSettings: $("toggle-settings"), drop: $("drop-overlay"),
  };

  const state = {
    chats: [],
    current: null,
    pending: [], // attachments for the next message: {name, type, url}
    run: null, // the answer being streamed: {controller, msg, view}
    model: "",
    nextID: 1,
  };

  // ---- Helpers ---------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function announce(text) {
    ui.status.textContent = "";
    // A fresh text node makes screen readers announce repeated messages.
    setTimeout(() => { ui.status.textContent = text; }, 30);
  }

  function fmtMs(ms) { return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(2) + " s"; }

  // The conversation follows new text while the reader is at its end, and
  // stays put once they scroll up.
  let stick = true;
  function scrollDown(force) {
    if (force) stick = true;
    if (stick) ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  // ---- Conversations ---------------------------------------------------

  function newChat() {
    stopRun();
    const chat = { id: state.nextID++, title: "New chat", messages: [] };
    state.chats.unshift(chat);
    state.current = chat;
    renderChatList();
    renderChat();
    ui.prompt.focus();
  }

  function openChat(chat) {
    if (chat === state.current) return;
    stopRun();
    state.current = chat;
    renderChatList();
    renderChat();
  }

  function renderChatList() {
    const items = state.chats.filter((c) => c.messages.length > 0 || c === state.current).map((c) => {
      const li = el("li");
      const b = el("button", "chat-item", c.title);
      b.type = "button";
      if (c === state.current) b.setAttribute("aria-current", "true");
      b.addEventListener("click", () => openChat(c));
      li.appendChild(b);
      return li;
    });
    ui.chatList.replaceChildren(...items);
  }

  function renderChat() {
    const views = state.current.messages.map((m, i) => renderMessage(m, i));
    ui.messages.replaceChildren(...(views.length ? views : [ui.empty]));
    scrollDown(true);
  }

  function renderMessage(m, index) {
    if (m.role === "user") return renderUser(m);
    if (m.role === "tool") return renderToolResult(m);
    const view = assistantView(m, index);
    updateAssistant(m, view, true);
    return view.root;
  }

  function renderUser(m) {
    const root = el("article", "msg user");
    root.setAttribute("aria-label", "You");
    if (m.files.length) {
      const ul = el("ul", "thumbs");
      ul.setAttribute("aria-label", m.files.length + (m.files.length === 1 ? " attachment" : " attachments"));
      m.files.forEach((f, k) => {
        const li = el("li");
        li.appendChild(preview(f, (f.video ? "Video " : "Image ") + (k + 1) + ": " + f.name, true));
        ul.appendChild(li);
      });
      root.appendChild(ul);
    }
    if (m.text) root.appendChild(el("p", "user-text", m.text));
    return root;
  }

  function renderToolResult(m) {
    const root = el("article", "msg tool");
    root.setAttribute("aria-label", "Tool result for " + m.name);
    root.appendChild(el("p", "tool-title", "Result of " + m.name));
    root.appendChild(el("pre", "tool-args", m.text));
    return root;
  }

  // ---- Assistant messages ---------------------------------------------

  // An assistant message: {role, segments: [{text} | {box}], boxes: [],
  // reasoning, toolCalls: [], image (data URL the boxes refer to), stats,
  // error, state: "streaming" | "done" | "stopped" | "error",
  // thinkingOpen (null until the user toggles it)}.

  function assistantView(m, index) {
    const root = el("article", "msg assistant");
    root.setAttribute("aria-label", "Answer");
    const v = { root, index };
    v.thinking = el("details", "thinking");
    v.thinkingSummary = el("summary", null, "Thinking");
    v.thinkingText = el("div", "thinking-text");
    v.thinking.append(v.thinkingSummary, v.thinkingText);
    v.thinking.hidden = true;
    // The reader's choice (a click on the summary, also from the keyboard)
    // wins over the automatic opening and closing. The toggle event
    // cannot tell the two apart: it fires later, for both.
    v.thinkingSummary.addEventListener("click", () => { m.thinkingOpen = !v.thinking.open; });
    v.answer = el("div", "answer");
    v.tools = el("div", "tool-calls");
    v.figure = el("figure", "grounding");
    v.figure.hidden = true;
    v.error = el("p", "error");
    v.error.setAttribute("role", "alert");
    v.error.hidden = true;
    v.stats = el("p", "stats");
    root.append(v.thinking, v.answer, v.tools, v.figure, v.error, v.stats);
    return v;
  }

  // boxNumbers numbers the boxes that have shapes, 1, 2, …
  function boxNumbers(m) {
    let n = 0;
    return m.boxes.map((b) => (b.shapes && b.shapes.length ? ++n : 0));
  }

  // phrase finds the words around box k that name it: the end of the
  // clause before it, or else the start of the text after it.
  function phrase(m, k) {
    const at = m.segments.findIndex((s) => s.box === k);
    if (at < 0) return ""; // a box inside the thinking
    const clean = (t) => t.replace(/[*_`#>|~\[\]()]/g, " ").replace(/\s+/g, " ");
    const words = (t) => t.trim().split(" ").filter(Boolean);
    let before = "";
    for (let i = at - 1; i >= 0 && m.segments[i].box === undefined; i--) before = m.segments[i].text + before;
    const b = clean(before.split(/[.!?;:\n]|,\s/).pop() || "");
    let w = words(b).filter((x) => !/^(is|are|at|in|the|a|an|located|of|and|on)$/i.test(x) || words(b).length < 3);
    if (w.length) return w.slice(-5).join(" ");
    let after = "";
    for (let i = at + 1; i < m.segments.length && m.segments[i].box === undefined; i++) after += m.segments[i].text;
    w = words(clean(after.split(/[.!?;:\n]/)[0] || ""));
    return w.slice(0, 5).join(" ");
  }

  function markdownSource(m) {
    return m.segments.map((s) => (s.box !== undefined ? Markdown.BOX_OPEN + s.box + Markdown.BOX_CLOSE
      : s.text.replace(/[\uE000\uE001]/g, ""))).join("");
  }

  function highlight(v, k, on) {
    v.root.querySelectorAll('[data-box="' + k + '"]').forEach((e) => e.classList.toggle("hl", on));
  }

  function hoverable(e, v, k) {
    e.addEventListener("mouseenter", () => highlight(v, k, true));
    e.addEventListener("mouseleave", () => highlight(v, k, false));
    e.addEventListener("focus", () => highlight(v, k, true));
    e.addEventListener("blur", () => highlight(v, k, false));
  }

  function updateAssistant(m, v, full) {
    // Thinking.
    if (m.reasoning) {
      v.thinking.hidden = false;
      v.thinkingText.textContent = m.reasoning;
      const answering = m.segments.length > 0 || m.toolCalls.length > 0 || m.state !== "streaming";
      v.thinking.open = m.thinkingOpen !== null && m.thinkingOpen !== undefined ? m.thinkingOpen : !answering;
      v.thinkingSummary.textContent = answering
        ? "Thought" + (m.thinkingMs ? " for " + fmtMs(m.thinkingMs) : "")
        : "Thinking…";
    }
    // Answer.
    const nums = boxNumbers(m);
    Markdown.render(markdownSource(m), v.answer, {
      box: (k) => {
        const b = m.boxes[k];
        const span = el("span", nums[k] ? "box-ref" : "boxed", b ? b.text : "");
        if (nums[k]) {
          span.dataset.box = k;
          span.dataset.n = nums[k];
          span.tabIndex = 0;
          span.title = "Box " + nums[k];
          span.setAttribute("aria-label", "Box " + nums[k] + ": " + b.text);
          hoverable(span, v, k);
        }
        return span;
      },
      boxText: (k) => (m.boxes[k] ? m.boxes[k].text : ""),
    });
    // Tool calls.
    if (full || v.tools.childElementCount !== m.toolCalls.length) {
      v.tools.replaceChildren(...m.toolCalls.map((tc, k) => toolCard(m, tc, k)));
    }
    // Boxes over the image.
    if (full || v.drawnBoxes !== m.boxes.length) {
      drawBoxes(m, v, nums);
      v.drawnBoxes = m.boxes.length;
    }
    // Error and statistics.
    v.error.hidden = !m.error;
    v.error.textContent = m.error || "";
    v.stats.textContent = statsText(m);
    v.root.dataset.state = m.state;
  }

  function statsText(m) {
    const s = m.stats;
    if (!s) return m.state === "streaming" ? "" : m.state === "stopped" ? "stopped" : "";
    const parts = [];
    if (s.tokens !== undefined) parts.push(s.tokens + (s.tokens === 1 ? " token" : " tokens"));
    if (s.tokensPerSecond) parts.push(s.tokensPerSecond.toFixed(1) + " tokens/s");
    if (s.ttft !== undefined) parts.push("first token " + fmtMs(s.ttft));
    if (s.finish) parts.push(s.finish === "length" ? "stopped at max tokens" : "finish: " + s.finish);
    if (s.seed) parts.push("seed " + s.seed);
    if (m.state === "stopped") parts.push("stopped");
    return parts.join(" · ");
  }

  function drawBoxes(m, v, nums) {
    const drawn = m.boxes.some((b) => b.shapes && b.shapes.length);
    v.figure.hidden = !drawn || !m.image;
    if (v.figure.hidden) { v.figure.replaceChildren(); return; }
    const frame = el("div", "frame");
    const img = el("img");
    img.alt = "The image the boxes refer to";
    const place = () => {
      const W = img.naturalWidth, H = img.naturalHeight;
      if (!W || !H) return;
      frame.style.aspectRatio = W + " / " + H;
      frame.style.maxWidth = "min(100%, 640px, calc(50vh * " + (W / H).toFixed(5) + "))";
      frame.querySelectorAll(".ov").forEach((o) => {
        const b = m.boxes[+o.dataset.box];
        const sh = b.shapes[+o.dataset.shape];
        // Pixel coordinates of the original image, as the server sent
        // them; the model's 0–1000 coordinates if the size was unknown.
        const p = sh.pixels && sh.pixels.length === sh.norm.length ? sh.pixels : null;
        const c = p ? p.map((x, i) => x / (i % 2 ? H : W)) : sh.norm.map((x) => x / 1000);
        const [x1, y1] = c;
        const [x2, y2] = c.length === 4 ? [c[2], c[3]] : [c[0], c[1]];
        const pct = (x) => (Math.max(0, Math.min(1, x)) * 100).toFixed(4) + "%";
        o.style.left = pct(Math.min(x1, x2));
        o.style.top = pct(Math.min(y1, y2));
        o.style.width = pct(Math.abs(x2 - x1));
        o.style.height = pct(Math.abs(y2 - y1));
        if (y1 < 0.08) o.classList.add("label-below");
      });
      frame.dataset.ready = "1";
      scrollDown(false);
    };
    frame.appendChild(img);
    const legend = el("figcaption", "legend");
    const list = el("ol");
    m.boxes.forEach((b, k) => {
      if (!nums[k]) return;
      const words = phrase(m, k);
      const label = nums[k] + (words ? " " + words : "");
      b.shapes.forEach((sh, j) => {
        const o = el("div", "ov" + (sh.norm.length === 2 ? " point" : ""));
        o.dataset.box = k;
        o.dataset.shape = j;
        o.appendChild(el("span", "ov-label", label));
        o.setAttribute("aria-hidden", "true");
        hoverable(o, v, k);
        frame.appendChild(o);
      });
      const li = el("li", null);
      li.dataset.box = k;
      li.value = nums[k];
      li.tabIndex = 0;
      li.textContent = (words || "box") + " — " + b.shapes.map((sh) =>
        "[" + (sh.pixels || sh.norm).map((x) => Math.round(x)).join(", ") + "]").join(" ") +
        (b.shapes[0].pixels ? " px" : " (0–1000)");
      hoverable(li, v, k);
      list.appendChild(li);
    });
    legend.appendChild(list);
    img.addEventListener("load", place);
    img.src = m.image;
    v.figure.replaceChildren(frame, legend);
    if (img.complete) place();
  }

  // ---- Tool calls ------------------------------------------------------

  function toolCard(m, tc, k) {
    const card = el("section", "tool-card");
    card.setAttribute("aria-label", "Tool call " + tc.function.name);
    card.appendChild(el("p", "tool-title", "Tool call: " + tc.function.name));
    let args = tc.function.arguments;
    try { args = JSON.stringify(JSON.parse(args), null, 2); } catch (e) { /* shown as sent */ }
    card.appendChild(el("pre", "tool-args", args));
    const answered = state.current && state.current.messages.some((x) => x.role === "tool" && x.toolCallID === tc.id);
    if (m.state === "done" && !answered) {
      const id = "tool-result-" + m.id + "-" + k;
      const lab = el("label", null, "Result to send back");
      lab.htmlFor = id;
      const ta = el("textarea");
      ta.id = id;
      ta.rows = 2;
      const b = el("button", null, "Send result");
      b.type = "button";
      b.addEventListener("click", () => {
        if (state.run) return;
        const msgs = state.current.messages;
        msgs.push({ role: "tool", toolCallID: tc.id, name: tc.function.name, text: ta.value });
        renderChat();
        // The model continues once every call of its turn has a result.
        if (m.toolCalls.every((c) => msgs.some((x) => x.role === "tool" && x.toolCallID === c.id))) ask();
      });
      card.append(lab, ta, b);
    }
    return card;
  }

  // ---- Attachments -----------------------------------------------------

  // preview shows an attachment: the image, or the video (with controls
  // in a sent message, a still frame among the pending attachments).
  function preview(f, label, controls) {
    if (!f.video) {
      const img = el("img");
      img.src = f.url;
      img.alt = label;
      return img;
    }
    const v = el("video");
    v.src = f.url;
    v.muted = true;
    v.preload = "metadata";
    v.controls = controls;
    v.setAttribute("aria-label", label);
    return v;
  }

  // The server refuses data: URLs over 64 MiB.
  const maxFileBytes = 64 << 20;

  function addFiles(files) {
    const list = Array.from(files || []);
    for (const f of list) {
      const video = f.type.startsWith("video/");
      if (!f.type.startsWith("image/") && !video) {
        announce(f.name + " is neither an image nor a video.");
        showComposerError(f.name + " is neither an image nor a video; only those can be attached.");
        continue;
      }
      if (f.size > maxFileBytes) {
        showComposerError(f.name + " is " + (f.size / 1048576).toFixed(0) + " MiB; the server takes files up to 64 MiB.");
        continue;
      }
      const r = new FileReader();
      r.onload = () => {
        state.pending.push({ name: f.name || (video ? "pasted video" : "pasted image"), type: f.type, url: r.result, video });
        renderAttachments();
      };
      r.onerror = () => showComposerError("Could not read " + f.name + ".");
      r.readAsDataURL(f);
    }
  }

  function showComposerError(text) {
    let e = document.querySelector(".composer-error");
    if (!e) {
      e = el("p", "composer-error field-error");
      e.setAttribute("role", "alert");
      ui.composer.prepend(e);
    }
    e.textContent = text;
  }

  function renderAttachments() {
    ui.attachments.replaceChildren(...state.pending.map((f, k) => {
      const li = el("li");
      const img = preview(f, f.name, false);
      const x = el("button", "remove", "×");
      x.type = "button";
      x.setAttribute("aria-label", "Remove " + f.name);
      x.addEventListener("click", () => {
        state.pending.splice(k, 1);
        renderAttachments();
        ui.prompt.focus();
      });
      li.append(img, x);
      return li;
    }));
    ui.attachments.hidden = state.pending.length === 0;
  }

  // ---- Requests --------------------------------------------------------

  function numberField(input, name, body, integer) {
    const t = input.value.trim();
    if (!t) return null;
    const x = Number(t);
    if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) return name + " must be a number";
    body[name] = x;
    return null;
  }

  function assistantContent(m) {
    return m.segments.map((s) => (s.box !== undefined ? "<|begin_of_box|>" + m.boxes[s.box].text + "<|end_of_box|>" : s.text)).join("");
  }

  function buildBody(chat, upTo) {
    const body = { model: state.model || undefined, stream: true, stream_options: { include_usage: true } };
    const msgs = [];
    if (ui.system.value.trim()) msgs.push({ role: "system", content: ui.system.value });
    for (const m of chat.messages.slice(0, upTo)) {
      if (m.role === "user") {
        if (m.files.length) {
          const parts = m.files.map((f) => (f.video ? { type: "video_url", video_url: { url: f.url } }
            : { type: "image_url", image_url: { url: f.url } }));
          if (m.text) parts.push({ type: "text", text: m.text });
          msgs.push({ role: "user", content: parts });
        } else {
          msgs.push({ role: "user", content: m.text });
        }
      } else if (m.role === "tool") {
        msgs.push({ role: "tool", tool_call_id: m.toolCallID, name: m.name, content: m.text });
      } else {
        const content = assistantContent(m);
        if (!content && !m.toolCalls.length) continue;
        const a = { role: "assistant", content };
        if (m.toolCalls.length) a.tool_calls = m.toolCalls;
        msgs.push(a);
      }
    }
    body.messages = msgs;
    body.chat_template_kwargs = { enable_thinking: ui.thinking.checked };
    const errs = [numberField(ui.temperature, "temperature", body), numberField(ui.topP, "top_p", body),
      numberField(ui.maxTokens, "max_tokens", body, true), numberField(ui.seed, "seed", body, true)].filter(Boolean);
    ui.toolsError.textContent = "";
    if (ui.tools.value.trim()) {
      try {
        const tools = JSON.parse(ui.tools.value);
        if (!Array.isArray(tools)) throw new Error("not a list");
        body.tools = tools;
      } catch (e) {
        ui.toolsError.textContent = "Tools must be a JSON list: " + e.message;
        errs.push("the tools are not a JSON list");
      }
    }
    return { body, errs };
  }

  // lastImage is the image the server's box coordinates refer to: the last
  // one in the conversation so far. When a video came last the boxes stay
  // in the text but are not drawn: they refer to one of its frames.
  function lastImage(chat) {
    for (let i = chat.messages.length - 1; i >= 0; i--) {
      const m = chat.messages[i];
      if (m.role === "user" && m.files.length) {
        const f = m.files[m.files.length - 1];
        return f.video ? null : f.url;
      }
    }
    return null;
  }

  function submit() {
    if (state.run) return;
    const text = ui.prompt.value.trim();
    if (!text && state.pending.length === 0) return;
    const chat = state.current;
    chat.messages.push({ role: "user", text, files: state.pending });
    if (chat.title === "New chat") {
      const t = text.replace(/\s+/g, " ");
      chat.title = t ? (t.length > 40 ? t.slice(0, 39) + "…" : t) : "Image";
    }
    state.pending = [];
    renderAttachments();
    ui.prompt.value = "";
    const old = document.querySelector(".composer-error");
    if (old) old.remove();
    renderChatList();
    renderChat();
    ask();
  }

  async function ask() {
    const chat = state.current;
    const { body, errs } = buildBody(chat, chat.messages.length);
    const m = {
      role: "assistant", id: state.nextID++, segments: [], boxes: [], reasoning: "", toolCalls: [],
      image: lastImage(chat), stats: null, error: "", state: "streaming", thinkingOpen: null,
    };
    chat.messages.push(m);
    const view = assistantView(m, chat.messages.length - 1);
    view.root.dataset.state = m.state;
    if (ui.empty.parentNode) ui.empty.remove();
    ui.messages.appendChild(view.root);
    scrollDown(true);
    if (errs.length) {
      m.state = "error";
      m.error = "Not sent: " + errs.join("; ") + ".";
      updateAssistant(m, view, true);
      announce(m.error);
      return;
    }
    const controller = new AbortController();
    state.run = { controller, msg: m, view, chat };
    setBusy(true);
    announce("Answering…");
    const t0 = performance.now();
    let tFirst = 0, tThinkEnd = 0, usage = null, finish = "", seed = "";
    let frame = 0;
    const redraw = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => { frame = 0; updateAssistant(m, view, false); scrollDown(false); });
    };
    const mark = () => { if (!tFirst) tFirst = performance.now(); };
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!res.ok) {
        let msg = res.status + " " + res.statusText;
        try {
          const j = await res.json();
          if (j && j.error && j.error.message) msg = j.error.message + " (HTTP " + res.status + ")";
        } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      // The seed the server used (its own draw when none was set), to
      // replay the answer.
      seed = res.headers.get("X-Glmv-Seed") || "";
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      let done = false;
      while (!done) {
        const r = await reader.read();
        if (r.done) break;
        buf += dec.decode(r.value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") { done = true; break; }
            let c;
            try { c = JSON.parse(data); } catch (e) { throw new Error("bad event from the server: " + data.slice(0, 200)); }
            if (c.error) throw new Error(c.error.message || "the server reported an error");
            if (c.usage) usage = c.usage;
            const ch = c.choices && c.choices[0];
            if (!ch) continue;
            if (ch.finish_reason) finish = ch.finish_reason;
            const d = ch.delta || {};
            if (d.boxes && d.boxes.length) {
              mark();
              for (const b of d.boxes) {
                m.boxes.push(b);
                if (d.content !== undefined && d.content !== null) m.segments.push({ box: m.boxes.length - 1 });
              }
              if (d.reasoning_content) m.reasoning += d.reasoning_content;
            } else {
              if (d.reasoning_content) { mark(); m.reasoning += d.reasoning_content; }
              if (d.content) {
                mark();
                if (m.reasoning && !tThinkEnd) tThinkEnd = performance.now();
                const last = m.segments[m.segments.length - 1];
                if (last && last.box === undefined) last.text += d.content;
                else m.segments.push({ text: d.content });
              }
            }
            if (d.tool_calls) {
              mark();
              for (const tc of d.tool_calls) {
                m.toolCalls.push({ id: tc.id, type: "function", function: { name: tc.function.name, arguments: tc.function.arguments } });
              }
            }
            if (m.reasoning && !tThinkEnd && (m.segments.length || m.toolCalls.length)) tThinkEnd = performance.now();
            redraw();
          }
        }
      }
      if (!done) throw new Error("the answer stream ended early (the server closed the connection)");
      m.state = "done";
      announce("Answer finished.");
    } catch (e) {
      if (controller.signal.aborted) {
        m.state = "stopped";
        announce("Stopped.");
      } else {
        m.state = "error";
        m.error = "Error: " + (e && e.message ? e.message : String(e));
        announce(m.error);
      }
    } finally {
      if (frame) cancelAnimationFrame(frame);
      const tEnd = performance.now();
      if (m.reasoning) m.thinkingMs = (tThinkEnd || tEnd) - t0;
      if (tFirst || usage) {
        const n = usage ? usage.completion_tokens : undefined;
        m.stats = { ttft: tFirst ? tFirst - t0 : undefined, tokens: n, finish: finish || undefined, seed };
        if (n > 1 && tFirst && tEnd > tFirst) m.stats.tokensPerSecond = (n - 1) / ((tEnd - tFirst) / 1000);
      }
      if (state.run && state.run.msg === m) state.run = null;
      setBusy(false);
      if (state.current === chat) {
        updateAssistant(m, view, true);
        scrollDown(false);
      }
      if (document.activeElement === document.body || document.activeElement === ui.stop) ui.prompt.focus();
    }
  }

  function stopRun() {
    if (state.run) state.run.controller.abort();
  }

  function setBusy(busy) {
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    if (busy && document.activeElement === ui.send) ui.stop.focus();
  }

  // ---- Wiring ----------------------------------------------------------

  ui.messages.addEventListener("scroll", () => {
    const m = ui.messages;
    stick = m.scrollHeight - m.scrollTop - m.clientHeight < 40;
  });
  ui.composer.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.run) {
      e.preventDefault();
      stopRun();
    }
  });
  ui.stop.addEventListener("click", stopRun);
  ui.newChat.addEventListener("click", newChat);
  ui.attach.addEventListener("click", () => ui.fileInput.click());
  ui.fileInput.addEventListener("change", () => { addFiles(ui.fileInput.files); ui.fileInput.value = ""; });
  ui.toggleSettings.addEventListener("click", () => {
    const open = ui.settings.hidden;
    ui.settings.hidden = !open;
    ui.toggleSettings.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("paste", (e) => {
    const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
    if (files.length) {
      e.preventDefault();
      addFiles(files);
    }
  });
  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth++;
    ui.drop.hidden = false;
  });
  window.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
  window.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) ui.drop.hidden = true;
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    ui.drop.hidden = true;
    addFiles(e.dataTransfer.files);
  });

  // The API key, for a server started with --api-key, is kept for this
  // browser tab only.
  function headers(h) {
    const key = ui.apiKey.value.trim();
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }
  try { ui.apiKey.value = sessionStorage.getItem("glmv-api-key") || ""; } catch (e) { /* storage off */ }
  ui.apiKey.addEventListener("change", () => {
    try { sessionStorage.setItem("glmv-api-key", ui.apiKey.value.trim()); } catch (e) { /* storage off */ }
    loadModel();
  });

  function loadModel() {
    fetch("/v1/models", { headers: headers({}) }).then((r) => {
      if (r.status === 401) throw new Error("the server needs an API key (Settings)");
      if (r.status === 503) {
        setTimeout(loadModel, 3000); // still loading the model
        throw new Error("the model is still loading…");
      }
      if (!r.ok) throw new Error("model list: HTTP " + r.status);
      return r.json();
    }).then((j) => {
      const d = j && j.data && j.data[0];
      if (d) {
        state.model = d.id;
        ui.modelName.textContent = d.id + (d.max_model_len ? " · context " + d.max_model_len : "");
      }
    }).catch((e) => { ui.modelName.textContent = e.message || "model list unavailable"; });
  }
  loadModel();

  if (window.matchMedia("(max-width: 900px)").matches) {
    ui.settings.hidden = true;
    ui.toggleSettings.setAttribute("aria-expanded", "false");
  }
  renderAttachments();
  newChat();
})();

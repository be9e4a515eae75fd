package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png"
	"io"
	"iter"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/demo"
	"github.com/glmv/glmv/media"
)

// stubGenerator stands in for the model behind the real handler: it
// streams a fixed reply, with thinking unless the request switches it
// off, through the real output parser (so the boxes get their pixel
// coordinates from the request's last image, as the model's would). The
// demo model's random weights never write a box.
type stubGenerator struct {
	thinking, answer string
	// replies answers particular user texts instead of answer.
	replies map[string]string
	// pace, when set, is the time between pieces (for a screenshot with
	// believable speeds; the checks do not depend on it).
	pace time.Duration
	// requests receives every request the handler passes on.
	requests chan glmv.Request
	// cancelled is closed when a request whose last user text contains
	// "[hold]" sees its context cancelled; such a request streams its
	// thinking and then waits for the client to go away.
	cancelled chan struct{}
}

func newStub(thinking, answer string) *stubGenerator {
	return &stubGenerator{thinking: thinking, answer: answer, requests: make(chan glmv.Request, 16), cancelled: make(chan struct{})}
}

// messageText returns a message's role and text, whether it came as Go
// parts or, as the server passes them, as the client's JSON.
func messageText(m glmv.Message) (role, text string) {
	if m.JSON == nil {
		var sb strings.Builder
		for _, p := range m.Content {
			sb.WriteString(p.Text)
		}
		return m.Role, sb.String()
	}
	var j struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	json.Unmarshal(m.JSON, &j)
	var str string
	if json.Unmarshal(j.Content, &str) == nil {
		return j.Role, str
	}
	var parts []struct {
		Type, Text string
	}
	json.Unmarshal(j.Content, &parts)
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	return j.Role, sb.String()
}

func lastUserText(req glmv.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if role, text := messageText(req.Messages[i]); role == "user" {
			return text
		}
	}
	return ""
}

func (g *stubGenerator) Generate(ctx context.Context, req glmv.Request) iter.Seq2[glmv.Event, error] {
	return func(yield func(glmv.Event, error) bool) {
		g.requests <- req
		var w, h int
		for _, m := range req.Messages {
			for _, p := range m.Content {
				if p.Image != nil {
					// As the model does: the size after EXIF orientation.
					img, err := media.DecodeImage(p.Image.Data, nil)
					if err != nil {
						yield(glmv.Event{}, &glmv.InputError{Err: err})
						return
					}
					w, h = img.Width, img.Height
				}
			}
		}
		hold := strings.Contains(lastUserText(req), "[hold]")
		text := g.answer
		if r, ok := g.replies[lastUserText(req)]; ok {
			text = r
		}
		if role, result := messageText(req.Messages[len(req.Messages)-1]); role == "tool" {
			text = "The tool says: " + result
		}
		if req.Thinking == nil || *req.Thinking {
			text = "<think>" + g.thinking + "</think>\n" + text
		}
		if hold {
			text = "<think>" + g.thinking
		}
		parser := chat.NewParser(chat.ParserOptions{ImageWidth: w, ImageHeight: h, Tools: req.Tools})
		emit := func(evs []chat.Event) bool {
			for _, e := range evs {
				ev := glmv.Event{Text: e.Text, InThinking: e.InThinking, Box: e.Box, ToolCall: e.ToolCall}
				switch e.Kind {
				case chat.ThinkingText:
					ev.Kind = glmv.EventThinking
				case chat.AnswerText:
					ev.Kind = glmv.EventAnswer
				case chat.BoxEvent:
					ev.Kind = glmv.EventBox
				case chat.ToolCallEvent:
					ev.Kind = glmv.EventToolCall
				default:
					ev.Kind = glmv.EventRaw
				}
				if !yield(ev, nil) {
					return false
				}
			}
			return true
		}
		// Pieces of a few bytes, like decoded tokens, cut markers in two.
		n := 0
		for rest := text; rest != ""; n++ {
			k := min(len(rest), 5)
			if g.pace > 0 {
				time.Sleep(g.pace)
			}
			if !emit(parser.Add(rest[:k])) {
				return
			}
			rest = rest[k:]
		}
		if hold {
			<-ctx.Done()
			close(g.cancelled)
			return
		}
		if !emit(parser.Close()) {
			return
		}
		yield(glmv.Event{Kind: glmv.EventDone, Usage: &glmv.Usage{PromptTokens: 10, CompletionTokens: n, FinishReason: "stop", ImageWidth: w, ImageHeight: h}}, nil)
	}
}

// recorder keeps the chat-completion bodies the page posts.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	next   http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, b)
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) last(t *testing.T) []byte {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) == 0 {
		t.Fatal("the page posted no chat completion")
	}
	return rec.bodies[len(rec.bodies)-1]
}

// apiAnswer replays a streamed request body without streaming and returns
// the whole answer.
func apiAnswer(t *testing.T, url string, body []byte) message {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	delete(req, "stream")
	delete(req, "stream_options")
	b, _ := json.Marshal(req)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c completion
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 || len(c.Choices) != 1 {
		t.Fatalf("replaying the page's request: status %d, %v, %+v", resp.StatusCode, err, c)
	}
	return *c.Choices[0].Message
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

type rect struct{ X, Y, W, H float64 }

// overlayGeometry is what the page shows for box k: the overlay's and the
// image's on-screen rectangles and the image's natural size.
type overlayGeometry struct {
	Ov, Img  rect
	NW, NH   float64
	Label    string
	Ready    bool
	Overlays int
}

func readGeometry(msg string, k int) chromedp.Action[overlayGeometry] {
	js := fmt.Sprintf(`(() => {
		const m = document.querySelector(%q);
		const o = m.querySelector('.ov[data-box="%d"]'), img = m.querySelector('.frame img');
		const r = (e) => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
		return {Ov: r(o), Img: r(img), NW: img.naturalWidth, NH: img.naturalHeight,
			Label: o.querySelector('.ov-label').textContent, Ready: m.querySelector('.frame').dataset.ready === '1',
			Overlays: m.querySelectorAll('.ov').length};
	})()`, msg, k)
	return chromedp.Evaluate[overlayGeometry](js)
}

// checkOverlay compares box k's overlay with its pixel box scaled to the
// displayed image.
func checkOverlay(t *testing.T, ctx context.Context, msg string, k int, px []float64) overlayGeometry {
	t.Helper()
	g, err := chromedp.Run(ctx, readGeometry(msg, k))
	if err != nil {
		t.Fatalf("reading the overlay of box %d: %v", k, err)
	}
	if !g.Ready || g.NW == 0 {
		t.Fatalf("box %d: image not placed: %+v", k, g)
	}
	sx, sy := g.Img.W/g.NW, g.Img.H/g.NH
	want := rect{g.Img.X + px[0]*sx, g.Img.Y + px[1]*sy, (px[2] - px[0]) * sx, (px[3] - px[1]) * sy}
	const tol = 1.5 // CSS pixels: the overlay's border box is placed on sub-pixel positions
	if math.Abs(g.Ov.X-want.X) > tol || math.Abs(g.Ov.Y-want.Y) > tol || math.Abs(g.Ov.W-want.W) > tol || math.Abs(g.Ov.H-want.H) > tol {
		t.Errorf("box %d overlay at %+v, want %+v (pixels %v, image shown at %+v, natural %vx%v)", k, g.Ov, want, px, g.Img, g.NW, g.NH)
	}
	return g
}

// hostileAnswer is Markdown with HTML and a javascript: link: the page
// must show the HTML as text and drop the link.
const hostileAnswer = "Sure. <img src=x onerror=\"window.pwned=1\"> **bold** and `<b>code</b>` " +
	"[bad](javascript:window.pwned=3) [good](https://example.com/a)\n<script>window.pwned=2</script>\n\n" +
	"```html\n<b>hi</b>\n```\n\n- one\n- two\n"

// a11yProblems lists, for the page as shown, controls without an
// accessible name and text whose contrast with its background is below
// WCAG AA (4.5:1, or 3:1 for large text).
const a11yProblems = `(() => {
	const out = [];
	const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
	for (const e of document.querySelectorAll("button, input, textarea, select, [tabindex]")) {
		if (e.closest("[aria-hidden=true]") || !shown(e)) continue;
		const named = (e.getAttribute("aria-label") || "").trim() || (e.labels && Array.from(e.labels).some((l) => l.textContent.trim())) ||
			(!/^(INPUT|TEXTAREA|SELECT)$/.test(e.tagName) && e.textContent.trim()) || (e.getAttribute("aria-labelledby") && document.getElementById(e.getAttribute("aria-labelledby")));
		if (!named) out.push("no name: " + e.outerHTML.slice(0, 80));
	}
	const rgb = (c) => { const m = c.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const background = (e) => {
		for (; e; e = e.parentElement) {
			const c = rgb(getComputedStyle(e).backgroundColor);
			if (c.a >= 0.99) return c;
			if (c.a > 0) return null; // translucent: not judged
		}
		return {r: 255, g: 255, b: 255};
	};
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const e = n.parentElement;
		if (!n.textContent.trim() || !e || !shown(e) || e.closest(".visually-hidden, [hidden]")) continue;
		const st = getComputedStyle(e), fg = rgb(st.color), bg = background(e);
		if (!bg) continue;
		const L1 = lum(fg), L2 = lum(bg), ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
		const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
		const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		if (ratio < need) out.push("contrast " + ratio.toFixed(2) + " < " + need + ": " + n.textContent.trim().slice(0, 40));
	}
	return out;
})()`

// TestWebUIInBrowser drives the chat page in headless Chromium against
// the real handler: first on the demo model (answer text and request
// checked against the API), then with a stub generator that answers with
// thinking and two boxes (thinking switch, collapsing, box overlays at
// two display sizes, hover highlighting, history, Stop, server errors).
func TestWebUIInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
	}
	dir, imgPath, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := glmv.Load(dir, glmv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	imgBytes, err := os.ReadFile(imgPath)
	if err != nil {
		t.Fatal(err)
	}

	real := &recorder{next: New(m, "tiny", nil).Handler()}
	realTS := httptest.NewServer(real)
	defer realTS.Close()
	stub := newStub("The user asks where things are. The oval is blue, at the right edge; the purple stroke crosses the middle.",
		"The blue oval <|begin_of_box|>[[862,607,998,995]]<|end_of_box|> sits at the right edge, and the purple line "+
			"<|begin_of_box|>[[560,420,735,815]]<|end_of_box|> crosses the middle.")
	stub.replies = map[string]string{
		"Thanks.":           hostileAnswer,
		"Weather in Paris?": "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
	}
	screenshot := os.Getenv("GLMV_WEBUI_SCREENSHOT")
	if screenshot != "" {
		stub.pace = 25 * time.Millisecond
	}
	stubServer := New(m, "glm-4.5v (stub answer)", nil)
	stubServer.gen = stub
	fake := &recorder{next: stubServer.Handler()}
	stubTS := httptest.NewServer(fake)
	defer stubTS.Close()
	keyServer := NewServer(Options{APIKey: "sekret"})
	keyServer.SetModel(m, "tiny")
	keyServer.gen = stub
	keyTS := httptest.NewServer(keyServer.Handler())
	defer keyTS.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1100))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	str := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		s, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	is := func(what, js string) bool {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return b
	}
	const answer = ".msg.assistant:last-of-type"
	// done waits for the last answer to end and fails fast if it ended
	// otherwise than in state.
	done := func(state string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.WaitVisible(chromedp.CSS(answer+`:not([data-state="streaming"])`))(ctx, tg); err != nil {
				return err
			}
			got, err := chromedp.Evaluate[[]string](`(() => { const m = document.querySelector(".msg.assistant:last-of-type");
				return [m.dataset.state, m.querySelector(".error").textContent]; })()`)(ctx, tg)
			if err != nil {
				return err
			}
			if got[0] != state {
				return fmt.Errorf("the answer ended %q, want %q (error shown: %q)", got[0], state, got[1])
			}
			return nil
		})
	}
	send := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.SendKeys(chromedp.ID("prompt"), text+kb.Enter)
	}

	// 1. The demo model, thinking off, max tokens and temperature set.
	do("the page on the demo model",
		chromedp.Navigate(realTS.URL),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.Click(chromedp.ID("thinking")),
		chromedp.SetValue(chromedp.ID("max-tokens"), "12"),
		chromedp.SetValue(chromedp.ID("temperature"), "0"),
		chromedp.SetValue(chromedp.ID("seed"), "7"),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{imgPath}),
		chromedp.WaitVisible(chromedp.CSS("#attachments img")),
		send(demo.Question),
		done("done"),
	)
	answerText := str("answer", chromedp.Text(chromedp.CSS(answer+" .answer")))
	stats := str("statistics", chromedp.Text(chromedp.CSS(answer+" .stats")))
	thinkingHidden := is("thinking block", `document.querySelector(".msg.assistant .thinking").hidden`)
	var sent struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		MaxTokens   *int     `json:"max_tokens"`
		Seed        *int     `json:"seed"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
		Stream      bool     `json:"stream"`
		Kwargs      struct {
			EnableThinking *bool `json:"enable_thinking"`
		} `json:"chat_template_kwargs"`
	}
	body := real.last(t)
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	wantContent := `[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(imgBytes) +
		`"}},{"type":"text","text":"` + demo.Question + `"}]`
	if len(sent.Messages) != 1 || sent.Messages[0].Role != "user" || string(sent.Messages[0].Content) != wantContent ||
		sent.MaxTokens == nil || *sent.MaxTokens != 12 || sent.Temperature == nil || *sent.Temperature != 0 || sent.TopP != nil || sent.Seed == nil || *sent.Seed != 7 ||
		!sent.Stream || sent.Kwargs.EnableThinking == nil || *sent.Kwargs.EnableThinking {
		t.Errorf("the page sent %.300s", body)
	}
	api := apiAnswer(t, realTS.URL, body)
	if normSpace(answerText) != normSpace(*api.Content) || answerText == "" {
		t.Errorf("page shows answer %q, the API answers %q", answerText, *api.Content)
	}
	if !thinkingHidden {
		t.Error("thinking block shown with thinking switched off")
	}
	if !strings.Contains(stats, "12 tokens") || !strings.Contains(stats, "first token") || !strings.Contains(stats, "tokens/s") || !strings.Contains(stats, "seed 7") {
		t.Errorf("statistics under the answer: %q", stats)
	}

	// 2. The stub: thinking on (the default), an answer with two boxes.
	do("the page on the stub generator",
		chromedp.Navigate(stubTS.URL),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{imgPath}),
		chromedp.WaitVisible(chromedp.CSS("#attachments img")),
		chromedp.SendKeys(chromedp.ID("prompt"), "Where are the blue oval and the purple line?"),
		chromedp.KeyEvent(kb.Enter),
		done("done"),
		chromedp.WaitVisible(chromedp.CSS(answer+` .frame[data-ready="1"]`)),
	)
	answerText = str("answer", chromedp.Text(chromedp.CSS(answer+" .answer")))
	thinkingOpen := is("thinking block", `document.querySelector(".msg.assistant .thinking").open`)
	thinkingText := str("thinking", chromedp.TextContent(chromedp.CSS(answer+" .thinking-text")))
	labels := str("labels", chromedp.Evaluate[string](`Array.from(document.querySelectorAll(".msg.assistant .ov-label")).map(e => e.textContent).join("|")`))
	req := <-stub.requests
	if req.Thinking == nil || !*req.Thinking || req.Temperature != nil || req.MaxTokens != 0 {
		t.Errorf("stub got thinking %v, temperature %v, max tokens %d; want thinking on and the model's defaults", req.Thinking, req.Temperature, req.MaxTokens)
	}
	api = apiAnswer(t, stubTS.URL, fake.last(t))
	<-stub.requests
	if normSpace(answerText) != normSpace(*api.Content) {
		t.Errorf("page shows answer %q, the API answers %q", answerText, *api.Content)
	}
	if thinkingOpen || thinkingText != stub.thinking {
		t.Errorf("thinking block open=%v (want collapsed once the answer started), text %q", thinkingOpen, thinkingText)
	}
	if len(api.Boxes) != 2 || labels != "1 blue oval|2 purple line" {
		t.Fatalf("API boxes %+v; overlay labels %q", api.Boxes, labels)
	}
	for k, b := range api.Boxes {
		checkOverlay(t, ctx, answer, k, b.Shapes[0].Pixels)
	}
	shot := captureScreenshot(t, ctx)
	// At another display size the overlays follow the image.
	str("narrowing the figure", chromedp.Evaluate[string](`document.querySelector(".msg.assistant .grounding").style.width = "230px"`))
	g := checkOverlay(t, ctx, answer, 0, api.Boxes[0].Shapes[0].Pixels)
	if math.Abs(g.Img.W-230) > 1 {
		t.Errorf("figure narrowed to 230px but the image is %v wide", g.Img.W)
	}
	checkOverlay(t, ctx, answer, 1, api.Boxes[1].Shapes[0].Pixels)

	// Hovering a box highlights its text, and hovering the text its box.
	do("hovering the box", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, g.Ov.X+g.Ov.W/2, g.Ov.Y+g.Ov.H/2))
	refLit := is("box text", `document.querySelector('.msg.assistant .box-ref[data-box="0"]').classList.contains("hl")`)
	ref, err := chromedp.Run(ctx, chromedp.Evaluate[rect](`(() => { const b = document.querySelector('.msg.assistant .box-ref[data-box="1"]').getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	do("hovering the text", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, ref.X+ref.W/2, ref.Y+ref.H/2))
	ovLit := is("overlay", `document.querySelector('.msg.assistant .ov[data-box="1"]').classList.contains("hl") &&
		!document.querySelector('.msg.assistant .ov[data-box="0"]').classList.contains("hl")`)
	if !refLit || !ovLit {
		t.Errorf("hover highlight: box→text %v, text→box %v", refLit, ovLit)
	}

	// Every control has a name and all text has AA contrast.
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yProblems))
	if err != nil || len(problems) > 0 {
		t.Errorf("accessibility: %v %q", err, problems)
	}

	// 3. Thinking switched off, in the same conversation: no thinking block,
	// and the history (with the boxes' markers) goes back to the server.
	// The answer's HTML is shown as text.
	do("a second turn without thinking",
		chromedp.Click(chromedp.ID("thinking")),
		send("Thanks."),
		chromedp.WaitVisible(chromedp.CSS(`.msg.assistant:nth-of-type(4)[data-state="done"]`)),
	)
	thinkingHidden = is("thinking block", `document.querySelector(".msg.assistant:nth-of-type(4) .thinking").hidden`)
	req = <-stub.requests
	if !thinkingHidden || req.Thinking == nil || *req.Thinking {
		t.Errorf("thinking off: block hidden %v, request thinking %v", thinkingHidden, req.Thinking)
	}
	if len(req.Messages) != 3 {
		t.Errorf("history sent back: %d messages", len(req.Messages))
	} else if role, text := messageText(req.Messages[1]); role != "assistant" ||
		!strings.Contains(text, "The blue oval <|begin_of_box|>[[862,607,998,995]]<|end_of_box|> sits") {
		t.Errorf("history sent back: %s %q", role, text)
	}
	type rendering struct {
		Elements, Links, Strong, Items int
		Code, Text                     string
		Pwned                          bool
	}
	r, err := chromedp.Run(ctx, chromedp.Evaluate[rendering](`(() => {
		const a = document.querySelector(".msg.assistant:nth-of-type(4) .answer");
		return {Elements: a.querySelectorAll("img, script, b, iframe, [onerror]").length,
			Links: a.querySelectorAll("a").length + (a.querySelector('a[href="https://example.com/a"]') ? 10 : 0),
			Strong: a.querySelectorAll("strong").length, Items: a.querySelectorAll("li").length,
			Code: a.querySelector("pre code") ? a.querySelector("pre code").textContent : a.innerHTML, Text: a.textContent, Pwned: "pwned" in window};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Elements != 0 || r.Links != 11 || r.Strong != 1 || r.Items != 2 || r.Code != "<b>hi</b>" || r.Pwned ||
		!strings.Contains(r.Text, `<img src=x onerror="window.pwned=1">`) || !strings.Contains(r.Text, "<script>window.pwned=2</script>") {
		t.Errorf("hostile Markdown rendered as %+v", r)
	}

	// The other Markdown the renderer knows, on its own.
	md := str("Markdown", chromedp.Evaluate[string](`(() => { const d = document.createElement("div");
		Markdown.render("# Title\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n- x\n  - y\n- z\n\n1. one\n2. two\n\n> quote\n\nsnake_case_name, _em_, ~~del~~ and `+"`a*b*c`"+`", d);
		return [d.querySelectorAll("h3").length, d.querySelectorAll("table td").length, d.querySelectorAll("ul > li").length,
			d.querySelectorAll("ul ul li").length, d.querySelectorAll("ol li").length, d.querySelectorAll("blockquote").length,
			d.querySelectorAll("em").length, d.querySelectorAll("del").length, d.lastElementChild.textContent].join("|"); })()`))
	if md != "1|2|3|1|2|1|1|1|snake_case_name, em, del and a*b*c" {
		t.Errorf("Markdown rendering: %s", md)
	}

	// Random Markdown-ish text (a seeded generator, 2000 strings) renders
	// without an exception and only into the elements the renderer makes.
	bad := str("random Markdown", chromedp.Evaluate[string](`(() => {
		let x = 12345;
		const rnd = (n) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
		const alphabet = ["*", "_", "~", "`+"`"+`", "[", "]", "(", ")", "#", ">", "-", "|", "\n", " ", "1.", "a", "<b>", "&", "\uE000", "0", "\uE001",
			"http://x.y/", "javascript:alert(1)", "\\", ":", "  ", "\n\n", "`+"```"+`"];
		const allowed = new Set(["P", "STRONG", "EM", "DEL", "CODE", "PRE", "DIV", "SPAN", "BUTTON", "H3", "H4", "H5", "H6",
			"UL", "OL", "LI", "BLOCKQUOTE", "HR", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "A"]);
		for (let k = 0; k < 2000; k++) {
			let src = "";
			for (let n = rnd(60); n > 0; n--) src += alphabet[rnd(alphabet.length)];
			const d = document.createElement("div");
			try { Markdown.render(src, d); } catch (e) { return "throws on " + JSON.stringify(src) + ": " + e; }
			for (const e of d.querySelectorAll("*")) {
				if (!allowed.has(e.tagName) || (e.tagName === "A" && !/^(https?|mailto):/.test(e.href)))
					return e.tagName + " from " + JSON.stringify(src);
			}
		}
		return "";
	})()`))
	if bad != "" {
		t.Errorf("Markdown renderer: %s", bad)
	}

	// 4. Esc stops an answer, and the server sees the request cancelled.
	do("stopping an answer that waits",
		chromedp.Click(chromedp.ID("new-chat")),
		chromedp.Click(chromedp.ID("thinking")),
		send("Think forever [hold]"),
		chromedp.WaitVisible(chromedp.CSS(answer+" .thinking[open]")),
		chromedp.WaitVisible(chromedp.ID("stop")),
		chromedp.KeyEvent(kb.Escape),
		done("stopped"),
	)
	<-stub.requests
	select {
	case <-stub.cancelled:
	case <-time.After(10 * time.Second):
		t.Error("the server's generation was not cancelled when the page stopped")
	}
	if !is("chat list", `document.querySelectorAll("#chat-list li").length === 2`) {
		t.Error("the history list does not hold the two chats")
	}
	do("going back to the first chat", chromedp.Click(chromedp.CSS("#chat-list li:last-child button")),
		chromedp.WaitVisible(chromedp.CSS(`.msg.assistant:nth-of-type(4)[data-state="done"]`)))
	if !is("restored boxes", `document.querySelectorAll(".msg.assistant .ov").length === 2`) {
		t.Error("going back to the first chat did not show its boxes again")
	}

	// 5. Tool calls are shown as cards, and a result can be sent back.
	do("a tool call",
		chromedp.Click(chromedp.ID("new-chat")),
		chromedp.SetValue(chromedp.ID("tools"), `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`),
		send("Weather in Paris?"),
		done("done"),
	)
	card := str("tool card", chromedp.Text(chromedp.CSS(answer+" .tool-card")))
	if !strings.Contains(card, "Tool call: get_weather") || !strings.Contains(card, `"city": "Paris"`) {
		t.Errorf("tool card %q", card)
	}
	req = <-stub.requests
	if len(req.Tools) != 1 {
		t.Errorf("tools sent: %s", req.Tools)
	}
	do("sending the tool's result",
		chromedp.SendKeys(chromedp.CSS(answer+" .tool-card textarea"), "Sunny, 24 °C"),
		chromedp.Click(chromedp.CSS(answer+" .tool-card button:not(.copy)")),
		chromedp.WaitVisible(chromedp.CSS(`.msg.assistant:nth-of-type(4)[data-state="done"]`)),
	)
	if a := str("answer after the tool", chromedp.Text(chromedp.CSS(answer+" .answer"))); a != "The tool says: Sunny, 24 °C" {
		t.Errorf("answer after the tool result: %q", a)
	}
	req = <-stub.requests
	// The server hands the template the client's JSON of each message.
	type toolTurn struct {
		Role      string `json:"role"`
		ToolCalls []struct {
			ID       string `json:"id"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_calls"`
		ToolCallID string `json:"tool_call_id"`
	}
	var turns [3]toolTurn
	for i := range min(len(req.Messages), 3) {
		json.Unmarshal(req.Messages[i].JSON, &turns[i])
	}
	if n := len(req.Messages); n != 3 || len(turns[1].ToolCalls) != 1 || turns[1].ToolCalls[0].Function.Name != "get_weather" ||
		turns[2].Role != "tool" || turns[2].ToolCallID != turns[1].ToolCalls[0].ID || turns[2].ToolCallID == "" {
		t.Errorf("conversation after the tool result: %+v", turns)
	}
	str("clearing the tools", chromedp.Evaluate[string](`document.getElementById("tools").value = ""`))

	// 6. A photo with an EXIF orientation is shown turned, as glmv reads
	// it, and the boxes follow.
	turned := filepath.Join(t.TempDir(), "turned.jpg")
	if err := os.WriteFile(turned, exifJPEG(t, imgBytes, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	do("a turned photo",
		chromedp.Click(chromedp.ID("new-chat")),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{turned}),
		chromedp.WaitVisible(chromedp.CSS("#attachments img")),
		send("Where are they now?"),
		done("done"),
		chromedp.WaitVisible(chromedp.CSS(answer+` .frame[data-ready="1"]`)),
	)
	<-stub.requests
	api = apiAnswer(t, stubTS.URL, fake.last(t))
	<-stub.requests
	for k, b := range api.Boxes {
		g := checkOverlay(t, ctx, answer, k, b.Shapes[0].Pixels)
		if g.NW != 150 || g.NH != 200 {
			t.Errorf("the turned 200×150 photo shows as %v×%v", g.NW, g.NH)
		}
	}

	// Shift+Enter starts a new line instead of sending. (The prompt is
	// emptied first: a synthetic Enter's character event still lands in
	// the box after the keydown handler has sent the message.)
	str("clearing the prompt", chromedp.Evaluate[string](`document.getElementById("prompt").value = ""`))
	do("Shift+Enter",
		chromedp.SendKeys(chromedp.ID("prompt"), "two"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierShift)),
		chromedp.SendKeys(chromedp.ID("prompt"), "lines"),
	)
	if v := str("prompt", chromedp.Value(chromedp.ID("prompt"))); v != "two\nlines" || !is("messages", `document.querySelectorAll(".msg").length === 2`) {
		t.Errorf("after Shift+Enter the prompt holds %q", v)
	}
	str("clearing the prompt", chromedp.Evaluate[string](`document.getElementById("prompt").value = ""`))

	// 7. Bad settings are refused in the page; server errors are shown as
	// the server words them.
	do("a request the server refuses",
		chromedp.SetValue(chromedp.ID("max-tokens"), "1.5"),
		send("x"),
		done("error"),
		chromedp.SetValue(chromedp.ID("max-tokens"), "-3"),
		send("x"),
		done("error"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg.assistant .error:not([hidden])").length === 2`),
	)
	errText := str("error", chromedp.Text(chromedp.CSS(answer+" .error")))
	resp, err := http.Post(stubTS.URL+"/v1/chat/completions", "application/json", bytes.NewReader(fake.last(t)))
	if err != nil {
		t.Fatal(err)
	}
	var apiErr struct {
		Error struct{ Message string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&apiErr)
	resp.Body.Close()
	if resp.StatusCode != 400 || apiErr.Error.Message == "" || !strings.Contains(errText, apiErr.Error.Message) || !strings.Contains(errText, "400") {
		t.Errorf("error shown: %q; the API answers %d %q", errText, resp.StatusCode, apiErr.Error.Message)
	}

	// 8. A server with an API key: the page says so, then uses the key
	// given in the settings. A video goes as a video_url part, and the
	// boxes of an answer about it are not drawn on an older image.
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	clipBytes := []byte("the stand-in generator does not decode videos")
	if err := os.WriteFile(clip, clipBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	do("a server with an API key",
		chromedp.Navigate(keyTS.URL),
		chromedp.Poll[chromedp.Void](`document.getElementById("model-name").textContent.includes("API key")`),
		chromedp.SendKeys(chromedp.ID("api-key"), "sekret"),
		chromedp.Click(chromedp.ID("prompt")),
		chromedp.Poll[chromedp.Void](`document.getElementById("model-name").textContent.startsWith("tiny")`),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{imgPath}),
		chromedp.WaitVisible(chromedp.CSS("#attachments img")),
		send("A picture first."),
		done("done"),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{clip}),
		chromedp.WaitReady(chromedp.CSS("#attachments video")),
		send("And this clip?"),
		done("done"),
	)
	<-stub.requests
	req = <-stub.requests
	// Pasting and dropping files attach them too; × removes one.
	attached := str("paste and drop", chromedp.Evaluate[string](`(async () => {
		const file = () => { const dt = new DataTransfer(); dt.items.add(new File([Uint8Array.from(atob("`+base64.StdEncoding.EncodeToString(imgBytes)+`"), c => c.charCodeAt(0))], "p.png", {type: "image/png"})); return dt; };
		document.getElementById("prompt").dispatchEvent(new ClipboardEvent("paste", {clipboardData: file(), bubbles: true}));
		window.dispatchEvent(new DragEvent("drop", {dataTransfer: file(), bubbles: true, cancelable: true}));
		const count = () => document.querySelectorAll("#attachments li").length;
		for (let i = 0; i < 100 && count() < 2; i++) await new Promise((r) => setTimeout(r, 20));
		const before = count();
		document.querySelector("#attachments .remove").click();
		return before + " " + count() + " " + document.querySelector("#attachments img").alt;
	})()`, chromedp.EvalAwaitPromise))
	if attached != "2 1 p.png" {
		t.Errorf("attachments after a paste, a drop and a removal: %q", attached)
	}
	// The server passes the message's JSON and, as its only part, the video.
	if n := len(req.Messages); n != 3 || len(req.Messages[2].Content) != 1 || req.Messages[2].Content[0].Video == nil ||
		!bytes.Equal(req.Messages[2].Content[0].Video.Data, clipBytes) {
		t.Errorf("video request: %d messages, the last with %d parts", len(req.Messages), len(req.Messages[len(req.Messages)-1].Content))
	} else if role, text := messageText(req.Messages[2]); role != "user" || text != "And this clip?" {
		t.Errorf("video message: %s %q", role, text)
	}
	if !is("video shown", `document.querySelector(".msg.user:nth-of-type(3) video[aria-label='Video 1: clip.mp4']") !== null`) ||
		!is("boxes", `document.querySelector(".msg.assistant:nth-of-type(2) .grounding").hidden === false &&
			document.querySelector(".msg.assistant:nth-of-type(4) .grounding").hidden === true`) {
		t.Error("video message or its boxes shown wrongly")
	}

	path := filepath.Join(t.TempDir(), "webui.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if screenshot != "" {
		if err := os.WriteFile(screenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func captureScreenshot(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot is not an image: %v", err)
	}
	return shot
}

// exifJPEG re-encodes a PNG as a JPEG whose EXIF block gives the
// orientation o (6: turn 90° clockwise to show).
func exifJPEG(t *testing.T, png []byte, o byte) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian header, IFD0 at 8
		0, 1, // one entry: Orientation, SHORT, 1 value
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0,
		0, 0, 0, 0} // no next IFD
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := append([]byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// The page and its files are served with a content security policy; the
// folder is not listed and the API routes keep their methods.
func TestWebRoutes(t *testing.T) {
	ts, _ := testServer(t)
	cases := []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/web/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/web/markdown.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/web/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/web/", 404, ""},
		{"GET", "/web/missing.js", 404, ""},
		{"GET", "/index.html", 404, ""},
		{"GET", "/v1/chat/completions", 405, ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.ctype != "" && resp.Header.Get("Content-Type") != c.ctype) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.ctype)
		}
		if c.status == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: no content security policy", c.path)
		}
	}
}

// Command loadtest drives a glmv server with concurrent streamed chat
// requests (mixed text and images) for a fixed time and reports time to
// first token, throughput, failures and the server's resident memory.
//
// Usage:
//
//	go run ./tools/loadtest [-clients 16] [-duration 60s] [-url URL]
//
// Without -url it starts its own server in a child process on loopback
// with the bundled tiny demo model (or -m CHECKPOINT), so the memory it
// reports is the server's alone. It is bounded by -duration and is not
// part of the test suite.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/demo"
	"github.com/glmv/glmv/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child-serve" {
		if err := childServe(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest server:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// childServe runs the server under test and prints its address.
func childServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	model := fs.String("m", "", "checkpoint (default: the demo model)")
	cacheMiB := fs.Int("cache-mib", 0, "prefix and image cache budget (0: the default, negative: off)")
	parallel := fs.Int("parallel", 0, "requests decoded together (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := *model
	if dir == "" {
		tmp, err := os.MkdirTemp("", "glmv-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if dir, _, err = demo.Extract(tmp); err != nil {
			return err
		}
	}
	m, err := glmv.Load(dir, glmv.Options{CacheMiB: *cacheMiB, Parallel: *parallel})
	if err != nil {
		return err
	}
	defer m.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s := server.NewServer(server.Options{Log: slog.New(slog.DiscardHandler)})
	s.SetModel(m, "tiny")
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, s.Handler())
}

type result struct {
	ttft      time.Duration
	tokens    int
	status    int
	err       error
	withImage bool
}

func run() error {
	clients := flag.Int("clients", 16, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "how long to send requests")
	url := flag.String("url", "", "server base URL (default: start one with the demo model)")
	model := flag.String("m", "", "checkpoint for the started server (default: the bundled demo model)")
	name := flag.String("model", "tiny", "model name to send")
	maxTokens := flag.Int("max-tokens", 32, "max_tokens per request")
	cacheMiB := flag.Int("cache-mib", 0, "the started server's prefix and image cache budget (0: default, negative: off)")
	parallel := flag.Int("parallel", 0, "the started server's batch size (0: default)")
	bigEvery := flag.Int("big-every", 50, "every Nth image request of a client sends the -big-size image (0: never)")
	bigSize := flag.String("big-size", "1600x1200", "size of the large image, WIDTHxHEIGHT")
	flag.Parse()

	base := strings.TrimSuffix(*url, "/")
	if base == "" {
		child := exec.Command(os.Args[0], "-child-serve", "-m", *model, "-cache-mib", strconv.Itoa(*cacheMiB), "-parallel", strconv.Itoa(*parallel))
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			return err
		}
		if err := child.Start(); err != nil {
			return err
		}
		defer func() { child.Process.Kill(); child.Wait() }()
		addr, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			return fmt.Errorf("server did not start: %w", err)
		}
		base = "http://" + strings.TrimSpace(addr)
	}
	small, err := pngDataURL(200, 150)
	if err != nil {
		return err
	}
	var bw, bh int
	if _, err := fmt.Sscanf(*bigSize, "%dx%d", &bw, &bh); err != nil || bw <= 0 || bh <= 0 {
		return fmt.Errorf("-big-size %q is not WIDTHxHEIGHT", *bigSize)
	}
	big, err := pngDataURL(bw, bh)
	if err != nil {
		return err
	}
	rssBefore := rss(base)
	fmt.Printf("server %s, %d clients × %v, max_tokens %d; RSS before %s\n", base, *clients, *duration, *maxTokens, mib(rssBefore))

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var mu sync.Mutex
	var results []result
	var peak float64
	go func() { // sample the server's memory
		for ctx.Err() == nil {
			if r := rss(base); r > peak {
				mu.Lock()
				peak = r
				mu.Unlock()
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	var imageReqs sync.Map
	for c := range *clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			n := 0
			for ctx.Err() == nil {
				n++
				img := ""
				if rng.IntN(2) == 0 {
					img = small
					v, _ := imageReqs.LoadOrStore(c, new(int))
					k := v.(*int)
					*k++
					if *bigEvery > 0 && *k%*bigEvery == 0 {
						img = big
					}
				}
				r := one(ctx, base, *name, img, *maxTokens, n)
				if ctx.Err() != nil && r.err != nil {
					return // cut off by the end of the run
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	rssAfter := rss(base)
	time.Sleep(5 * time.Second)
	rssSettled := rss(base)
	report(results, elapsed)
	fmt.Printf("server RSS: before %s, peak %s, right after %s, 5 s later %s\n", mib(rssBefore), mib(peak), mib(rssAfter), mib(rssSettled))
	fmt.Printf("of which Go heap in use %s, prefix/image cache %s (hit ratio %.2f)\n", mib(metric(base, "go_memstats_heap_inuse_bytes")),
		mib(metric(base, "glmv_cache_bytes")), metric(base, "glmv_cache_hit_ratio"))
	return nil
}

func report(results []result, elapsed time.Duration) {
	var ttfts []time.Duration
	var tokens, ok, refused, failed, images int
	errs := map[string]int{}
	for _, r := range results {
		switch {
		case r.err == nil && r.status == 200:
			ok++
			tokens += r.tokens
			ttfts = append(ttfts, r.ttft)
			if r.withImage {
				images++
			}
		case r.status == http.StatusTooManyRequests:
			refused++
		default:
			failed++
			msg := fmt.Sprint(r.status)
			if r.err != nil {
				msg += " " + r.err.Error()
			}
			errs[msg]++
		}
	}
	slices.Sort(ttfts)
	pct := func(p float64) time.Duration {
		if len(ttfts) == 0 {
			return 0
		}
		return ttfts[min(len(ttfts)-1, int(p*float64(len(ttfts))))]
	}
	fmt.Printf("requests: %d ok (%d with an image), %d refused with 429, %d failed, in %.1f s\n", ok, images, refused, failed, elapsed.Seconds())
	fmt.Printf("throughput: %.2f requests/s, %.1f generated tokens/s\n", float64(ok)/elapsed.Seconds(), float64(tokens)/elapsed.Seconds())
	fmt.Printf("time to first token: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", ms(pct(0.5)), ms(pct(0.99)), ms(pct(1)))
	for e, n := range errs {
		fmt.Printf("  failure ×%d: %s\n", n, e)
	}
}

// one sends a streamed chat request and measures it.
func one(ctx context.Context, base, model, img string, maxTokens, n int) result {
	content := any(fmt.Sprintf("Say something about the number %d.", n))
	if img != "" {
		content = []map[string]any{
			{"type": "image_url", "image_url": map[string]string{"url": img}},
			{"type": "text", "text": "What is in the image?"},
		}
	}
	body, _ := json.Marshal(map[string]any{
		"model": model, "max_tokens": maxTokens, "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"temperature": 1.0, "messages": []map[string]any{{"role": "user", "content": content}},
	})
	r := result{withImage: img != ""}
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.status = resp.StatusCode
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		r.err = errors.New(strings.TrimSpace(string(b)))
		return r
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	done := false
	for sc.Scan() {
		data, found := strings.CutPrefix(sc.Text(), "data: ")
		if !found {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content          *string `json:"content"`
					ReasoningContent string  `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			r.err = err
			return r
		}
		if chunk.Error != nil {
			r.err = errors.New(chunk.Error.Message)
			return r
		}
		if r.ttft == 0 && len(chunk.Choices) > 0 && (chunk.Choices[0].Delta.Content != nil || chunk.Choices[0].Delta.ReasoningContent != "") {
			r.ttft = time.Since(start)
		}
		if chunk.Usage != nil {
			r.tokens = chunk.Usage.CompletionTokens
		}
	}
	if !done {
		r.err = fmt.Errorf("stream ended without [DONE]: %v", sc.Err())
	}
	if r.ttft == 0 {
		r.ttft = time.Since(start) // an empty answer: first token at the end
	}
	return r
}

// rss reads the server's resident memory from its /metrics.
func rss(base string) float64 { return metric(base, "process_resident_memory_bytes") }

// metric reads one unlabelled value from the server's /metrics.
func metric(base, name string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func pngDataURL(w, h int) (string, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

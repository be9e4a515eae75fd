// Command perftable measures a machine for README's Performance section: it
// runs the `glmv bench --json` rows that the section reports, one after the
// other, saves each run's JSON, and prints the rows as Markdown tables
// headed by the CPU's model, features and kernel sets. A new machine class
// (say, a Xeon with AMX) gets its table from one command:
//
//	go run ./tools/perftable -out /var/tmp/perf-xeon > table.md
//
// The rows are the 9B shape (40 layers Q8_0 and Q4_0 on the configured
// threads and on one thread, 20 layers bf16), the GLM-4.5V shape (4 layers
// Q8_0 and Q4_0), and the vision tower on one 1024×768 image (bf16, f16 and
// Q8_0 weights, bf16 also under --precision f32); then, for every lower
// SIMD kernel set the machine has, the 40-layer Q8_0 row and the bf16 tower
// again with GLMV_KERNELS forcing that set. The whole run takes 10–20
// minutes on 2 cores and needs about 15 GB of memory.
//
// -from DIR prints the tables from a finished run's JSON files without
// measuring anything; -rows picks rows by name (-list names them).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "perftable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("perftable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	glmvPath := fs.String("glmv", "", "glmv binary to measure (default: build ./cmd/glmv into the output folder)")
	out := fs.String("out", "", "folder for each run's JSON and log (default: a new temporary folder)")
	from := fs.String("from", "", "print the tables from this folder's JSON files instead of measuring")
	rowsFlag := fs.String("rows", "", "comma-separated row names to run (default: all; see -list)")
	threads := fs.Int("threads", 2, "worker threads for the rows that do not set their own")
	list := fs.Bool("list", false, "list the rows and their bench arguments, then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *threads < 1 {
		return fmt.Errorf("-threads %d: need at least 1", *threads)
	}
	if *from != "" {
		results, err := loadResults(*from)
		if err != nil {
			return err
		}
		return render(stdout, results)
	}
	rows := baseRows(*threads)
	if *list {
		for _, r := range rows {
			fmt.Fprintf(stdout, "%-14s glmv bench %s\n", r.Name, strings.Join(r.Args, " "))
		}
		fmt.Fprintf(stdout, "%-14s the same as q8_40 and vis_bf16 with GLMV_KERNELS=SET, for each lower SIMD set\n", "SET_q8_40 …")
		return nil
	}
	want, err := pickRows(*rowsFlag, rows)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "glmv-perftable-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("results go to", "dir", dir)
	bin := *glmvPath
	if bin == "" {
		bin = filepath.Join(dir, "glmv")
		log.Info("building glmv", "into", bin)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/glmv/glmv/cmd/glmv")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building glmv (run perftable from the glmv module, or pass -glmv): %w", err)
		}
	}
	var results []result
	runRow := func(r row) error {
		log.Info("running", "row", r.Name, "env", strings.Join(r.Env, " "), "args", strings.Join(r.Args, " "))
		start := time.Now()
		res, err := measure(ctx, bin, dir, r)
		if err != nil {
			return err
		}
		log.Info("done", "row", r.Name, "seconds", time.Since(start).Round(time.Second).Seconds())
		results = append(results, res)
		return nil
	}
	for _, r := range rows {
		if want[r.Name] {
			if err := runRow(r); err != nil {
				return err
			}
		}
	}
	// Each lower SIMD kernel set again, on the rows that show it: as the
	// sets available are known only from a run, this follows the others.
	if len(results) > 0 {
		for _, r := range lowerSetRows(results[0].Bench, *threads) {
			if *rowsFlag == "" || want[r.Name] {
				if err := runRow(r); err != nil {
					return err
				}
			}
		}
	}
	return render(stdout, results)
}

// row is one bench run: its name (also its JSON file's name), the
// environment it adds and its arguments.
type row struct {
	Name string
	Env  []string
	Args []string
}

// result is a finished row with its parsed bench output.
type result struct {
	Name  string
	Env   []string
	Bench bench
}

// bench holds the fields of `glmv bench --json` that the tables use.
type bench struct {
	Shape              string   `json:"shape"`
	Layers             int      `json:"layers"`
	Weights            string   `json:"weights"`
	Threads            int      `json:"threads"`
	KernelSet          string   `json:"kernel_set"`
	KernelSets         []string `json:"kernel_sets_available"`
	CPUModel           string   `json:"cpu_model"`
	CPUFeatures        []string `json:"cpu_features"`
	Precision          string   `json:"precision"`
	PrecisionInEffect  string   `json:"precision_in_effect"`
	PromptTokens       int      `json:"prompt_tokens"`
	DecodeTokens       int      `json:"decode_tokens"`
	PrefillTokS        float64  `json:"prefill_tok_s"`
	DecodeTokS         float64  `json:"decode_tok_s"`
	DecodeGBs          float64  `json:"decode_gbs"`
	StreamReadGBs      float64  `json:"stream_read_gbs"`
	StreamTriadGBs     float64  `json:"stream_triad_gbs"`
	DecodeFraction     float64  `json:"decode_fraction_of_stream"`
	WeightProbeFrac    float64  `json:"decode_fraction_of_weight_probe"`
	VisionMs           float64  `json:"vision_ms"`
	VisionGFLOPs       float64  `json:"vision_gflops"`
	VisionPatches      int      `json:"vision_patches"`
	VisionDepth        int      `json:"vision_depth"`
	PeakRSSBytes       int64    `json:"peak_rss_bytes"`
	EstimatedFullModel float64  `json:"estimated_full_model_decode_tok_s"`
}

// The text rows skip the vision tower; the tower rows run one text layer
// and a short prompt around it.
var (
	textOnly  = []string{"--vision-depth", "0"}
	towerOnly = []string{"--shape", "glm4.1v", "--layers", "1", "--prompt", "16", "--decode", "2"}
)

// baseRows are the rows measured with the machine's default kernel set.
func baseRows(threads int) []row {
	t := []string{"--threads", fmt.Sprint(threads)}
	text := func(name, shape string, layers int, weights string, extra ...string) row {
		args := append([]string{"--shape", shape, "--layers", fmt.Sprint(layers), "--weights", weights}, textOnly...)
		if !slices.Contains(extra, "--threads") {
			args = append(args, t...)
		}
		return row{Name: name, Args: append(args, extra...)}
	}
	tower := func(name, weights string, extra ...string) row {
		args := append(slices.Clone(towerOnly), "--weights", weights)
		return row{Name: name, Args: append(append(args, t...), extra...)}
	}
	return []row{
		text("q8_40", "glm4.1v", 40, "q8"),
		text("q4_40", "glm4.1v", 40, "q4"),
		text("q8_40_t1", "glm4.1v", 40, "q8", "--threads", "1", "--prompt", "64"),
		text("q4_40_t1", "glm4.1v", 40, "q4", "--threads", "1", "--prompt", "64"),
		text("bf16_20", "glm4.1v", 20, "bf16"),
		text("moe_q8", "glm4.5v", 4, "q8"),
		text("moe_q4", "glm4.5v", 4, "q4"),
		tower("vis_bf16", "bf16"),
		tower("vis_f16", "f16"),
		tower("vis_bf16_f32", "bf16", "--precision", "f32"),
		tower("vis_q8", "q8"),
	}
}

// lowerSetRows repeats the 40-layer Q8_0 row and the bf16 tower with each
// SIMD kernel set below the one first measured forced by GLMV_KERNELS.
func lowerSetRows(first bench, threads int) []row {
	base := baseRows(threads)
	pick := func(name string) row {
		i := slices.IndexFunc(base, func(r row) bool { return r.Name == name })
		return base[i]
	}
	var rows []row
	for _, set := range first.KernelSets {
		if set == "go" || set == "generic" || set == first.KernelSet {
			continue
		}
		for _, name := range []string{"q8_40", "vis_bf16"} {
			r := pick(name)
			rows = append(rows, row{Name: set + "_" + name, Env: []string{"GLMV_KERNELS=" + set}, Args: r.Args})
		}
	}
	return rows
}

// pickRows turns -rows into a set of names, refusing unknown ones (a
// lower-set row is named SET_q8_40 or SET_vis_bf16).
func pickRows(flagValue string, rows []row) (map[string]bool, error) {
	want := map[string]bool{}
	if flagValue == "" {
		for _, r := range rows {
			want[r.Name] = true
		}
		return want, nil
	}
	for _, name := range strings.Split(flagValue, ",") {
		name = strings.TrimSpace(name)
		known := slices.ContainsFunc(rows, func(r row) bool { return r.Name == name }) ||
			strings.HasSuffix(name, "_q8_40") || strings.HasSuffix(name, "_vis_bf16")
		if !known {
			return nil, fmt.Errorf("-rows: unknown row %q (see -list)", name)
		}
		want[name] = true
	}
	return want, nil
}

// measure runs one row and saves its JSON (NAME.json) and log (NAME.log).
func measure(ctx context.Context, bin, dir string, r row) (result, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"bench", "--json"}, r.Args...)...)
	cmd.Env = append(os.Environ(), r.Env...)
	logf, err := os.Create(filepath.Join(dir, r.Name+".log"))
	if err != nil {
		return result{}, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	stdout, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("row %s: glmv bench %s: %w (log: %s)", r.Name, strings.Join(r.Args, " "), err, logf.Name())
	}
	var b bench
	if err := json.Unmarshal(stdout, &b); err != nil {
		return result{}, fmt.Errorf("row %s: reading bench JSON: %w", r.Name, err)
	}
	saved := savedResult{Name: r.Name, Env: r.Env, Args: r.Args, Bench: json.RawMessage(stdout)}
	data, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return result{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Name+".json"), data, 0o644); err != nil {
		return result{}, err
	}
	return result{Name: r.Name, Env: r.Env, Bench: b}, nil
}

// savedResult is the file a row leaves: what was run and what bench said.
type savedResult struct {
	Name  string          `json:"name"`
	Env   []string        `json:"env,omitempty"`
	Args  []string        `json:"args"`
	Bench json.RawMessage `json:"bench"`
}

// loadResults reads the rows a run left in dir, in the order baseRows
// lists them and then the lower-set rows by name.
func loadResults(dir string) ([]result, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("-from %s: no .json results there", dir)
	}
	var results []result
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var s savedResult
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		var b bench
		if err := json.Unmarshal(s.Bench, &b); err != nil || s.Name == "" {
			return nil, fmt.Errorf("%s: not a perftable result: %w", p, errors.Join(err, errors.New("needs name and bench")))
		}
		results = append(results, result{Name: s.Name, Env: s.Env, Bench: b})
	}
	order := map[string]int{}
	for i, r := range baseRows(1) {
		order[r.Name] = i
	}
	slices.SortStableFunc(results, func(a, b result) int {
		ia, oka := order[a.Name]
		ib, okb := order[b.Name]
		switch {
		case oka && okb:
			return ia - ib
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return results, nil
}

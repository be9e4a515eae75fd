package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
)

// render prints the header (machine, features, kernel sets) and the text
// and vision-tower tables, in the layout of README's Performance section.
func render(w io.Writer, results []result) error {
	if len(results) == 0 {
		return fmt.Errorf("no results to print")
	}
	first := results[0].Bench
	fmt.Fprintf(w, "### %s (%s)\n\n", cmp.Or(first.CPUModel, "CPU model unknown"), strings.Join(first.CPUFeatures, ", "))
	fmt.Fprintf(w, "Kernel sets here: %s; default `%s`. One `glmv bench --json` run per row (`go run ./tools/perftable`).\n\n",
		strings.Join(first.KernelSets, ", "), first.KernelSet)
	var text, tower []result
	for _, r := range results {
		if r.Bench.VisionDepth > 0 && r.Bench.VisionMs > 0 {
			tower = append(tower, r)
		} else {
			text = append(text, r)
		}
	}
	if len(text) > 0 {
		fmt.Fprintln(w, "| model shape, weights, kernel set, threads | prefill | decode | decode GB/s (fraction of the 1 GiB probe) | fraction of the per-token weight probe | peak RSS |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, r := range text {
			b := r.Bench
			wp := "–"
			if b.WeightProbeFrac > 0 {
				wp = fmt.Sprintf("%.2f", b.WeightProbeFrac)
			}
			fmt.Fprintf(w, "| %s, %d layers, %s, %s, %d | %.1f tok/s (%d tokens) | %.2f tok/s | %.1f (%.2f of %.1f) | %s | %.1f GB |\n",
				shapeName(b.Shape), b.Layers, weightsName(b.Weights), b.KernelSet, b.Threads,
				b.PrefillTokS, b.PromptTokens, b.DecodeTokS, b.DecodeGBs, b.DecodeFraction,
				max(b.StreamReadGBs, b.StreamTriadGBs), wp, float64(b.PeakRSSBytes)/1e9)
		}
		fmt.Fprintln(w)
	}
	if len(tower) > 0 {
		fmt.Fprintln(w, "| tower weights, precision, kernel set | vision tower | GFLOP/s | patches |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, r := range tower {
			b := r.Bench
			fmt.Fprintf(w, "| %s, `%s`, %s | %.1f s | %.0f | %d |\n",
				weightsName(b.Weights), b.Precision, b.KernelSet, b.VisionMs/1000, b.VisionGFLOPs, b.VisionPatches)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Precision in effect per row:")
	seen := map[string]bool{}
	for _, r := range results {
		key := r.Bench.KernelSet + " " + r.Bench.Precision + ": " + r.Bench.PrecisionInEffect
		if !seen[key] {
			seen[key] = true
			fmt.Fprintf(w, "- %s `%s`: %s\n", r.Bench.KernelSet, r.Bench.Precision, r.Bench.PrecisionInEffect)
		}
	}
	return nil
}

// shapeName is the model a bench shape stands for.
func shapeName(shape string) string {
	switch shape {
	case "glm4.1v":
		return "GLM-4.1V"
	case "glm4.5v":
		return "GLM-4.5V"
	}
	return shape
}

// weightsName spells a bench weight type as the README does.
func weightsName(w string) string {
	switch w {
	case "q8":
		return "Q8_0"
	case "q4":
		return "Q4_0"
	}
	return w
}

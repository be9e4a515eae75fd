package main

import (
	"flag"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/engine"
)

// engineFlags are the KV cache and scheduling options shared by run and
// serve.
type engineFlags struct {
	kvType   string
	parallel int
	cacheMiB int
	// precision is Options.Precision.
	precision string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache format: f16, f32 or q8_0")
	fs.IntVar(&f.parallel, "parallel", 4, "most requests decoded together (continuous batching)")
	fs.StringVar(&f.precision, "precision", "auto", precisionHelp)
	fs.IntVar(&f.cacheMiB, "cache-mib", engine.DefaultCacheBytes>>20, "memory for the prefix and image caches that let later turns reuse earlier ones, in MiB (0: off)")
}

// apply copies the flags into the load options.
func (f *engineFlags) apply(o *glmv.Options) {
	o.KVType = f.kvType
	o.Parallel = f.parallel
	o.CacheMiB = f.cacheMiB
	o.Precision = f.precision
	if f.cacheMiB == 0 {
		o.CacheMiB = -1
	}
}

// precisionHelp documents --precision for run, serve and bench.
const precisionHelp = "matrix-product arithmetic for prefill and the vision tower: auto (bf16 and f16 weights with bf16 activations and f32 sums where the CPU has AVX512_BF16, at 64+ tokens), f32 (exact f32 everywhere) or bf16 (f32 weights too); without AVX512_BF16 all are f32"

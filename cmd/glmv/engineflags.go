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
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache format: f16, f32 or q8_0")
	fs.IntVar(&f.parallel, "parallel", 4, "most requests decoded together (continuous batching)")
	fs.IntVar(&f.cacheMiB, "cache-mib", engine.DefaultCacheBytes>>20, "memory for the prefix and image caches that let later turns reuse earlier ones, in MiB (0: off)")
}

// apply copies the flags into the load options.
func (f *engineFlags) apply(o *glmv.Options) {
	o.KVType = f.kvType
	o.Parallel = f.parallel
	o.CacheMiB = f.cacheMiB
	if f.cacheMiB == 0 {
		o.CacheMiB = -1
	}
}

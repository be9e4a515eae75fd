package main

import (
	"flag"

	"github.com/glmv/glmv"
)

// engineFlags are the KV cache and scheduling options shared by run,
// serve and bench.
type engineFlags struct {
	kvType string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache format: f16, f32 or q8_0")
}

// apply copies the flags into the load options.
func (f *engineFlags) apply(o *glmv.Options) {
	o.KVType = f.kvType
}

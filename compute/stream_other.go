//go:build !amd64 || purego

package compute

// streamLoopSets returns the probe loops of this build: the generic ones.
func streamLoopSets() []*streamLoops { return []*streamLoops{genericStream} }

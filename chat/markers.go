package chat

import "slices"

// Markers returns the strings the reply parser acts on (<think>,
// <tool_call>, box and answer tags…). Text that must come through the
// parser unchanged, such as constrained JSON, must not contain them.
func Markers() []string { return slices.Clone(markers) }

package model

// Test helpers shared with the external test package (model_test), which
// may import packages that import model.
var (
	RunReferenceCase = runReferenceCase
	RunQuantCase     = runQuantCase
	QuantTolerance   = quantTolerance
)

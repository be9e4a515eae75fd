package main

import (
	"fmt"
	"os"

	"github.com/glmv/glmv"
)

// formatFlag is --format: "json" for any JSON object, or the path of a
// JSON Schema file; the answer is then constrained to it (the thinking
// stays free).
type formatFlag struct {
	spec       string
	constraint *glmv.Constraint
}

func (f *formatFlag) String() string { return f.spec }

func (f *formatFlag) Set(s string) error {
	var err error
	c := &glmv.Constraint{}
	if s == "json" {
		c.Grammar, err = glmv.JSONObjectGrammar()
	} else {
		var schema []byte
		if schema, err = os.ReadFile(s); err != nil {
			return fmt.Errorf(`want "json" or a JSON Schema file: %w`, err)
		}
		c.Grammar, err = glmv.JSONSchemaGrammar(schema)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	f.spec, f.constraint = s, c
	return nil
}

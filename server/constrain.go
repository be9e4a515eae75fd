package server

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/constrain"
)

// constraintFields are the chat request fields that constrain the
// answer: enforced by masking tokens during decoding, never by hoping.
type constraintFields struct {
	ResponseFormat    json.RawMessage `json:"response_format"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// applyConstraint reads response_format, tool_choice and
// parallel_tool_calls from a chat request body and sets req.Constraint:
//
//   - response_format json_object: the answer is a JSON object;
//     json_schema: a JSON document valid against the schema (whether or
//     not strict is set; a schema outside the supported subset is a 400
//     naming the keyword);
//   - tool_choice "none": no tool call (the tool-call token is masked);
//     "auto" (the default with tools): free, or with a response_format
//     either a tool call or the formatted answer; "required": only tool
//     calls; a named function: only calls to it;
//   - parallel_tool_calls false: at most one tool call.
//
// A tool whose parameters are outside the supported subset gets free
// arguments, unless it sets "strict": true, which is then a 400.
func applyConstraint(body []byte, req *glmv.Request) error {
	var f constraintFields
	if err := json.Unmarshal(body, &f); err != nil {
		return badRequest("request body: %v", err)
	}
	format, err := responseFormat(f.ResponseFormat)
	if err != nil {
		return err
	}
	mode, name, err := toolChoice(f.ToolChoice, len(req.Tools) > 0)
	if err != nil {
		return err
	}
	maxCalls := 0
	if f.ParallelToolCalls != nil && !*f.ParallelToolCalls {
		maxCalls = 1
	}
	c := &glmv.Constraint{Grammar: format}
	switch mode {
	case "none":
		c.NoToolCalls = true
	case "auto":
		if len(req.Tools) == 0 {
			break
		}
		if format == nil {
			c.MaxToolCalls = maxCalls
			break
		}
		calls, err := toolCallGrammar(req.Tools, "", maxCalls)
		if err != nil {
			return err
		}
		c.Grammar = constrain.Either(format, calls)
	case "required", "function":
		calls, err := toolCallGrammar(req.Tools, name, maxCalls)
		if err != nil {
			return err
		}
		c.Grammar = calls
	}
	if c.Grammar != nil || c.NoToolCalls || c.MaxToolCalls > 0 {
		req.Constraint = c
	}
	return nil
}

// responseFormat compiles response_format (nil for text).
func responseFormat(raw json.RawMessage) (*constrain.Grammar, error) {
	if isNull(raw) {
		return nil, nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, badParam("response_format", "response_format must be an object with a type: %v", err)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
		g, err := glmv.JSONObjectGrammar()
		if err != nil {
			return nil, fmt.Errorf("json_object grammar: %w", err)
		}
		return g, nil
	case "json_schema":
		if rf.JSONSchema == nil || isNull(rf.JSONSchema.Schema) {
			return nil, badParam("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema")
		}
		g, err := glmv.JSONSchemaGrammar(rf.JSONSchema.Schema)
		if err != nil {
			return nil, schemaError("response_format.json_schema.schema", err)
		}
		return g, nil
	}
	return nil, badParam("response_format", "response_format type must be text, json_object or json_schema, not %q", rf.Type)
}

// schemaError turns a schema compile error into a 400 naming the
// keyword when it is one glmv does not support.
func schemaError(param string, err error) error {
	var ue *constrain.UnsupportedError
	if errors.As(err, &ue) {
		return &httpError{status: 400, msg: err.Error(), param: param, code: "unsupported_schema_keyword"}
	}
	return badParam(param, "%v", err)
}

// toolChoice reads tool_choice: mode is none, auto, required or function
// (then name is the function's).
func toolChoice(raw json.RawMessage, haveTools bool) (mode, name string, err error) {
	if isNull(raw) {
		if haveTools {
			return "auto", "", nil
		}
		return "none", "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "none", "auto":
			return s, "", nil
		case "required":
			if !haveTools {
				return "", "", badParam("tool_choice", `tool_choice "required" needs tools`)
			}
			return s, "", nil
		}
		return "", "", badParam("tool_choice", `tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": …}}, not %q`, s)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Type != "function" || obj.Function.Name == "" {
		return "", "", badParam("tool_choice", `tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": …}}`)
	}
	if !haveTools {
		return "", "", badParam("tool_choice", "tool_choice names function %q but no tools are given", obj.Function.Name)
	}
	return "function", obj.Function.Name, nil
}

// toolCallGrammar compiles the tool-call grammar; strict tools whose
// parameters it cannot follow are refused.
func toolCallGrammar(tools []json.RawMessage, name string, maxCalls int) (*constrain.Grammar, error) {
	g, free, err := glmv.ToolCallGrammar(tools, name, maxCalls)
	if err != nil {
		if name != "" {
			return nil, badParam("tool_choice", "%v", err)
		}
		return nil, badParam("tools", "%v", err)
	}
	for i, raw := range tools {
		var def struct {
			Function struct {
				Name   string `json:"name"`
				Strict bool   `json:"strict"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &def) != nil || !def.Function.Strict {
			continue
		}
		if ferr, ok := free[def.Function.Name]; ok {
			return nil, schemaError(fmt.Sprintf("tools[%d].function.parameters", i), fmt.Errorf("function %s is strict but its parameters cannot be enforced: %w", def.Function.Name, ferr))
		}
	}
	return g, nil
}

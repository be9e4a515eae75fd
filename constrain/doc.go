// Package constrain restricts what a model may write to a formal
// language — JSON, JSON that validates against a JSON Schema, or GLM's
// tool-call syntax — by masking, before each token, the tokens that
// cannot continue a text of that language.
//
// A Grammar is compiled once, independently of any tokenizer: it is a
// set of byte-level automata (one per rule) whose edges may call other
// rules, i.e. a pushdown automaton over bytes. A Vocab holds the bytes
// of each token of a tokenizer in a trie. A Matcher follows one
// sequence: Mask fills a bitset of the allowed next tokens and Accept
// moves past the chosen one. The end-of-sequence tokens are allowed only
// when the text is complete, so a sequence that ends by itself always
// parses.
//
// # Cost
//
// Masks are cheap because most of the work is shared: for each
// automaton node the tokens accepted without leaving the node's rule are
// computed once per grammar and vocabulary (whatever the call stack
// below), and only the tokens that leave the rule are checked against
// the full state, by walking the part of the trie that holds them and
// cutting every branch the state rejects. States are interned, steps
// between them memoised, and the last mask is reused when the state
// repeats (inside a long string it does). See BenchmarkMask.
//
// # JSON Schema subset
//
// CompileSchema accepts these keywords: type (a name or a list of
// object, array, string, number, integer, boolean, null), properties,
// required, additionalProperties (false, true or a schema), items (one
// schema), minItems, maxItems (up to MaxItemsBound), enum, const, anyOf,
// allOf (with a single subschema), $ref (to "#" or into
// $defs/definitions; recursion is allowed when it passes through an
// object or array), $defs, definitions; for strings minLength,
// maxLength (up to MaxLengthBound, in code points) and format (date,
// time, date-time, uuid); for numbers and integers minimum, maximum,
// exclusiveMinimum and exclusiveMaximum (as numbers). The annotations
// title, description, $schema, $id, $comment, examples, default,
// deprecated, readOnly and writeOnly are ignored. Any other keyword
// (pattern, other formats, multipleOf, oneOf, not, patternProperties,
// prefixItems, minProperties, …) is refused with an *UnsupportedError
// naming it, rather than silently ignored.
//
// What is generated is a subset of what the schema allows, so every
// text validates:
//
//   - object properties come in the order the schema lists them;
//     required ones are always written, optional ones may be left out;
//   - keys outside properties are never written when properties is
//     given; with no properties, additionalProperties (absent or true:
//     any value; a schema: values of that schema) decides;
//   - a required name missing from properties is refused;
//   - numbers have at most MaxIntDigits integer digits, MaxFracDigits
//     fraction digits and MaxExpDigits exponent digits; integers have no
//     fraction or exponent;
//   - where a schema leaves a value free (true, {}, a bare "object"),
//     objects and arrays nest at most MaxAnyDepth deep;
//   - enum and const values are written as compact JSON (strings as Go's
//     encoding/json writes them, with <, > and & escaped; other non-ASCII
//     characters raw or \u-escaped);
//   - strings are valid UTF-8 without raw control characters and never
//     contain an Options.Avoid string (a reply parser's markers); with
//     minLength/maxLength, '<' is written escaped (\u003c) and no
//     surrogate escapes are used, so each character is one code point;
//   - formats are written in one fixed shape: date YYYY-MM-DD with days
//     01–28, time HH:MM:SS[.f](Z|±HH:MM), date-time both joined by T,
//     uuid in lower-case hex;
//   - bounded integers are exactly the integers in range; bounded
//     numbers are the integers in range and, for k >= 0 with [k, k+1)
//     inside the range, k.ddd — never an exponent.
//
// # Tool calls
//
// ToolCalls builds a grammar for GLM's tool-call syntax
// (<tool_call>name, then <arg_key>/<arg_value> pairs, </tool_call>), one
// or more calls, with each function's arguments following its
// parameters schema where that is within the subset above (string
// arguments as raw text, the way GLM writes and the reply parser reads
// them; the others as JSON). Either joins two grammars, e.g. a JSON
// answer or tool calls.
//
// Whitespace between JSON tokens is optional and each run is at most
// Options.MaxWhitespace bytes, so a model cannot loop on it forever; the
// text may be surrounded by such runs.
package constrain

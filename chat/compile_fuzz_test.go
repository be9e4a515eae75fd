package chat

import "testing"

// FuzzCompile feeds arbitrary template sources: compiling and rendering
// must return errors, never panic.
func FuzzCompile(f *testing.F) {
	f.Add("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
	f.Add("{{ raise_exception('no') }}")
	f.Add("{% macro x(a) %}{{ a | tojson }}{% endmacro %}{{ x(messages) }}")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Compile(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Render(Context{Messages: []Message{{Role: "user", Content: TextContent("hi")}}, AddGenerationPrompt: true})
	})
}

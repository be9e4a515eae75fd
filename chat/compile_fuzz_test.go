package chat

import "testing"

// FuzzCompile feeds arbitrary template sources: compiling and rendering
// must return errors, never panic.
func FuzzCompile(f *testing.F) {
	f.Add("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
	f.Add("{{ raise_exception('no') }}")
	f.Add("{% macro x(a) %}{{ a | tojson }}{% endmacro %}{{ x(messages) }}")
	f.Add("{%- set ns = namespace(i=0) -%}{% for m in messages if m.role != 'x' %}{% set ns.i = ns.i + 1 %}{{ 'x' ~ none ~ m.content[1:] | upper }}{% endfor +%}\n  {%+ raw %}{{ y }}{% endraw -%}")
	f.Add("{% set a, b = 'ab' %}{{ a.strip('a').split(',', 1) }}{{ (1, 2.5e3) }}{{ {'k': [1]} | tojson(indent=2) }}{# c #}")
	f.Add("{{ messages | selectattr('role', 'eq', 'user') | map(attribute='content') | join(', ') }}{{ 1 // 0 }}")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Compile(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Render(Context{Messages: []Message{{Role: "user", Content: TextContent("hi")}}, AddGenerationPrompt: true})
	})
}

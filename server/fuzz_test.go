package server

import "testing"

// FuzzDecodeTextRequest checks that no completions body makes the decoder
// panic or accept a request without a prompt.
func FuzzDecodeTextRequest(f *testing.F) {
	f.Add([]byte(`{"model":"tiny","prompt":"hello","max_tokens":5,"logprobs":2,"seed":1,"logit_bias":{"3":-100},"stop":"x"}`))
	f.Add([]byte(`{"prompt":["a"],"stream":true,"stream_options":{"include_usage":true},"echo":null}`))
	f.Add([]byte(`{"prompt":[1,2],"best_of":2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, req, err := decodeTextRequest(body)
		if err == nil && (req.Prompt == "" || req.MaxTokens < 1) {
			t.Fatalf("accepted %q as %+v", body, req)
		}
	})
}

// FuzzDecodeTokenizeRequest checks the /tokenize decoder the same way.
func FuzzDecodeTokenizeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"tiny","prompt":"hello","return_token_strs":true}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"video_url","video_url":{"url":"data:video/mp4;base64,AAAA"}}]}],"add_generation_prompt":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, req, err := decodeTokenizeRequest(body)
		if err == nil && tr == nil {
			t.Fatalf("accepted %q without a request", body)
		}
		if err == nil && req != nil && req.Prompt == "" && len(req.Messages) == 0 {
			t.Fatalf("accepted %q without prompt or messages", body)
		}
	})
}

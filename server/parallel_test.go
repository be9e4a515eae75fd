package server

import (
	"encoding/json"
	"sync"
	"testing"
)

// Concurrent requests are batched by the engine and each gets the answer
// it gets alone.
func TestConcurrentCompletions(t *testing.T) {
	ts, img := testServer(t)
	answer := func() (string, error) {
		resp := post(t, ts, demoBody(img, ""))
		defer resp.Body.Close()
		var c completion
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			return "", err
		}
		if resp.StatusCode != 200 || len(c.Choices) != 1 || c.Choices[0].Message.Content == nil {
			return "", &httpError{status: resp.StatusCode, msg: "unexpected response"}
		}
		return *c.Choices[0].Message.Content, nil
	}
	alone, err := answer()
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = answer()
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != alone {
			t.Errorf("request %d: %q (%v), alone %q", i, got[i], errs[i], alone)
		}
	}
}

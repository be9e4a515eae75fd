// Package hub finds checkpoint folders: a plain folder, or a Hugging Face
// repo id ("zai-org/GLM-4.5V") already downloaded into the local Hugging
// Face cache. It never downloads anything.
package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CacheDir returns the Hugging Face hub cache folder: $HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
func CacheDir(getenv func(string) string) string {
	if d := getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// Resolve turns a folder path or a repo id (optionally "org/name@revision",
// where revision is a branch/tag name under refs/ or a snapshot hash) into
// a checkpoint folder. getenv is usually os.Getenv.
func Resolve(name string, getenv func(string) string) (string, error) {
	if name == "" {
		return "", errors.New("no model given: pass a checkpoint folder or a Hugging Face repo id")
	}
	if st, err := os.Stat(name); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("%s is a file; pass the checkpoint folder that holds config.json", name)
		}
		return name, nil
	}
	repo, rev, _ := strings.Cut(name, "@")
	parts := strings.Split(repo, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%s: no such folder (and not a Hugging Face repo id like org/name)", name)
	}
	cache := CacheDir(getenv)
	base := filepath.Join(cache, "models--"+parts[0]+"--"+parts[1])
	if _, err := os.Stat(base); err != nil {
		return "", fmt.Errorf("%s: no such folder, and the Hugging Face cache %s has no copy of it (download it first, e.g. with `hf download %s`)", name, cache, repo)
	}
	snaps := filepath.Join(base, "snapshots")
	if rev == "" {
		rev = "main"
	}
	if b, err := os.ReadFile(filepath.Join(base, "refs", rev)); err == nil {
		rev = strings.TrimSpace(string(b))
	}
	if dir := filepath.Join(snaps, rev); isDir(dir) {
		return dir, nil
	}
	if rev != "main" && !strings.Contains(name, "@") {
		return "", fmt.Errorf("%s: refs/main points to snapshot %s, which is missing from %s", name, rev, snaps)
	}
	entries, err := os.ReadDir(snaps)
	if err != nil {
		return "", fmt.Errorf("%s: cannot list snapshots: %w", name, err)
	}
	var cands []string
	for _, e := range entries {
		if e.IsDir() {
			cands = append(cands, e.Name())
		}
	}
	if strings.Contains(name, "@") {
		return "", fmt.Errorf("%s: revision %q is not in the cache (have %v)", name, rev, cands)
	}
	if len(cands) == 0 {
		return "", fmt.Errorf("%s: the cache folder %s has no snapshots", name, snaps)
	}
	// No refs/main: take the most recently modified snapshot.
	sort.Slice(cands, func(i, j int) bool {
		return modTime(filepath.Join(snaps, cands[i])) > modTime(filepath.Join(snaps, cands[j]))
	})
	return filepath.Join(snaps, cands[0]), nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func modTime(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.ModTime().UnixNano()
}

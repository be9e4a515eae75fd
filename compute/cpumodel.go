package compute

import (
	"bufio"
	"os"
	"strings"
)

// CPUModel names the processor, e.g. "AMD EPYC 9B45" or "Intel(R) Xeon(R)
// Platinum 8581C CPU @ 2.10GHz", so that benchmark results say which
// machine they came from. It is the CPUID brand string on amd64 and the
// first model line of /proc/cpuinfo elsewhere; "" when neither is known.
func CPUModel() string {
	if s := cpuBrand(); s != "" {
		return s
	}
	return cpuinfoModel("/proc/cpuinfo")
}

// cpuinfoModel returns the first "model name" (x86), "Model" or
// "Hardware" (arm) value of a cpuinfo file, or "" when it has none or
// cannot be read.
func cpuinfoModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "model name", "Model", "Hardware":
			if v := strings.TrimSpace(val); v != "" {
				return v
			}
		}
	}
	return ""
}

// cleanBrand turns the 48 bytes of a CPUID brand string into text: it
// stops at the first NUL and folds runs of spaces, which some vendors use
// as padding.
func cleanBrand(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

package compute

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCleanBrand(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"AMD EPYC 9B45\x00\x00\x00", "AMD EPYC 9B45"},
		{"       Intel(R) Xeon(R)  Platinum 8581C CPU @ 2.10GHz\x00", "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz"},
		{"\x00garbage after the terminator", ""},
		{"", ""},
	} {
		if got := cleanBrand([]byte(c.in)); got != c.want {
			t.Errorf("cleanBrand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCPUInfoModel(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, want string }{
		"x86":   {"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 2\nmodel name\t: AMD EPYC 9B45\nflags\t: fpu\n", "AMD EPYC 9B45"},
		"arm":   {"processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B Rev 1.4\n", "BCM2835"},
		"empty": {"processor\t: 0\nmodel name\t:\n", ""},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := cpuinfoModel(p); got != c.want {
			t.Errorf("%s: cpuinfoModel = %q, want %q", name, got, c.want)
		}
	}
	if got := cpuinfoModel(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

// TestCPUModel checks that this machine names its processor where it can:
// every amd64 CPU of the last fifteen years has a brand string, and Linux
// has /proc/cpuinfo.
func TestCPUModel(t *testing.T) {
	m := CPUModel()
	t.Logf("CPU model: %q", m)
	if m == "" && (runtime.GOARCH == "amd64" || runtime.GOOS == "linux") {
		t.Errorf("CPUModel() is empty on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if strings.ContainsRune(m, 0) || m != strings.TrimSpace(m) {
		t.Errorf("CPUModel() = %q is not clean text", m)
	}
}

// Package mdsection is what the benchmark programs share: a description of
// the machine the figures come from, and the writing of a generated section
// between two markers of a Markdown file, leaving the rest as it is.
package mdsection

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes this machine: CPUs, CPU model, kernel and the Go
// version that builds the binaries under test.
func Machine() string {
	cpus, model, kernel := runtime.NumCPU(), "unknown CPU", "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	// The binaries are built by the go command on PATH.
	goVer := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVer = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d CPUs, %s, Linux %s, %s", cpus, model, kernel, goVer)
}

// Revision names the code under test: the commit checked out, marked when
// tracked files other than Markdown (which the benchmarks themselves
// rewrite) differ from it, or "unknown" outside a git checkout.
func Revision() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!*.md").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

// Command is how a benchmark program was run, for its section: "go run"
// with its package and the arguments it got, quoted for a shell where
// they need it. -out and its directory are left out: where this machine
// kept the raw files says nothing to a reader.
func Command(pkg string, args []string) string {
	words := []string{"go", "run", pkg}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-out" || a == "--out":
			i++ // and its value
			continue
		case strings.HasPrefix(a, "-out=") || strings.HasPrefix(a, "--out="):
			continue
		case a == "" || strings.ContainsAny(a, " \t'\"$`\\"):
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// LoadAverage is the 1, 5 and 15 minute load averages.
func LoadAverage() string {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			return strings.Join(f[:3], " ")
		}
	}
	return "unknown"
}

// Write puts section between the markers <!-- name:begin --> and
// <!-- name:end --> in the file at path. A file without them gets heading
// (if any) and the markers appended; a file with one marker missing or out
// of order is an error and stays untouched.
func Write(path, name, heading, section string) error {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	block := begin + "\n" + section + end
	var out []byte
	i := bytes.Index(old, []byte(begin))
	j := bytes.Index(old, []byte(end))
	switch {
	case i >= 0 && j > i:
		out = append(append(append([]byte(nil), old[:i]...), block...), old[j+len(end):]...)
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s: the %s markers are incomplete or out of order", path, name)
	default:
		out = append(append(old, "\n"+heading...), block+"\n"...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

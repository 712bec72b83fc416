package bench

import (
	"os"
	"testing"
)

// TestMain lets the test binary act as a bench worker process: procs.go
// re-executes os.Args[0] with "bench -worker ...".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		os.Exit(Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func pidSelf() int { return os.Getpid() }

package safecall

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRunReturnsNilWithoutPanic(t *testing.T) {
	ran := false
	if p := Run(func() { ran = true }); p != nil || !ran {
		t.Fatalf("Run = %+v, ran %v; want nil after running f", p, ran)
	}
}

// A panic is caught with its value and the stack of the panicking code,
// and logged in the one format: "<callback> panicked", the caller's
// attributes, the value and the stack.
func TestRunCatchesAndLogsPanic(t *testing.T) {
	boom := errors.New("boom")
	p := Run(func() { panicky(boom) })
	if p == nil || p.Value != boom {
		t.Fatalf("Run = %+v, want the panic value", p)
	}
	if !bytes.Contains(p.Stack, []byte("panicky")) {
		t.Fatalf("stack does not name the panicking function:\n%s", p.Stack)
	}
	var out bytes.Buffer
	p.Log(slog.New(slog.NewTextHandler(&out, nil)), "OnMessage", "client", "c1")
	for _, want := range []string{`msg="OnMessage panicked"`, "client=c1", "panic=boom", "stack="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q: %s", want, out.String())
		}
	}
}

func panicky(v any) { panic(v) }

// Run must not cost an allocation when nothing panics: it wraps every
// message callback.
func TestRunAllocatesNothingWithoutPanic(t *testing.T) {
	n := 0
	f := func() { n++ }
	if allocs := testing.AllocsPerRun(1000, func() { Run(f) }); allocs != 0 {
		t.Fatalf("%v allocations per Run, want 0", allocs)
	}
}

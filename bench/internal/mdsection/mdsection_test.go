package mdsection

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	const begin, end = "<!-- t:begin -->", "<!-- t:end -->"
	path := filepath.Join(t.TempDir(), "B.md")
	head, foot := "# Title\n\nintro\n\n", "\n\nafter\n"
	if err := os.WriteFile(path, []byte(head+begin+"\nold table\n"+end+foot), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // writing twice leaves one copy
		if err := Write(path, "t", "## T\n\n", "new table\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if want := head + begin + "\nnew table\n" + end + foot; string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	// No markers: the heading and the block are appended.
	if err := os.WriteFile(path, []byte("text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, "t", "## T\n\n", "t\n"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if want := "text\n\n## T\n\n" + begin + "\nt\n" + end + "\n"; string(got) != want {
		t.Fatalf("append: got %q, want %q", got, want)
	}

	// A lone marker, or markers out of order, is an error rather than a guess.
	for _, bad := range []string{end + "\n" + begin, begin + "\n", "x\n" + end} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, "t", "", "t\n"); err == nil {
			t.Fatalf("%q: no error", bad)
		}
		if got, _ := os.ReadFile(path); string(got) != bad {
			t.Fatalf("%q: file changed to %q", bad, got)
		}
	}
}

func TestMachine(t *testing.T) {
	if m := Machine(); !strings.Contains(m, "CPUs") || !strings.Contains(m, "Linux") {
		t.Fatalf("Machine() = %q", m)
	}
	if l := LoadAverage(); len(strings.Fields(l)) != 3 {
		t.Fatalf("LoadAverage() = %q", l)
	}
}

// TestRevision: the commit checked out (the tests run inside the
// repository), or "unknown" where there is no git checkout.
func TestRevision(t *testing.T) {
	got := Revision()
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		if got != "unknown" {
			t.Fatalf("no git checkout, Revision() = %q", got)
		}
		return
	}
	if want := strings.TrimSpace(string(out)); !strings.HasPrefix(got, want) {
		t.Fatalf("Revision() = %q, want it to start with %q", got, want)
	}
}

func TestCommand(t *testing.T) {
	if got := Command("./bench/compare", nil); got != "go run ./bench/compare" {
		t.Fatalf("no arguments: %q", got)
	}
	if got := Command("./bench/cluster", []string{"-quick", "-rates", "5,10"}); got != "go run ./bench/cluster -quick -rates 5,10" {
		t.Fatalf("with arguments: %q", got)
	}
}

func TestCommandQuotesAndLeavesOutOut(t *testing.T) {
	got := Command("./bench/scale", []string{"-nodes", "5", "-out", "/tmp/x", "-node-args", "--ping-interval 2m", "-out=/tmp/y", "-k", "it's"})
	want := `go run ./bench/scale -nodes 5 -node-args '--ping-interval 2m' -k 'it'\''s'`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

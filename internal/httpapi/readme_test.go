package httpapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The README's list of calls, between these markers, is made from the
// table: a curl example per call. Run with WSGATE_UPDATE_README=1 to
// rewrite it after changing the table.
const (
	readmePath  = "../../README.md"
	readmeBegin = "<!-- httpapi calls: generated from internal/httpapi's table by its TestREADMECalls -->\n"
	readmeEnd   = "<!-- httpapi calls end -->\n"
)

// readmeCalls is the README's list of calls.
func readmeCalls(t *testing.T) string {
	var b strings.Builder
	b.WriteString("```sh\n")
	for i, c := range newCalls() {
		if i > 0 {
			b.WriteString("\n")
		}
		body, err := json.Marshal(c.example())
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("# " + c.name + ": " + c.doc + "\n")
		b.WriteString("curl -sS -H \"Authorization: Bearer $WSGATE_API_KEY\" $API/" + c.name + " -d '" + string(body) + "'\n")
	}
	b.WriteString("```\n")
	return b.String()
}

// TestREADMECalls: the README shows a curl example for every call, as the
// table makes it, and each example's body is a valid request of its
// route.
func TestREADMECalls(t *testing.T) {
	want := readmeCalls(t)
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(text), readmeBegin)
	got, after, ok2 := strings.Cut(rest, readmeEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README has no %q ... %q section", readmeBegin, readmeEnd)
	}
	if got != want {
		if os.Getenv("WSGATE_UPDATE_README") == "1" {
			if err := os.WriteFile(readmePath, []byte(before+readmeBegin+want+readmeEnd+after), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README's list of calls is not the table's: run WSGATE_UPDATE_README=1 go test -run TestREADMECalls ./internal/httpapi")
	}
	for _, c := range newCalls() {
		body, _ := json.Marshal(c.example())
		if _, err := decodeArgs(c, body); err != nil {
			t.Errorf("%s: example %s: %v", c.name, body, err)
		}
		if !strings.Contains(got, "$API/"+c.name+" ") {
			t.Errorf("README has no example for %s", c.name)
		}
	}
}

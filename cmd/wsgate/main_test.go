package main

import (
	"bytes"
	"strings"
	"testing"
)

// runArgs runs the command line args as main would.
func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

// Help asked for is an answer, not a mistake: usage on stdout (so that it
// pipes into a pager), nothing on stderr, exit 0, from every command.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{nil, {"serve"}, {"register"}, {"bench"}, {"version"}} {
		for _, h := range []string{"-h", "-help", "--help"} {
			args := append(append([]string{}, cmd...), h)
			code, stdout, stderr := runArgs(args...)
			want := strings.TrimSpace("usage: wsgate " + strings.Join(cmd, " "))
			if code != 0 || !strings.HasPrefix(stdout, want) || stderr != "" {
				t.Errorf("%q: exit %d, stdout %q..., stderr %q; want 0, usage on stdout starting %q, no stderr",
					args, code, firstLine(stdout), stderr, want)
			}
		}
	}
}

// A mistake on the command line gets one line naming it and one pointing
// at the help, on stderr, and exit 2: not the whole usage.
func TestUsageErrorsAreShort(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-bogus"}, "wsgate serve: flag provided but not defined: -bogus\nrun 'wsgate serve -h' for the flags\n"},
		{[]string{"serve", "-max-conns", "many"}, "wsgate serve: invalid value \"many\" for flag -max-conns: parse error\nrun 'wsgate serve -h' for the flags\n"},
		// -app nope fails the command before it serves, were the stray
		// argument missed.
		{[]string{"serve", "-app", "nope", "-inline-handlers", "false"}, "wsgate serve: unexpected argument \"false\" (a bool flag takes its value after \"=\", as in -flag=false)\nrun 'wsgate serve -h' for the flags\n"},
		{[]string{"register", "-bogus"}, "wsgate register: flag provided but not defined: -bogus\nrun 'wsgate register -h' for the flags\n"},
		{[]string{"register", "-heartbeat", "soon"}, "wsgate register: invalid value \"soon\" for flag -heartbeat: parse error\nrun 'wsgate register -h' for the flags\n"},
		{[]string{"bench", "-bogus"}, "wsgate bench: flag provided but not defined: -bogus\nrun 'wsgate bench -h' for the flags\n"},
		{[]string{"bench", "-conns", "lots", "echo"}, "wsgate bench: invalid value \"lots\" for flag -conns: parse error\nrun 'wsgate bench -h' for the flags\n"},
		{[]string{"bench"}, "wsgate bench: name one workload: conns, echo or bcast\nrun 'wsgate bench -h' for the flags\n"},
		{[]string{"bench", "echo", "-conns", "5"}, "wsgate bench: unexpected argument \"-conns\" after the workload (flags go before it)\nrun 'wsgate bench -h' for the flags\n"},
		{[]string{"version", "now"}, "wsgate version: unexpected argument \"now\"\nrun 'wsgate version -h' for the flags\n"},
		{[]string{"version", "-bogus"}, "wsgate version: flag provided but not defined: -bogus\nrun 'wsgate version -h' for the flags\n"},
		{[]string{"frob"}, "wsgate: unknown command \"frob\"\nrun 'wsgate -h' for the commands\n"},
		{[]string{"-bogus"}, "wsgate: unknown command \"-bogus\"\nrun 'wsgate -h' for the commands\n"},
	} {
		code, stdout, stderr := runArgs(tc.args...)
		if code != 2 || stdout != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, no stdout, stderr %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// Errors name the flags the user can change, not the Go options behind
// them.
func TestErrorsSpeakFlags(t *testing.T) {
	t.Setenv("WSGATE_SECRET", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		// -listen bogus and -app nope fail the command before it serves,
		// were the error looked for missed.
		{[]string{"register", "-listen", "bogus"}, "wsgate register: a cluster secret is required: -secret-file, WSGATE_SECRET or -secret\n"},
		{[]string{"register", "-listen", "bogus", "-secret", "s", "-log-level", "loud"}, "wsgate register: -log-level \"loud\": want debug, info, warn or error\n"},
		{[]string{"serve", "-register-listen=", "-log-level", "loud", "-app", "nope"}, "wsgate serve: -log-level \"loud\": want debug, info, warn or error\n"},
	} {
		code, stdout, stderr := runArgs(tc.args...)
		if code != 2 || stdout != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, no stdout, stderr %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// wsgate version names the build: a test binary has no module version and
// no VCS stamp, so it says (devel) and the Go version.
func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runArgs("version")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "wsgate ") || !strings.Contains(stdout, "go1.") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the version with the Go version", code, stdout, stderr)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Package cli is what the wsgate commands share in reading their flags:
// help asked for with -h is an answer (usage on stdout, exit 0), and a
// mistake is named in one line with a pointer to -h (on stderr, exit 2)
// rather than buried above the whole usage.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Parse parses args into fs. When done, the command is over and should exit
// with code: 0 once -h, -help or --help printed usage to stdout, 2 once a
// bad flag or value was named on stderr. usage prints the command's help to
// the writer it is given.
func Parse(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (code int, done bool) {
	// The flag package prints its error and the whole usage on its own;
	// silence it and say both here, each where it belongs.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0, true
	}
	if err != nil {
		return UsageError(stderr, fs.Name(), err), true
	}
	return 0, false
}

// UsageError names a mistake on command's command line and where to look
// for the right flags, and returns the exit code of bad usage, 2.
func UsageError(stderr io.Writer, command string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\nrun '%s -h' for the flags\n", command, err, command)
	return 2
}

// NoArgs is the error for a command that takes only flags when args (what
// was left after them) is not empty.
func NoArgs(args []string) error {
	if len(args) == 0 {
		return nil
	}
	if args[0] == "true" || args[0] == "false" {
		// The commonest cause: a bool flag given its value after a
		// space, which ends the flags and leaves the value behind.
		return fmt.Errorf("unexpected argument %q (a bool flag takes its value after \"=\", as in -flag=%s)", args[0], args[0])
	}
	return fmt.Errorf("unexpected argument %q", args[0])
}

// Usage returns a usage printer for Parse: head (the synopsis and what the
// command does, ending in a newline), then fs's flags if it has any.
func Usage(fs *flag.FlagSet, head string) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, head)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if !hasFlags {
			return
		}
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

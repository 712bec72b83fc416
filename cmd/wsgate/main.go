// Command wsgate runs a gateway node (serve), a cluster register
// (register), the load generator (bench), or prints its version.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "register":
		return registerCmd(args[1:], stdout, stderr)
	case "bench":
		return bench.Main(args[1:], stdout, stderr)
	case "version":
		return versionCmd(args[1:], stdout, stderr)
	case "-version", "--version":
		return versionCmd(nil, stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "wsgate: unknown command %q\nrun 'wsgate -h' for the commands\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: wsgate <command> [flags]

commands:
  serve     run a gateway node (wsgate serve -h for flags)
  register  run a cluster register (wsgate register -h for flags)
  bench     load-test any ws:// endpoint (wsgate bench -h for flags)
  version   print the version
`)
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate version", flag.ContinueOnError)
	help := cli.Usage(fs, "usage: wsgate version\n\nprints the version of this binary\n")
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	if err := cli.NoArgs(fs.Args()); err != nil {
		return cli.UsageError(stderr, fs.Name(), err)
	}
	fmt.Fprintln(stdout, "wsgate", version)
	return 0
}

// Command wsgate runs a gateway node (serve), a cluster register
// (register), the load generator (bench), prints or checks serve's config
// file (config), or prints its version.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/cli"
)

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
	case "config":
		return configCmd(args[1:], stdout, stderr)
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
  config    print a default config file for serve, or check one
  bench     load-test any ws:// endpoint (wsgate bench -h for flags)
  version   print the version
`)
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate version", flag.ContinueOnError)
	help := cli.Usage(fs, "usage: wsgate version\n\nprints the module version, the VCS revision and the Go version of this binary\n")
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	if err := cli.NoArgs(fs.Args()); err != nil {
		return cli.UsageError(stderr, fs.Name(), err)
	}
	bi, _ := debug.ReadBuildInfo() // nil when there is none
	fmt.Fprint(stdout, versionText(bi))
	return 0
}

// versionText describes the build from its build information, nil when
// the binary has none. `go install ...@v1.2.3` stamps the module version;
// `go build` in a clone stamps the VCS revision (and a pseudo-version);
// `go run` and test binaries have neither and say "(devel)".
func versionText(bi *debug.BuildInfo) string {
	version, goVersion := "(devel)", runtime.Version()
	var revision, when, modified string
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wsgate %s\n", version)
	switch {
	case revision != "":
		fmt.Fprintf(&b, "revision %s", revision)
		if when != "" {
			fmt.Fprintf(&b, " (%s)", when)
		}
		if modified == "true" {
			b.WriteString(", modified")
		}
		b.WriteString("\n")
	case version == "(devel)":
		// A module version names the source already; without one, say why
		// there is nothing more to go on.
		b.WriteString("no revision: built without version control information (go run, or -buildvcs=false)\n")
	}
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

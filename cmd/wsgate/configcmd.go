package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wsgate/wsgate/internal/cli"
)

const configUsage = `usage: wsgate config default
       wsgate config check FILE

default prints a config file for wsgate serve --config: every serve flag
as a key set to its default, its help as a comment above it.
check reads FILE as serve would and checks every value as serve does
before it listens, without listening: "ok" and exit 0, or the first
mistake and exit 2. The environment is not read: the file alone is checked.
`

// configCmd is wsgate config: default and check.
func configCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgate config", flag.ContinueOnError)
	help := cli.Usage(fs, configUsage)
	if code, done := cli.Parse(fs, args, help, stdout, stderr); done {
		return code
	}
	args = fs.Args()
	switch {
	case len(args) == 1 && args[0] == "default":
		fs, _ := newServeFlags()
		io.WriteString(stdout, defaultConfig(fs))
		return 0
	case len(args) == 2 && args[0] == "check":
		if err := checkConfig(args[1]); err != nil {
			fmt.Fprintf(stderr, "wsgate config check: %v\n", err)
			return 2
		}
		fmt.Fprintln(stdout, "ok")
		return 0
	case len(args) >= 1 && args[0] == "check":
		return cli.UsageError(stderr, fs.Name(), errors.New("check takes one FILE"))
	case len(args) >= 1 && args[0] == "default":
		return cli.UsageError(stderr, fs.Name(), errors.New("default takes no argument"))
	case len(args) == 0:
		return cli.UsageError(stderr, fs.Name(), errors.New("name one: default or check FILE"))
	}
	return cli.UsageError(stderr, fs.Name(), fmt.Errorf("unknown subcommand %q: want default or check FILE", args[0]))
}

// checkConfig applies the file at path to serve's flags and checks them
// as serve would.
func checkConfig(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fs, f := newServeFlags()
	from := sources{}
	if err := layerFile(fs, path, text, from); err != nil {
		return err
	}
	_, err = f.check(from, io.Discard)
	return err
}

// defaultConfig is a config file for fs setting every flag to its
// default, with the flag's help as a comment: made from the flags
// themselves, so it cannot fall behind them.
func defaultConfig(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("# wsgate serve --config FILE: every key is a flag of wsgate serve (wsgate serve -h),\n" +
		"# here set to its default. Flags override WSGATE_* environment variables\n" +
		"# (WSGATE_METRICS_LISTEN for metrics-listen), which override this file.\n" +
		"# Check a file with: wsgate config check FILE\n")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag {
			return
		}
		b.WriteString("\n")
		// Backquotes name the flag's value in -h; here they are noise.
		for _, line := range strings.Split(strings.ReplaceAll(f.Usage, "`", ""), "\n") {
			b.WriteString("# " + line + "\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Name, yamlScalar(f))
	})
	return b.String()
}

// yamlScalar writes f's default as YAML that reads back as the same text:
// numbers, bools and durations as they are, strings quoted where YAML
// would otherwise read them as something else.
func yamlScalar(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); !isString {
			return f.DefValue
		}
	}
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.DefValue})
	if err != nil {
		// A string always marshals; were it not to, quote it as Go does,
		// which YAML reads as a double-quoted string.
		return fmt.Sprintf("%q", f.DefValue)
	}
	return strings.TrimSuffix(string(out), "\n")
}

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A command's settings come in layers: the command line over WSGATE_*
// environment variables over a YAML config file over the flags' defaults.
// Every layer sets the same flag.FlagSet through fs.Set, so each flag
// parses and checks its value in one way whatever its source, and a flag
// added to the command is a config key and a variable at once.

// configFlag names the file; it is the one flag that is no key in it.
const configFlag = "config"

// envPrefix begins the environment variable of every flag: WSGATE_ then
// the flag's name upper-cased with '-' as '_' (-metrics-listen is
// WSGATE_METRICS_LISTEN).
const envPrefix = "WSGATE_"

// source is where a flag's value came from, the stronger the greater.
type source int

const (
	fromDefault source = iota
	fromFile
	fromEnv
	fromFlag
)

func (s source) String() string {
	return [...]string{fromDefault: "default", fromFile: "file", fromEnv: "env", fromFlag: "flag"}[s]
}

// sources says where each flag was set; a flag it does not name has its
// default.
type sources map[string]source

func (s sources) of(name string) source { return s[name] }

// commandLine is the sources of fs parsed from a command line alone.
func commandLine(fs *flag.FlagSet) sources {
	from := sources{}
	fs.Visit(func(f *flag.Flag) { from[f.Name] = fromFlag })
	return from
}

// envName is the environment variable of the flag named name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// addConfigFlag adds -config to fs; layer reads the file it names.
func addConfigFlag(fs *flag.FlagSet) {
	fs.String(configFlag, "", "YAML config file: each key a flag's name (wsgate config default prints one); flags and WSGATE_* variables override it")
}

// layer sets the flags of fs that the command line (already parsed into
// fs) left alone: from environ (as os.Environ gives it), then from the
// config file that -config or WSGATE_CONFIG names. A WSGATE_ variable or
// a file key that is no flag of fs is an error, as is a value its flag
// refuses. It returns where every flag was set.
func layer(fs *flag.FlagSet, environ []string) (sources, error) {
	from := commandLine(fs)
	if err := layerEnv(fs, environ, from); err != nil {
		return nil, err
	}
	path := fs.Lookup(configFlag).Value.String()
	if path == "" {
		return from, nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if err := layerFile(fs, path, text, from); err != nil {
		return nil, err
	}
	return from, nil
}

// layerEnv sets from environ the flags not set yet.
func layerEnv(fs *flag.FlagSet, environ []string, from sources) error {
	byEnv := map[string]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { byEnv[envName(f.Name)] = f })
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			// A misspelt variable would otherwise be ignored in silence,
			// and the node run with a default the operator meant to change.
			return fmt.Errorf("environment variable %s: %s has no flag of that name", name, fs.Name())
		}
		if _, set := from[f.Name]; set {
			continue
		}
		if err := fs.Set(f.Name, value); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
		from[f.Name] = fromEnv
	}
	return nil
}

// layerFile sets from the YAML text of the file at path the flags not set
// yet. Errors name the file, the line and the key.
func layerFile(fs *flag.FlagSet, path string, text []byte, from sources) error {
	doc, err := parseConfig(text)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if doc == nil {
		return nil // an empty file, or comments only
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		at := fmt.Sprintf("%s:%d", path, k.Line)
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: a key must be a flag's name", at)
		}
		f := fs.Lookup(k.Value)
		switch {
		case f == nil:
			return fmt.Errorf("%s: unknown key %q: %s has no flag of that name", at, k.Value, fs.Name())
		case f.Name == configFlag:
			return fmt.Errorf("%s: key %q: a config file cannot name another", at, k.Value)
		case seen[f.Name]:
			return fmt.Errorf("%s: key %q given twice", at, k.Value)
		}
		seen[f.Name] = true
		value, err := configValue(f, v)
		if err != nil {
			return fmt.Errorf("%s: key %q: %w", at, k.Value, err)
		}
		if _, set := from[f.Name]; set {
			continue
		}
		if err := fs.Set(f.Name, value); err != nil {
			return fmt.Errorf("%s: key %q: %w", at, k.Value, err)
		}
		from[f.Name] = fromFile
	}
	return nil
}

// parseConfig parses text as one YAML mapping, nil if it holds none.
func parseConfig(text []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: want one")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	m := doc.Content[0]
	if m.Kind == yaml.ScalarNode && m.ShortTag() == "!!null" {
		return nil, nil
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of flag names to values", m.Line)
	}
	return m, nil
}

// configValue is the text a YAML value gives its flag, as the flag would
// take it on the command line: a scalar as written (so 10s, 0x2a and 1e6
// reach the flag's own parser), null as "", and a list, for a
// comma-separated flag only, joined with commas.
func configValue(f *flag.Flag, v *yaml.Node) (string, error) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return "", nil
		}
		return v.Value, nil
	case yaml.SequenceNode:
		if !isList(f) {
			return "", errors.New("a list is for comma-separated flags; this one takes one value")
		}
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: a list item must be a single value", item.Line)
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), nil
	}
	return "", errors.New("want a single value, not a mapping")
}

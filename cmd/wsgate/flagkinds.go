package main

import (
	"flag"
	"fmt"
	"strconv"
)

// The flag kinds below carry, in their type, what the config layer needs to
// know about a flag: whether its value is a secret (never logged), whether
// it is a comma-separated list (a YAML list may give it), whether it may be
// left to another choice ("auto"). Asking the flag's Value, rather than
// keeping lists of names, keeps one place where a flag is defined.

// secretValue is a string flag whose value must never be shown: the
// effective config logs it as redacted. Set it with fs.Var.
type secretValue string

func (s *secretValue) String() string {
	if s == nil {
		return ""
	}
	return string(*s)
}

func (s *secretValue) Set(v string) error { *s = secretValue(v); return nil }

// secret marks the kind; see isSecret.
func (*secretValue) secret() {}

// isSecret reports whether f holds a secret value (not a path to one:
// -secret-file and -tls-key name files, which are no secret themselves and
// which an operator needs to see when the wrong one is read).
func isSecret(f *flag.Flag) bool {
	_, ok := f.Value.(interface{ secret() })
	return ok
}

// listValue is a comma-separated flag, host:port[,host:port...] and the
// like. A config file may give it as a YAML list.
type listValue string

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return string(*l)
}

func (l *listValue) Set(v string) error { *l = listValue(v); return nil }

// list splits the value, dropping empty items.
func (l *listValue) list() []string { return splitList(string(*l)) }

// isList reports whether f is a comma-separated list.
func isList(f *flag.Flag) bool {
	_, ok := f.Value.(*listValue)
	return ok
}

// autoBool is a bool flag whose default is "auto": left to another choice
// (such as the app's) until set to true or false. A plain bool could not
// tell "false" written in a config file from not written at all.
type autoBool struct {
	set, v bool
}

func (b *autoBool) String() string {
	if b == nil || !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.v)
}

func (b *autoBool) Set(s string) error {
	if s == "auto" {
		*b = autoBool{}
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or auto")
	}
	*b = autoBool{set: true, v: v}
	return nil
}

// IsBoolFlag lets -flag alone mean -flag=true, as with a plain bool.
func (*autoBool) IsBoolFlag() bool { return true }

// or returns the value if set, else auto.
func (b *autoBool) or(auto bool) bool {
	if b.set {
		return b.v
	}
	return auto
}

package main

import (
	"flag"
	"log/slog"
)

// redacted stands for a secret's value in the effective config.
const redacted = "[redacted]"

// logEffective logs at info, in one record, every flag of fs with its
// value and where it came from (flag, env, file or default), so that an
// operator sees what the node runs with, not what they believe they set.
// Secrets (flags whose kind says so, see isSecret) show as redacted once
// set: logs travel further than the process.
func logEffective(log *slog.Logger, fs *flag.FlagSet, from sources) {
	var flags []any
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if isSecret(f) && v != "" {
			v = redacted
		}
		flags = append(flags, slog.Group(f.Name, "value", v, "from", from.of(f.Name).String()))
	})
	log.Info("effective config", slog.Group("config", flags...))
}

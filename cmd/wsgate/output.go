package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/wsgate/wsgate/internal/logthrottle"
)

// output is where a running serve or register writes: its log records and
// its announcements (the lines that say where it listens), all to stdout,
// one stream in one format, so that a process supervisor or a log shipper
// takes them as they come. stderr keeps the errors that end the command
// before it runs.
//
// Announcements are never filtered by -log-level: scripts and tests wait
// for "listening on ADDR" to learn the address, whatever the level. In the
// text format they stay plain lines beginning with what they announce
// ("listening on 127.0.0.1:8080"), so that grep and cut find them; in the
// JSON format they are records like the others, their msg the same line.
type output struct {
	log *slog.Logger

	w         io.Writer    // shared by log and announce, one Write a line
	announcer *slog.Logger // JSON only; nil for text
}

// logFlags are the flags that choose the output.
type logFlags struct {
	level, format *string
}

func addLogFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		level:  fs.String("log-level", "info", "debug, info, warn or error"),
		format: fs.String("log-format", "text", "text (key=value lines, announcements as plain lines) or json (one object a line, announcements too)"),
	}
}

// newOutput makes the output that f chooses, writing to w.
func (f logFlags) newOutput(w io.Writer) (*output, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(*f.level)); err != nil {
		// slog's own message names slog; the user knows the flag.
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", *f.level)
	}
	o := &output{w: &lockedWriter{w: w}}
	var h slog.Handler
	switch *f.format {
	case "text":
		h = slog.NewTextHandler(o.w, &slog.HandlerOptions{Level: l})
	case "json":
		h = slog.NewJSONHandler(o.w, &slog.HandlerOptions{Level: l})
		// Its own handler, below every level, so that -log-level never
		// hides an announcement.
		o.announcer = slog.New(slog.NewJSONHandler(o.w, &slog.HandlerOptions{Level: slog.Level(-1 << 10)}))
	default:
		return nil, fmt.Errorf("-log-format %q: want text or json", *f.format)
	}
	// Warnings and errors repeat under attack (refused secrets, bad
	// peers): a few lines and a count each, not one line per attempt.
	o.log = slog.New(logthrottle.New(h, 0, 0))
	return o, nil
}

// announce writes msg, whatever the level: a plain line in the text
// format, an info record with attrs in the JSON format.
func (o *output) announce(msg string, attrs ...any) {
	if o.announcer != nil {
		o.announcer.Info(msg, attrs...)
		return
	}
	io.WriteString(o.w, msg+"\n")
}

// lockedWriter serializes writes from the log handler and announce, each
// of which writes a whole line at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package logthrottle

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A flood of one warning yields burst lines an interval, and the next line
// let through says how many were held back; other messages and lower
// levels are not held back by it.
func TestThrottle(t *testing.T) {
	var out bytes.Buffer
	h := New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), time.Hour, 3)
	log := slog.New(h).With("component", "rpc")
	now := time.Now()
	emit := func(level slog.Level, msg string, at time.Time) {
		r := slog.NewRecord(at, level, msg, 0)
		if err := log.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for range 1000 {
		emit(slog.LevelWarn, "refused peer", now)
	}
	emit(slog.LevelWarn, "another warning", now)
	for range 10 {
		emit(slog.LevelInfo, "registered", now)
	}
	if got := strings.Count(out.String(), "refused peer"); got != 3 {
		t.Fatalf("%d lines of the flood in one interval, want 3:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "another warning") || strings.Count(out.String(), "registered") != 10 {
		t.Fatalf("other messages were held back:\n%s", out.String())
	}
	out.Reset()
	emit(slog.LevelWarn, "refused peer", now.Add(time.Hour))
	if !strings.Contains(out.String(), "suppressed=997") || !strings.Contains(out.String(), "component=rpc") {
		t.Fatalf("the next interval's first line: %q, want suppressed=997 and the logger's attributes", out.String())
	}
}

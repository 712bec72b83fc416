// Package logthrottle keeps repeated log lines from flooding a log: an
// attacker who sends bad handshakes, wrong secrets or broken frames should
// cost the operator a few lines and a count, not one line per attempt.
package logthrottle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultInterval = 10 * time.Second
	DefaultBurst    = 5
	// maxMessages bounds the messages tracked; messages are constant
	// strings, so this is only a guard.
	maxMessages = 4096
)

// Handler passes on at most burst records with the same level and message
// in each interval and counts the rest. The first record of that message
// passed on after some were held back carries their number as
// "suppressed". Records below Warn pass unthrottled: the operator chose to
// see them.
type Handler struct {
	next  slog.Handler
	state *state
}

type state struct {
	interval time.Duration
	burst    int
	mu       sync.Mutex
	windows  map[key]*window
}

type key struct {
	level slog.Level
	msg   string
}

type window struct {
	start      time.Time
	passed     int
	suppressed int
}

// New wraps next. Zero interval or burst mean DefaultInterval and
// DefaultBurst.
func New(next slog.Handler, interval time.Duration, burst int) *Handler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	return &Handler{next: next, state: &state{interval: interval, burst: burst, windows: map[key]*window{}}}
}

// Enabled reports what next reports.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle passes r on, or counts it.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	suppressed, pass := h.state.admit(key{r.Level, r.Message}, r.Time)
	if !pass {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, r)
}

// admit decides on a record of k at t: whether it passes, and how many of
// its kind were held back before it.
func (s *state) admit(k key, t time.Time) (suppressed int, pass bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.windows[k]
	if w == nil {
		if len(s.windows) >= maxMessages {
			clear(s.windows)
		}
		w = &window{start: t}
		s.windows[k] = w
	}
	if t.Sub(w.start) >= s.interval {
		w.start, w.passed = t, 0
	}
	if w.passed >= s.burst {
		w.suppressed++
		return 0, false
	}
	w.passed++
	suppressed, w.suppressed = w.suppressed, 0
	return suppressed, true
}

// WithAttrs returns a handler that shares the throttle's counts.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup returns a handler that shares the throttle's counts.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}

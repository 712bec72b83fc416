package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

// slowHandler blocks in OnMessage until released, and records whether
// OnStop came before OnClose.
type slowHandler struct {
	*recorder
	inMessage chan struct{}
	release   chan struct{}
	order     chan string
}

func (a *slowHandler) OnMessage(id string, m Message) {
	a.inMessage <- struct{}{}
	<-a.release
}
func (a *slowHandler) OnClose(id string) { a.order <- "OnClose" }
func (a *slowHandler) OnStop()           { a.order <- "OnStop" }

// TestOnStopAfterOnCloseWhenShutdownTimesOut checks that OnStop comes
// after every OnClose even when Shutdown's context ends while a callback
// is still running: Shutdown returns at the deadline, and OnStop follows
// the last OnClose.
func TestOnStopAfterOnCloseWhenShutdownTimesOut(t *testing.T) {
	app := &slowHandler{recorder: newRecorder(), inMessage: make(chan struct{}, 1),
		release: make(chan struct{}), order: make(chan string, 2)}
	g, err := NewGateway(Options{Server: serverOn0(), Logger: quiet}, app)
	must(t, err)
	must(t, g.Start())
	c := dial(t, g)
	c.Send("take your time")
	recv(t, app.inMessage, "OnMessage")

	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if err := g.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline", err)
	}
	close(app.release)
	if first := recv(t, app.order, "a callback"); first != "OnClose" {
		t.Fatalf("%s came first, want OnClose", first)
	}
	if second := recv(t, app.order, "a callback"); second != "OnStop" {
		t.Fatalf("%s came second, want OnStop", second)
	}
}

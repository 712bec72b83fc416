package poller

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// OverflowPolicy says what happens when a connection's outbound queue would
// grow past Options.OutboundBudget.
type OverflowPolicy uint8

const (
	// OverflowClose fails the connection with close code 1008. Default.
	OverflowClose OverflowPolicy = iota
	// OverflowDrop drops the message and returns ErrOverflow to the sender;
	// the connection stays open.
	OverflowDrop
)

// Options configure a Server. The zero value of each field means its
// documented default.
type Options struct {
	// Addr is the TCP address to listen on. Default "127.0.0.1:8080".
	Addr string
	// Handler receives the connections' events. Required.
	Handler Handler
	// Path is the only path served as WebSocket; other requests go to
	// HTTPFallback. Default "/ws"; "*" accepts WebSocket on any path.
	Path string
	// HTTPFallback answers plain HTTP requests and requests for other
	// paths; r is valid only during the call. The connection is closed
	// after the response. Default: 404.
	HTTPFallback func(r *wsproto.Request) (status int, header http.Header, body []byte)

	// MaxConns bounds open connections; further accepts are closed at once
	// and counted. Default 1,000,000.
	MaxConns int
	// MaxConnsPerIP bounds the connections open at once from one client
	// address (IPv6: one /64); further accepts from it are closed at once
	// (Stats.RefusedConnsPerIP). Default 0: no bound, because behind a
	// proxy or a load balancer every client comes from its address.
	MaxConnsPerIP int
	// ConnectRatePerIP bounds the new connections per second from one
	// client address (IPv6: one /64), a token bucket holding
	// ConnectBurstPerIP; accepts over it are closed at once
	// (Stats.RefusedConnectRate). Default 0: no bound, for the same
	// reason as MaxConnsPerIP.
	ConnectRatePerIP float64
	// ConnectBurstPerIP is how many connections one address may open at
	// once before ConnectRatePerIP paces it. Default: ConnectRatePerIP
	// rounded up (one second's worth).
	ConnectBurstPerIP int
	// MaxHeaderBytes bounds the handshake's request head (answered with
	// 431). Default 8 KiB.
	MaxHeaderBytes int
	// MaxFrameSize and MaxMessageSize bound one frame and one reassembled
	// message (close 1009). Default 16 MiB each.
	MaxFrameSize   int64
	MaxMessageSize int64
	// InboundBudget bounds the bytes all connections together hold in
	// partial frames and messages (those that arrive whole are decoded in
	// place and hold nothing). A frame whose payload would pass it fails
	// its connection with close code 1013 (Stats.InboundRefusals), so that
	// many connections each sending most of a MaxMessageSize message
	// cannot exhaust memory. Default 256 MiB; negative is no bound.
	InboundBudget int64
	// MessageTimeout bounds the time from a message's first bytes to its
	// last; past it, at the next bytes that arrive, the connection is
	// failed with 1008 (Stats.MessageTimeouts). Pings only prove the peer
	// is there: without this a client sending a byte now and then would
	// keep a partial message forever. Default 60s; negative disables.
	MessageTimeout time.Duration
	// MessageRate bounds the data messages per second one connection may
	// send, a token bucket holding MessageBurst; what happens to a message
	// over it is MessageRatePolicy (Stats.MessageRateExceeded). Default 0:
	// no bound.
	MessageRate float64
	// MessageBurst is how many messages a connection may send at once
	// before MessageRate paces it. Default: MessageRate rounded up (one
	// second's worth).
	MessageBurst int
	// MessageRatePolicy applies to a message over MessageRate. Default
	// MessageRateDrop.
	MessageRatePolicy MessageRatePolicy
	// AllowedOrigins are the origins whose pages may open a WebSocket here:
	// host[:port] names or whole origins ("https://app.example.com"), or
	// "*" for any. Default: only pages from the request's own Host. A
	// handshake from another origin is answered 403; one with no Origin
	// header (not a browser) passes.
	AllowedOrigins []string
	// Subprotocols the server speaks, in order of preference; at most
	// 255.
	Subprotocols []string

	// Compression accepts the permessage-deflate extension (RFC 7692)
	// when a client offers it, as browsers do. Neither side keeps a
	// compression context between messages (the server answers
	// server_no_context_takeover and client_no_context_takeover): an
	// idle connection holds no compressor or decompressor, and a message
	// sent to many connections is compressed once for all of them.
	// Context takeover is not offered. Default false.
	Compression bool
	// CompressionThreshold is the smallest message, in bytes, sent
	// compressed to a connection that negotiated compression; smaller
	// ones go as they are, since a few bytes saved are not worth the
	// CPU. Received messages are inflated whatever their size. Default
	// 512.
	CompressionThreshold int
	// CompressionLevel is compress/flate's level, 1 (BestSpeed) to 9
	// (BestCompression). Default 1: higher levels cost much more per
	// message for a few percent less.
	CompressionLevel int

	// HandshakeTimeout bounds the time from accept to a complete request
	// head (slowloris). Default 5s.
	HandshakeTimeout time.Duration
	// PingInterval is the time between pings; any data from the client
	// resets the count of missed pongs. Default 25s; negative disables.
	PingInterval time.Duration
	// MaxMissedPongs is how many pings may go unanswered before the
	// connection is closed with 1001. Default 2.
	MaxMissedPongs int
	// IdleTimeout closes a connection that sent nothing for this long.
	// Default 0: no idle timeout (pings detect dead peers).
	IdleTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after the
	// server sent one, and for the queue to drain before it. Default 3s.
	CloseTimeout time.Duration
	// WriteTimeout bounds a flush blocked on a full socket buffer. Default 10s.
	WriteTimeout time.Duration
	// DrainWindow spreads Shutdown's closes evenly over this long, so that
	// the clients of a node going away do not all reconnect elsewhere in
	// the same instant (a reconnect storm on the nodes that stay). It is
	// cut to nine tenths of what is left of Shutdown's context, so the last
	// close handshakes still fit. Default 0: all at once.
	DrainWindow time.Duration

	// OutboundBudget is the most bytes queued for one connection and not
	// yet written to its socket. One message larger than the budget is
	// still accepted when nothing else is queued, so echoing a message up
	// to MaxMessageSize never overflows. Default 4 MiB.
	OutboundBudget int
	// OverflowPolicy applies when a send would exceed OutboundBudget.
	OverflowPolicy OverflowPolicy

	// Backend is the readiness source beneath the engine. Default
	// BackendEpoll.
	Backend Backend
	// Loops is the number of epoll event loops, each a goroutine with its
	// own epoll instance and read buffer. Default GOMAXPROCS. Unused by
	// BackendNetpoll, which sizes its own pollers.
	Loops int

	// ReadBufferSize is, with BackendEpoll, the size of each loop's one
	// shared read buffer (default 64 KiB): idle connections hold none.
	// With BackendNetpoll it is the size of netpoll's read buffer nodes,
	// and so of what an idle connection keeps (default 512 B); netpoll
	// reads at most one node per read while bytes are consumed as they
	// come, so a frame larger than a node takes several reads unless
	// InlineHandlers is set. netpoll's setting is process-wide: the first
	// netpoll Server started in a process sets it for all.
	ReadBufferSize int

	// InlineHandlers runs the read path (OnHandshake, OnOpen, OnMessage)
	// on the event loop's own goroutine instead of a goroutine per batch of
	// reads (started only while the loop has bytes for the connection, one
	// at a time per connection). It saves about a fifth of the CPU per echoed message (see
	// BENCHMARKS.md), but a handler that blocks then stalls every
	// connection of its loop: use it only when handlers never wait (no
	// remote calls, no locks held long, no I/O). Stats.SlowInlineTasks
	// counts the read tasks that held the loop SlowInlineTask or longer.
	// Default false.
	InlineHandlers bool

	// Flushers is the number of goroutines that write the frames queued
	// with Conn.QueueFrame (fan-out). Default GOMAXPROCS.
	Flushers int

	// Logger receives connection-level errors. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultAddr             = "127.0.0.1:8080"
	DefaultPath             = "/ws"
	DefaultMaxConns         = 1_000_000
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultPingInterval     = 25 * time.Second
	DefaultMaxMissedPongs   = 2
	DefaultCloseTimeout     = 3 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultOutboundBudget   = 4 << 20
	DefaultInboundBudget    = 256 << 20
	DefaultMessageTimeout   = 60 * time.Second
	// DefaultCompressionThreshold and DefaultCompressionLevel apply to
	// connections that negotiated permessage-deflate.
	DefaultCompressionThreshold = 512
	DefaultCompressionLevel     = wsproto.DefaultCompressionLevel
	// DefaultReadBufferSize is the epoll loops' shared read buffer;
	// DefaultNetpollReadBufferSize netpoll's node size.
	DefaultReadBufferSize        = 64 << 10
	DefaultNetpollReadBufferSize = 512
)

func (o Options) withDefaults() (Options, error) {
	if o.Handler == nil {
		return o, errors.New("poller: Options.Handler is required")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ConnectRatePerIP > 0 && o.ConnectBurstPerIP <= 0 {
		o.ConnectBurstPerIP = int(math.Ceil(o.ConnectRatePerIP))
	}
	if o.MessageRate > 0 && o.MessageBurst <= 0 {
		o.MessageBurst = int(math.Ceil(o.MessageRate))
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = wsproto.DefaultMaxHeaderBytes
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = wsproto.DefaultMaxFrameSize
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = wsproto.DefaultMaxMessageSize
	}
	if o.MessageTimeout == 0 {
		o.MessageTimeout = DefaultMessageTimeout
	}
	if o.InboundBudget == 0 {
		o.InboundBudget = DefaultInboundBudget
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxMissedPongs <= 0 {
		o.MaxMissedPongs = DefaultMaxMissedPongs
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.OutboundBudget <= 0 {
		o.OutboundBudget = DefaultOutboundBudget
	}
	if o.Backend == "" {
		o.Backend = BackendEpoll
	}
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.Loops > math.MaxUint16 {
		return o, fmt.Errorf("poller: %d loops, at most %d", o.Loops, math.MaxUint16)
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = DefaultReadBufferSize
		if o.Backend == BackendNetpoll {
			o.ReadBufferSize = DefaultNetpollReadBufferSize
		}
	}
	if o.Flushers <= 0 {
		o.Flushers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(o.Subprotocols) > math.MaxUint8 {
		return o, fmt.Errorf("poller: %d subprotocols, at most %d", len(o.Subprotocols), math.MaxUint8)
	}
	if o.CompressionThreshold <= 0 {
		o.CompressionThreshold = DefaultCompressionThreshold
	}
	if o.CompressionLevel == 0 {
		o.CompressionLevel = DefaultCompressionLevel
	}
	if !wsproto.ValidCompressionLevel(o.CompressionLevel) {
		return o, fmt.Errorf("poller: compression level %d: want 1 (fastest) to 9 (smallest)", o.CompressionLevel)
	}
	return o, nil
}

// timerTick is the resolution of the timing wheel: fine enough for the
// shortest timeout configured, coarse enough to cost nothing.
func (o Options) timerTick() time.Duration {
	shortest := min(o.HandshakeTimeout, o.CloseTimeout)
	if o.PingInterval > 0 {
		shortest = min(shortest, o.PingInterval)
	}
	if o.IdleTimeout > 0 {
		shortest = min(shortest, o.IdleTimeout)
	}
	return min(max(shortest/10, 5*time.Millisecond), 100*time.Millisecond)
}

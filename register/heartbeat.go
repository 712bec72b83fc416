package register

import "time"

// The membership's timing. The register server, its clients, and every
// options struct that passes them on (api.ClusterOptions, the binary's
// flags) default to these, so that both ends of a heartbeat agree unless
// someone sets them: each side says it is alive every
// DefaultHeartbeatInterval, and a side silent for DefaultHeartbeatTimeout
// (three missed beats, so one late packet is not a death) is dropped. The
// timeout is also how long a dead node can stay in the peer lists.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultHeartbeatTimeout  = 3 * DefaultHeartbeatInterval
)

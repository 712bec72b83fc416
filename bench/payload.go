package bench

import "encoding/binary"

// minPayload is the smallest message: a send time and a sequence number.
const minPayload = 16

// stamp writes the send time (Unix nanoseconds) and a sequence number at the
// front of p, which is at least minPayload long. Wall-clock time is read the
// same in every process of one machine, so a worker can time a message that
// another worker sent.
func stamp(p []byte, sentAt int64, seq uint64) {
	binary.LittleEndian.PutUint64(p[0:8], uint64(sentAt))
	binary.LittleEndian.PutUint64(p[8:16], seq)
}

// readStamp returns what stamp wrote; ok is false for a message too short.
func readStamp(p []byte) (sentAt int64, seq uint64, ok bool) {
	if len(p) < minPayload {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(p[0:8])), binary.LittleEndian.Uint64(p[8:16]), true
}

// filler is the text after a message's stamp: JSON like the messages a
// gateway carries, so that with -compression they shrink as real traffic
// does rather than as zeros would (a thousandfold).
const filler = `{"type":"message","room":"lobby","user":{"id":4182,"name":"river"},"text":"see you at the standup in ten minutes","ts":1718000000123,"tags":["chat","team"]},`

// newPayload returns a message buffer of size bytes (at least minPayload)
// holding filler after the space for the stamp.
func newPayload(size int) []byte {
	p := make([]byte, max(size, minPayload))
	for i := minPayload; i < len(p); i += copy(p[i:], filler) {
	}
	return p
}

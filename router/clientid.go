package router

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// A clientID names one connection for as long as the cluster runs, and
// says which node owns it, so that a call for it can be routed without a
// lookup.
//
// Format: 40 lower-case hex digits, the big-endian encoding of three
// numbers.
//
//	digits  0-7   node         uint32  the owning node's NodeID
//	digits  8-23  incarnation  uint64  the node's start time in Unix nanoseconds
//	digits 24-39  sequence     uint64  connections accepted since that start, from 1
//
// Node ids are unique within a cluster (the register refuses a second live
// node with the same id), the incarnation differs between two starts of one
// node (a restart takes far longer than a nanosecond), and the sequence never
// repeats within one start (2^64 connections will not happen). So no id is
// ever issued twice, not even after a restart, and ParseClientID recovers
// the owner from the id alone.

// ClientIDLen is the length of every clientID.
const ClientIDLen = 40

// NodeID identifies a node within its cluster. Its String form, 8 hex
// digits, is also the node's id in the register and between nodes.
type NodeID uint32

// String is the node id as 8 hex digits, as it appears in clientIDs.
func (n NodeID) String() string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return hex.EncodeToString(b[:])
}

// ClientIDParts are the fields of a clientID.
type ClientIDParts struct {
	Node        NodeID
	Incarnation uint64
	Seq         uint64
}

// ErrBadClientID is wrapped by the error of ParseClientID.
var ErrBadClientID = errors.New("router: malformed clientID")

// ParseClientID splits a clientID into its fields.
func ParseClientID(id string) (ClientIDParts, error) {
	if len(id) != ClientIDLen {
		return ClientIDParts{}, fmt.Errorf("%w: %q has %d characters, want %d", ErrBadClientID, id, len(id), ClientIDLen)
	}
	var b [ClientIDLen / 2]byte
	for i := 0; i < ClientIDLen; i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ClientIDParts{}, fmt.Errorf("%w: %q is not lower-case hex", ErrBadClientID, id)
		}
	}
	hex.Decode(b[:], []byte(id)) // checked above
	return ClientIDParts{
		Node:        NodeID(binary.BigEndian.Uint32(b[0:4])),
		Incarnation: binary.BigEndian.Uint64(b[4:12]),
		Seq:         binary.BigEndian.Uint64(b[12:20]),
	}, nil
}

// NodeOf returns the node that owns a clientID.
func NodeOf(id string) (NodeID, error) {
	p, err := ParseClientID(id)
	return p.Node, err
}

// String encodes the parts as a clientID.
func (p ClientIDParts) String() string {
	var text [ClientIDLen]byte
	p.encode(&text)
	return string(text[:])
}

func (p ClientIDParts) encode(text *[ClientIDLen]byte) {
	var b [ClientIDLen / 2]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(p.Node))
	binary.BigEndian.PutUint64(b[4:12], p.Incarnation)
	binary.BigEndian.PutUint64(b[12:20], p.Seq)
	hex.Encode(text[:], b[:])
}

// IDGenerator issues the clientIDs of one node start.
type IDGenerator struct {
	node        NodeID
	incarnation uint64
	seq         atomic.Uint64
}

// NewIDGenerator starts a new incarnation of node: the current time in
// Unix nanoseconds.
func NewIDGenerator(node NodeID) *IDGenerator {
	return &IDGenerator{node: node, incarnation: uint64(time.Now().UnixNano())}
}

// Node is the node this generator issues ids for.
func (g *IDGenerator) Node() NodeID { return g.node }

// Incarnation is this start's incarnation number.
func (g *IDGenerator) Incarnation() uint64 { return g.incarnation }

// Next returns a clientID never issued before. Safe for concurrent use.
func (g *IDGenerator) Next() string { return g.next().String() }

func (g *IDGenerator) next() ClientIDParts {
	return ClientIDParts{Node: g.node, Incarnation: g.incarnation, Seq: g.seq.Add(1)}
}

// NewClient makes the entry of a new connection under an id never issued
// before, for Router.AddClient. The id's characters live in the entry: a
// connection's id costs no allocation of its own.
func (g *IDGenerator) NewClient(conn Conn) *Client {
	c := &Client{conn: conn}
	g.next().encode(&c.text)
	c.keepText()
	return c
}

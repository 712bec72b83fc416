// Package wsproto implements RFC 6455 on byte slices: frame headers, masking,
// UTF-8 validation across fragments, close codes, message assembly and the
// opening handshake. It never touches a socket, so every parser here can be
// fed hostile bytes directly (see the fuzz targets).
//
// The types come from github.com/gobwas/ws, which also does the unmasking;
// this package adds an incremental decoder that never blocks waiting for
// bytes, which is what an event loop needs.
package wsproto

package wsproto

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestUTF8Seeds(t *testing.T) {
	for _, s := range utf8Seeds {
		p := []byte(s)
		for a := 0; a <= len(p); a++ {
			for b := a; b <= len(p); b++ {
				checkUTF8(t, p, a, b)
			}
		}
	}
}

// Every code point boundary value, every 1-byte and 2-byte input, and
// random mixes of edge bytes, checked against unicode/utf8.
func TestUTF8Property(t *testing.T) {
	var runes []rune
	for _, r := range []rune{0, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff} {
		runes = append(runes, r)
	}
	for _, r := range runes {
		p := utf8.AppendRune(nil, r)
		for cut := 0; cut <= len(p); cut++ {
			checkUTF8(t, p, cut, len(p))
		}
	}
	for i := range 1 << 16 {
		checkUTF8(t, []byte{byte(i), byte(i >> 8)}, 1, 2)
	}
	edges := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff}
	for i := range len(edges) * len(edges) * len(edges) {
		p := []byte{edges[i%len(edges)], edges[i/len(edges)%len(edges)], edges[i/len(edges)/len(edges)]}
		checkUTF8(t, p, 1, 2)
		checkUTF8(t, append(p, 0x80), 2, 3)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		p := make([]byte, rng.IntN(40))
		for i := range p {
			switch rng.IntN(3) {
			case 0:
				p[i] = edges[rng.IntN(len(edges))]
			case 1:
				p[i] = byte(rng.IntN(256))
			default:
				p[i] = 'a'
			}
		}
		if rng.IntN(2) == 0 { // mostly valid text with one change
			p = []byte(string([]rune{rune(rng.IntN(0x110000)), 'x', rune(rng.IntN(0x800)), rune(rng.IntN(0x10000))}) + "12345678")
			if rng.IntN(2) == 0 {
				p[rng.IntN(len(p))] = byte(rng.IntN(256))
			}
		}
		checkUTF8(t, p, rng.IntN(len(p)+1), rng.IntN(len(p)+1))
	}
}

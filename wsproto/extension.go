package wsproto

import "strings"

// The Sec-WebSocket-Extensions grammar (RFC 6455 section 9.1):
//
//	extension-list  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// where a quoted-string value must be a token once unescaped. A list may
// span several header fields and holds empty elements (", ,") that count
// for nothing.

// ExtParam is one extension parameter; Value is "" when it has none, and a
// quoted value is given unquoted.
type ExtParam struct {
	Name, Value string
	HasValue    bool
}

// maxExtParams bounds the parameters of one offer that are looked at: no
// extension this package knows has more, so an offer with more is
// declined without collecting them.
const maxExtParams = 8

// Extension is one element of an extension list: a name and its
// parameters, held in an array of its own so that walking a header does
// not allocate.
type Extension struct {
	Name string
	// TooMany is set when the element had more than maxExtParams
	// parameters; Params holds the first ones.
	TooMany bool
	params  [maxExtParams]ExtParam
	nparams int
}

// Params are the extension's parameters, valid until the next element.
func (e *Extension) Params() []ExtParam { return e.params[:e.nparams] }

// ForEachExtension calls fn with each element of the extension lists in
// values, in order, until fn returns false. The Extension is reused
// between calls. A syntax error ends the walk: what follows it in that
// field cannot be told apart from the element it spoiled, so neither is
// offered; the fields after it are walked.
func ForEachExtension(values []string, fn func(e *Extension) bool) {
	var e Extension
	for _, v := range values {
		p := extParser{s: v}
		for {
			ok, more := p.next(&e)
			if ok && !fn(&e) {
				return
			}
			if !more {
				break
			}
		}
	}
}

// extParser walks one header field's value.
type extParser struct {
	s string
	i int
}

// next parses the next element into e. ok reports that e holds one; more
// that the field has more to parse.
func (p *extParser) next(e *Extension) (ok, more bool) {
	for {
		p.skipSpace()
		if p.i == len(p.s) {
			return false, false
		}
		if p.s[p.i] != ',' {
			break
		}
		p.i++ // an empty element
	}
	*e = Extension{Name: p.token()}
	if e.Name == "" {
		return false, false
	}
	for {
		p.skipSpace()
		if p.i == len(p.s) {
			return true, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			return true, true
		case ';':
			p.i++
		default:
			return false, false
		}
		p.skipSpace()
		prm := ExtParam{Name: p.token()}
		if prm.Name == "" {
			return false, false
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			p.skipSpace()
			var valid bool
			if prm.Value, valid = p.value(); !valid {
				return false, false
			}
			prm.HasValue = true
		}
		if e.nparams == maxExtParams {
			e.TooMany = true
			continue
		}
		e.params[e.nparams] = prm
		e.nparams++
	}
}

func (p *extParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// token consumes a token and returns it, or "" if none starts here.
func (p *extParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value consumes a parameter value: a token, or a quoted-string whose
// content is a token once unescaped (RFC 6455 section 9.1).
func (p *extParser) value() (string, bool) {
	if p.i == len(p.s) || p.s[p.i] != '"' {
		v := p.token()
		return v, v != ""
	}
	p.i++
	start, escaped := p.i, false
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '\\':
			escaped = true
			p.i += 2
			continue
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			v := raw
			if escaped {
				v = unescapeQuoted(raw)
			}
			return v, v != "" && isToken(v)
		}
		p.i++
	}
	return "", false // no closing quote
}

// unescapeQuoted drops the backslash of each quoted-pair.
func unescapeQuoted(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
}

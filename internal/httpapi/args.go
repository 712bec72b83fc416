package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/wsgate/wsgate/api"
)

// args are the request fields of every call. A call takes some of them
// (its fields in calls.go); a field has one name and one meaning in every
// call that takes it.
type args struct {
	ClientID    string
	ClientIDs   []string
	UID         string
	UIDs        []string
	Group       string
	Groups      []string
	Message     string // text, or base64 when Binary
	Binary      bool
	Exclude     []string
	Async       bool
	Info        map[string]string
	Code        int
	Reason      string
	Final       *string // text, or base64 when FinalBinary
	FinalBinary bool
}

// errBadRequest marks a request the server cannot make sense of: bad
// JSON, a field the call does not take, one it needs missing.
var errBadRequest = errors.New("bad request")

// decodeArgs reads the JSON object body as c's fields. A field c does not
// take, or a required one missing, is an error naming it: a misspelt
// field would otherwise be ignored and the call made without it. A field
// given twice takes its last value, as encoding/json does.
func decodeArgs(c *call, body []byte) (*args, error) {
	if !json.Valid(body) {
		var raw map[string]json.RawMessage
		err := json.Unmarshal(body, &raw) // for the error's detail
		return nil, fmt.Errorf("%w: %s: body is not a JSON object: %v", errBadRequest, c.name, err)
	}
	a := new(args)
	var set uint32 // bit i: c.fields[i] has a value
	if string(bytes.TrimSpace(body)) == "null" {
		body = []byte("{}") // no fields, as encoding/json reads null into a map
	}
	err := members(body, func(name string, value []byte) error {
		i := c.fieldIndex(name)
		if i < 0 {
			return fmt.Errorf("%w: %s takes no field %q (its fields: %s)", errBadRequest, c.name, name, c.fieldNames())
		}
		f := c.fields[i]
		if set&(1<<i) != 0 {
			// Given twice: the last counts, whole (a second object would
			// otherwise merge into the first's map).
			reflect.ValueOf(f.into(a)).Elem().SetZero()
			set &^= 1 << i
		}
		if string(value) == "null" {
			return nil // as if absent
		}
		set |= 1 << i
		if p, ok := f.into(a).(*string); ok {
			if text, ok := plainString(value); ok {
				*p = text
				return nil
			}
		}
		if err := json.Unmarshal(value, f.into(a)); err != nil {
			return fmt.Errorf("%w: %s: field %q: want %s", errBadRequest, c.name, name, f.kind.describe())
		}
		return nil
	})
	if errors.Is(err, errNotObject) {
		return nil, fmt.Errorf("%w: %s: body is not a JSON object", errBadRequest, c.name)
	}
	if err != nil {
		return nil, err
	}
	if set&c.requiredSet != c.requiredSet {
		var missing []string
		for i, f := range c.fields {
			if c.requiredSet&(1<<i) != 0 && set&(1<<i) == 0 {
				missing = append(missing, f.name)
			}
		}
		return nil, fmt.Errorf("%w: %s: missing field %s", errBadRequest, c.name, strings.Join(missing, ", "))
	}
	return a, nil
}

// payload is the message of a send: the text, or the bytes its base64
// encodes.
func payload(text string, binary bool, name string) ([]byte, error) {
	if !binary {
		return []byte(text), nil
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: field %q: binary, so want standard base64: %v", errBadRequest, name, err)
	}
	return b, nil
}

// send resolves a send's message and options.
func (a *args) send() ([]byte, []api.SendOption, error) {
	data, err := payload(a.Message, a.Binary, "message")
	if err != nil {
		return nil, nil, err
	}
	var opts []api.SendOption
	if a.Binary {
		opts = append(opts, api.Binary)
	}
	if len(a.Exclude) > 0 {
		opts = append(opts, api.Exclude(a.Exclude...))
	}
	if a.Async {
		opts = append(opts, api.Async())
	}
	return data, opts, nil
}

// closeOptions resolves CloseClient's fields.
func (a *args) closeOptions() (api.CloseOptions, error) {
	o := api.CloseOptions{Code: a.Code, Reason: a.Reason}
	if a.Final != nil {
		final, err := payload(*a.Final, a.FinalBinary, "final")
		if err != nil {
			return o, err
		}
		o.Final = final
		if a.FinalBinary {
			o.FinalType = api.Binary
		}
	}
	return o, nil
}

// fieldNames lists c's fields for an error message.
func (c *call) fieldNames() string {
	names := make([]string, len(c.fields))
	for i, f := range c.fields {
		names[i] = f.name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

package httpapi

import (
	"encoding/json"
	"maps"
	"testing"
)

// FuzzMembers holds members to encoding/json: for every valid JSON object
// it yields the keys and raw values json.Unmarshal gives a
// map[string]json.RawMessage (the last of a repeated key winning, as
// there), and it refuses every other valid value.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"uid":"alice","message":"hi"}`,
		`{"a":1,"b":-2.5e3,"c":true,"d":false,"e":null}`,
		"{\n\t\"a\" : [1, {\"b\": [\"]\", \"}\"]}] ,\r\"c\":{}}",
		`{"k\"ey":"v\\\"al","\u00e9":"\ud83d\ude00"}`,
		`{"a":1,"a":2}`, `[]`, `"s"`, `12`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(data, &want)
		if want == nil {
			wantErr = errNotObject // null decodes without error, into no map
		}
		got := map[string]json.RawMessage{}
		err := members(data, func(k string, v []byte) error {
			got[k] = v
			return nil
		})
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: members: %v, encoding/json: %v", data, err, wantErr)
		}
		if err == nil && !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("%q: members gave %q, encoding/json %q", data, got, want)
		}
	})
}

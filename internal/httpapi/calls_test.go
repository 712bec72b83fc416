package httpapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/wsgate/wsgate/api"
)

// TestEveryApiMethodHasARoute holds the table to the api.Api interface: a
// method added to the interface without a route here fails this test,
// and so does a route whose answer is not the method's.
func TestEveryApiMethodHasARoute(t *testing.T) {
	iface := reflect.TypeFor[api.Api]()
	byName := map[string]*call{}
	for _, c := range newCalls() {
		if byName[c.name] != nil {
			t.Errorf("%s: two routes", c.name)
		}
		byName[c.name] = c
	}
	errType := reflect.TypeFor[error]()
	for m := range iface.Methods() {
		c := byName[m.Name]
		if c == nil {
			t.Errorf("api.Api.%s has no route: add it to newCalls", m.Name)
			continue
		}
		delete(byName, m.Name)
		out := m.Type
		if out.Out(out.NumOut()-1) != errType {
			t.Errorf("%s: last result is not an error", m.Name)
		}
		var want reflect.Type
		if out.NumOut() == 2 {
			want = out.Out(0)
		}
		if got := c.answer.goType(); got != want {
			t.Errorf("%s: the route answers %v, the method returns %v", m.Name, got, want)
		}
	}
	for name := range byName {
		t.Errorf("route %s names no api.Api method", name)
	}
}

// TestOpenAPIFromTheTable checks that the document has a path per call
// with exactly the call's fields, so the two cannot drift.
func TestOpenAPIFromTheTable(t *testing.T) {
	h, err := NewHandler(nil, Options{Keys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]struct {
			Post *struct {
				OperationID string `json:"operationId"`
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Properties map[string]any `json:"properties"`
							Required   []string       `json:"required"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
				Responses map[string]any `json:"responses"`
			} `json:"post"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(h.openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	calls := newCalls()
	if got, want := len(doc.Paths), len(calls)+2; got != want { // + batch, openapi.json
		t.Errorf("%d paths, want %d", got, want)
	}
	for _, c := range calls {
		p := doc.Paths[Prefix+c.name]
		if p.Post == nil || p.Post.OperationID != c.name {
			t.Errorf("%s: no POST path", c.name)
			continue
		}
		s := p.Post.RequestBody.Content["application/json"].Schema
		var names, required []string
		for _, f := range c.fields {
			names = append(names, f.name)
			if f.required {
				required = append(required, f.name)
			}
		}
		got := slices.Sorted(mapKeys(s.Properties))
		if slices.Sort(names); !slices.Equal(got, names) {
			t.Errorf("%s: document's fields %v, table's %v", c.name, got, names)
		}
		if !slices.Equal(s.Required, required) {
			t.Errorf("%s: document requires %v, table %v", c.name, s.Required, required)
		}
		for _, status := range []string{"200", "401", "429"} {
			if p.Post.Responses[status] == nil {
				t.Errorf("%s: no %s response", c.name, status)
			}
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	calls := map[string]*call{}
	for _, c := range newCalls() {
		calls[c.name] = c
	}
	a, err := decodeArgs(calls["SendToUID"], []byte(`{"uid":"alice","message":"aGk=","binary":true}`))
	if err != nil {
		t.Fatal(err)
	}
	data, opts, err := a.send()
	if err != nil || string(data) != "hi" || len(opts) != 1 {
		t.Fatalf("send() = %q, %v, %v", data, opts, err)
	}
	for _, bad := range []string{
		`{"uid":"alice"}`,                               // no message
		`{"uid":"alice","message":"hi","x":1}`,          // unknown field
		`{"uid":"alice","message":"hi","clientId":"c"}`, // another call's field
		`{"uid":5,"message":"hi"}`,                      // wrong type
		`{"uid":"alice","message":null}`,                // null is absent
		`{"uid":"alice","message":"hi","message":null}`, // so is a null given last
		`null`, // no fields, so no uid
		`[1]`, `{`, ``, `"s"`,
	} {
		if _, err := decodeArgs(calls["SendToUID"], []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := decodeArgs(calls["GetAllClientCount"], []byte(` null `)); err != nil {
		t.Errorf("null for a call without fields: %v", err)
	}
	// As encoding/json decodes a document: the last of a repeated field
	// counts, whole; escapes and invalid UTF-8 are decoded alike.
	a, err = decodeArgs(calls["SetInfo"], []byte(`{"clientId":"c","info":{"a":"1"},"info":{"b":"2"}}`))
	if err != nil || len(a.Info) != 1 || a.Info["b"] != "2" {
		t.Errorf("repeated info: %v, %v", a, err)
	}
	a, err = decodeArgs(calls["SendToUID"], []byte("{\"uid\":\"b\\u00e9\",\"message\":\"\xff\"}"))
	if err != nil || a.UID != "b\u00e9" || a.Message != "\ufffd" {
		t.Errorf("escapes: %q %q, %v", a.UID, a.Message, err)
	}
	a, _ = decodeArgs(calls["SendToUID"], []byte(`{"uid":"a","message":"%%%","binary":true}`))
	if _, _, err := a.send(); err == nil {
		t.Error("bad base64: no error")
	}
}

package httpapi

import "reflect"

// kind is the JSON type of a request field or of an answer. It gives the
// OpenAPI schema of the value and the Go type an answer has in api.Api,
// which the tests compare with the interface.
type kind uint8

const (
	none    kind = iota // no answer
	str                 // a string
	strs                // a list of strings
	boolean             // true or false
	integer             // a count
	info                // a client's info: an object of strings
	infos               // infos by clientID: an object of info objects
)

// schema is the OpenAPI schema of a value of the kind.
func (k kind) schema() map[string]any {
	infoSchema := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	switch k {
	case str:
		return map[string]any{"type": "string"}
	case strs:
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	case boolean:
		return map[string]any{"type": "boolean"}
	case integer:
		return map[string]any{"type": "integer"}
	case info:
		return infoSchema
	case infos:
		return map[string]any{"type": "object", "additionalProperties": infoSchema}
	}
	return nil
}

// describe names the kind in an error message.
func (k kind) describe() string {
	return [...]string{none: "nothing", str: "a string", strs: "a list of strings", boolean: "true or false",
		integer: "an integer", info: "an object of strings", infos: "an object of objects of strings"}[k]
}

// goType is the type of the answer api.Api returns for the kind (nil for
// none: the method returns an error only).
func (k kind) goType() reflect.Type {
	switch k {
	case str:
		return reflect.TypeFor[string]()
	case strs:
		return reflect.TypeFor[[]string]()
	case boolean:
		return reflect.TypeFor[bool]()
	case integer:
		return reflect.TypeFor[int]()
	case info:
		return reflect.TypeFor[map[string]string]()
	case infos:
		return reflect.TypeFor[map[string]map[string]string]()
	}
	return nil
}

// orEmpty makes an answer's nil list or map an empty one, so that a JSON
// client gets [] or {} as the Go doc promises ("empty, not nil"), never
// null.
func orEmpty(v any) any {
	switch x := v.(type) {
	case []string:
		if x == nil {
			return []string{}
		}
	case map[string]string:
		if x == nil {
			return map[string]string{}
		}
	case map[string]map[string]string:
		if x == nil {
			return map[string]map[string]string{}
		}
	}
	return v
}

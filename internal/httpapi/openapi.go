package httpapi

import (
	"net/http"
	"strconv"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// openAPIDocument is the OpenAPI 3 description of the routes, made from
// the same table as the router, so neither can drift from the other.
func openAPIDocument(calls []*call, errs []errorKind) obj {
	paths := obj{}
	errorCodes := []string{}
	for _, k := range append([]errorKind{errUnauthorized, errNotFound, errMethod, errTooLarge, errRateLimited, errInternal}, errs...) {
		errorCodes = append(errorCodes, k.code)
	}
	callNames := []string{}
	for _, c := range calls {
		callNames = append(callNames, c.name)
		paths[Prefix+c.name] = obj{"post": obj{
			"operationId": c.name,
			"summary":     c.doc,
			"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": requestSchema(c)}}},
			"responses":   responses(c, errs),
		}}
	}
	paths[Prefix+batchRoute] = obj{"post": obj{
		"operationId": "batch",
		"summary":     "Make many calls in one request, one after the other; each gets its own answer, in order.",
		"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": obj{
			"type": "object", "required": []string{"calls"},
			"properties": obj{"calls": obj{"type": "array", "items": obj{
				"type": "object", "required": []string{"call"},
				"properties": obj{
					"call": obj{"type": "string", "enum": callNames},
					"args": obj{"type": "object", "description": "the call's request body"},
				},
			}}},
		}}}},
		"responses": obj{
			"200": jsonResponse("one answer per call, in order; status is what the call alone would have answered", obj{
				"type": "object", "properties": obj{"results": obj{"type": "array", "items": obj{
					"type": "object",
					"properties": obj{
						"status":  obj{"type": "integer"},
						"result":  obj{"description": "the call's result, as its own route answers it"},
						"missing": missingSchema(),
						"error":   ref("Error"),
					},
				}}},
			}),
			"default": errorResponse(),
		},
	}}
	paths[Prefix+openAPIRoute] = obj{"get": obj{
		"operationId": "openapi",
		"summary":     "This document.",
		"responses":   obj{"200": obj{"description": "the OpenAPI document", "content": obj{"application/json": obj{}}}},
	}}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "wsgate HTTP Api",
			"version": "1",
			"description": "The Api of a wsgate cluster over HTTP: any node answers any call, routing it to the client's node " +
				"or fanning it out across the cluster. A call that needs every node and did not hear from some answers 200 " +
				"with what the others said and their node ids in \"missing\". Errors answer {\"error\": {\"code\", \"message\"}}.",
		},
		"security": []obj{{"apiKey": []string{}}},
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{"apiKey": obj{"type": "http", "scheme": "bearer", "description": "an API key of the node (WSGATE_API_KEY or --api-key-file)"}},
			"schemas": obj{"Error": obj{
				"type": "object", "required": []string{"code", "message"},
				"properties": obj{
					"code":    obj{"type": "string", "enum": errorCodes},
					"message": obj{"type": "string"},
				},
			}},
		},
	}
}

// requestSchema is the schema of c's body: its fields.
func requestSchema(c *call) obj {
	props := obj{}
	required := []string{}
	for _, f := range c.fields {
		s := f.kind.schema()
		s["description"] = f.doc
		s["example"] = f.example
		props[f.name] = s
		if f.required {
			required = append(required, f.name)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false, "example": c.example()}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// responses are c's answers: 200 with its result, and each error status
// with the codes it may carry.
func responses(c *call, errs []errorKind) obj {
	ok := obj{"type": "object", "properties": obj{"missing": missingSchema()}}
	if c.answer != none {
		ok["properties"].(obj)["result"] = c.answer.schema()
		ok["required"] = []string{"result"}
	}
	r := obj{"200": jsonResponse("done; a call that asks every node names those that did not answer in missing", ok)}
	for _, k := range append([]errorKind{errUnauthorized, errTooLarge, errRateLimited}, errs...) {
		status := http.StatusText(k.status)
		key := strconv.Itoa(k.status)
		prev, _ := r[key].(obj)
		desc := k.code + ": " + k.doc
		if prev != nil {
			desc = prev["description"].(string) + "; " + desc
		} else {
			desc = status + ". " + desc
		}
		r[key] = obj{"description": desc, "content": obj{"application/json": obj{"schema": errorSchema()}}}
	}
	return r
}

func jsonResponse(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
}

func errorResponse() obj { return jsonResponse("the request failed", errorSchema()) }

func errorSchema() obj {
	return obj{"type": "object", "required": []string{"error"}, "properties": obj{"error": ref("Error")}}
}

func missingSchema() obj {
	return obj{"type": "array", "items": obj{"type": "string"}, "description": "ids of the nodes that did not answer"}
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkSendToUID is the handler's own cost for one SendToUID request,
// the Api call itself being free: auth, routing, decoding, answering.
func BenchmarkSendToUID(b *testing.B) {
	h, err := NewHandler(fakeAPI{}, Options{Keys: []string{testKey}})
	if err != nil {
		b.Fatal(err)
	}
	const body = `{"uid":"u123","message":"a message of some forty bytes, or so.."}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, Prefix+"SendToUID", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body)
		}
	}
}

// BenchmarkBatchSendToUID is the handler's own cost for a batch of 100
// SendToUID calls, the Api calls being free; per call, divide by 100.
func BenchmarkBatchSendToUID(b *testing.B) {
	h, err := NewHandler(fakeAPI{}, Options{Keys: []string{testKey}})
	if err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	body.WriteString(`{"calls":[`)
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"call":"SendToUID","args":{"uid":"u123","message":"a message of some forty bytes, or so.."}}`)
	}
	body.WriteString(`]}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, Prefix+"batch", strings.NewReader(body.String()))
		req.Header.Set("Authorization", "Bearer "+testKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body)
		}
	}
}

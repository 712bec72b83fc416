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

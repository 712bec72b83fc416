package metrics

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/api"
)

// clusterPage is the live cluster page: a table of every node, refreshed
// once a second from /cluster.json by the page's own script.
//
//go:embed cluster.html
var clusterPage []byte

// clusterViewTimeout bounds how long /cluster.json waits for peers: a
// node that has not answered by then is shown as not answering, and the
// page stays live.
const clusterViewTimeout = 2 * time.Second

// handleCluster registers /cluster and /cluster.json on mux.
func handleCluster(mux *http.ServeMux, gw *api.Gateway) {
	mux.HandleFunc("GET /cluster", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
		w.Write(clusterPage)
	})
	mux.HandleFunc("GET /cluster.json", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), clusterViewTimeout)
		defer cancel()
		view := gw.ClusterView(ctx)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(view)
	})
}

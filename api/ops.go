package api

import (
	"encoding/json"
	"net/http"

	"github.com/healthdns/healthdns/zones"
)

// OpsHandler serves only /healthz, /readyz and /metrics, answered as the
// full API answers them: for a node without the api role (a DNS-only
// node), which load balancers and Prometheus still need to see. ready,
// health and metrics may be nil.
func OpsHandler(ready func() bool, health func() any, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if health == nil {
			write(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		}
		write(w, http.StatusOK, health())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready == nil || ready() {
			write(w, http.StatusOK, map[string]string{"status": "ready"})
			return
		}
		write(w, http.StatusServiceUnavailable, errorBody{errorDetail{
			Code: zones.CodeServiceUnavailable, Message: "not ready: no snapshot served yet, or shutting down"}})
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusNotFound, errorBody{errorDetail{Code: "NotFound",
			Message: "this node runs without the api role (--roles): only /healthz, /readyz and /metrics are served here"}})
	})
	return mux
}

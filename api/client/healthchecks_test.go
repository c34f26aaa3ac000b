package client

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

const hcID = "0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5e"

// TestHealthCheckTypesMatchServer: the client's types decode what package
// healthcheck encodes, field for field.
func TestHealthCheckTypesMatchServer(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := healthcheck.HealthCheck{ID: hcID, CallerReference: "r", RoutingControlState: "ON", Version: 3, CreatedAt: at,
		Config: zones.HealthCheckConfig{Type: "ROUTING_CONTROL", Inverted: true}}
	st := healthcheck.Status{Status: "HEALTHY", Observations: []healthcheck.StatusObservation{{Checker: "a", Region: "r", Status: "Success", Healthy: true, CheckedAt: at}}}
	page := healthcheck.Page{HealthChecks: []healthcheck.HealthCheck{srv}, IsTruncated: true, NextMarker: hcID}
	for _, tc := range []struct{ from, to any }{
		{srv, &HealthCheck{}}, {st, &HealthCheckStatus{}}, {page, &HealthCheckPage{}},
	} {
		b, _ := json.Marshal(tc.from)
		var generic map[string]any
		json.Unmarshal(b, &generic)
		if err := json.Unmarshal(b, tc.to); err != nil {
			t.Fatal(err)
		}
		back, _ := json.Marshal(tc.to)
		var again map[string]any
		json.Unmarshal(back, &again)
		if !reflect.DeepEqual(generic, again) {
			t.Errorf("%T: server %s, client %s", tc.from, b, back)
		}
	}
}

func TestHealthCheckCalls(t *testing.T) {
	cfg := zones.HealthCheckConfig{Type: "HTTP", IPAddress: "192.0.2.1"}
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/healthchecks":
			var in struct {
				CallerReference string                  `json:"callerReference"`
				Config          zones.HealthCheckConfig `json:"config"`
			}
			decodeBody(t, r, &in)
			if in.CallerReference != "ref" || !reflect.DeepEqual(in.Config, cfg) {
				t.Errorf("create body %+v", in)
			}
			reply(t, w, http.StatusCreated, HealthCheck{ID: hcID, Config: cfg, Version: 1})
		case "GET /v1/healthchecks":
			if r.URL.Query().Get("marker") == "" {
				reply(t, w, 200, HealthCheckPage{HealthChecks: []HealthCheck{{ID: "a"}}, IsTruncated: true, NextMarker: hcID})
			} else {
				reply(t, w, 200, HealthCheckPage{HealthChecks: []HealthCheck{{ID: hcID}}})
			}
		case "GET /v1/healthchecks/" + hcID:
			reply(t, w, 200, HealthCheck{ID: hcID})
		case "PUT /v1/healthchecks/" + hcID:
			var in struct {
				Config  zones.HealthCheckConfig `json:"config"`
				Version int64                   `json:"version"`
			}
			decodeBody(t, r, &in)
			reply(t, w, 200, HealthCheck{ID: hcID, Config: in.Config, Version: in.Version + 1})
		case "DELETE /v1/healthchecks/" + hcID:
			reply(t, w, 200, struct{}{})
		case "GET /v1/healthchecks/" + hcID + "/status":
			reply(t, w, 200, HealthCheckStatus{Status: "UNHEALTHY", Observations: []HealthCheckObservation{{Checker: "n"}}})
		case "PUT /v1/healthchecks/" + hcID + "/routingcontrol":
			var in struct {
				State string `json:"state"`
			}
			decodeBody(t, r, &in)
			reply(t, w, 200, HealthCheck{ID: hcID, RoutingControlState: in.State})
		default:
			replyError(t, w, 404, "NoSuchHealthCheck", "no")
		}
	})
	if hc, err := c.CreateHealthCheck(ctx, "ref", cfg); err != nil || hc.ID != hcID {
		t.Fatalf("create: %+v %v", hc, err)
	}
	all, err := c.AllHealthChecks(ctx)
	if err != nil || len(all) != 2 || all[1].ID != hcID {
		t.Fatalf("all: %+v %v", all, err)
	}
	if hc, err := c.GetHealthCheck(ctx, hcID); err != nil || hc.ID != hcID {
		t.Fatalf("get: %+v %v", hc, err)
	}
	if hc, err := c.UpdateHealthCheck(ctx, hcID, cfg, 4); err != nil || hc.Version != 5 {
		t.Fatalf("update: %+v %v", hc, err)
	}
	if err := c.DeleteHealthCheck(ctx, hcID); err != nil {
		t.Fatal(err)
	}
	if st, err := c.HealthCheckStatus(ctx, hcID); err != nil || st.Status != "UNHEALTHY" || len(st.Observations) != 1 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if hc, err := c.SetRoutingControl(ctx, hcID, "OFF"); err != nil || hc.RoutingControlState != "OFF" {
		t.Fatalf("routing control: %+v %v", hc, err)
	}
	if _, err := c.GetHealthCheck(ctx, "0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5f"); ErrorCode(err) != "NoSuchHealthCheck" {
		t.Fatalf("missing: %v", err)
	}
}

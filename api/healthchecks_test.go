package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

const testHealthCheckID = "0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5e"

// fakeHealthChecks is for tests of HTTP concerns only; behaviour is tested
// on the real service below. It records the last method and id and returns
// err if set.
type fakeHealthChecks struct {
	mu       sync.Mutex
	err      error
	method   string
	id       string
	maxItems int
}

var _ HealthCheckService = (*fakeHealthChecks)(nil)

func (f *fakeHealthChecks) record(method, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method, f.id = method, id
	return f.err
}

func (f *fakeHealthChecks) last() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.method, f.id
}

func (f *fakeHealthChecks) CreateHealthCheck(_ context.Context, req healthcheck.CreateRequest) (healthcheck.HealthCheck, bool, error) {
	return healthcheck.HealthCheck{ID: testHealthCheckID, CallerReference: req.CallerReference, Config: req.Config, Version: 1}, true, f.record("Create", "")
}

func (f *fakeHealthChecks) GetHealthCheck(_ context.Context, id string) (healthcheck.HealthCheck, error) {
	return healthcheck.HealthCheck{ID: id}, f.record("Get", id)
}

func (f *fakeHealthChecks) ListHealthChecks(_ context.Context, marker string, maxItems int) (healthcheck.Page, error) {
	f.mu.Lock()
	f.maxItems = maxItems
	f.mu.Unlock()
	return healthcheck.Page{}, f.record("List", marker)
}

func (f *fakeHealthChecks) UpdateHealthCheck(_ context.Context, id string, req healthcheck.UpdateRequest) (healthcheck.HealthCheck, error) {
	return healthcheck.HealthCheck{ID: id, Config: req.Config, Version: 2}, f.record("Update", id)
}

func (f *fakeHealthChecks) DeleteHealthCheck(_ context.Context, id string) error {
	return f.record("Delete", id)
}

func (f *fakeHealthChecks) SetRoutingControl(_ context.Context, id, state string) (healthcheck.HealthCheck, error) {
	return healthcheck.HealthCheck{ID: id, RoutingControlState: state}, f.record("SetRoutingControl", id)
}

func (f *fakeHealthChecks) HealthCheckStatus(_ context.Context, id string) (healthcheck.Status, error) {
	return healthcheck.Status{Status: healthcheck.Healthy}, f.record("Status", id)
}

func TestHealthCheckRoutesNeedTheService(t *testing.T) {
	ts := newTestServer(t, Options{})
	wantError(t, ts.do(t, "GET", "/v1/healthchecks", "", nil), http.StatusNotFound, codeNotFound)
}

func TestHealthCheckHTTP(t *testing.T) {
	hcs := &fakeHealthChecks{}
	ts := newTestServer(t, Options{HealthChecks: hcs, Tokens: map[string]string{"tok": "carol"}})
	upper := strings.ToUpper(testHealthCheckID)

	wantError(t, ts.do(t, "GET", "/v1/healthchecks", "", nil), http.StatusUnauthorized, codeUnauthorized)
	for _, tc := range []struct{ method, path, body, id string }{
		{"GET", "/v1/healthchecks/" + upper, "", testHealthCheckID},
		{"PUT", "/v1/healthchecks/" + testHealthCheckID, `{"config":{"type":"TCP"},"version":3}`, testHealthCheckID},
		{"DELETE", "/v1/healthchecks/" + testHealthCheckID + "/", "", testHealthCheckID},
		{"GET", "/v1/healthchecks/" + testHealthCheckID + "/status", "", testHealthCheckID},
		{"PUT", "/v1/healthchecks/" + testHealthCheckID + "/routingcontrol", `{"state":"OFF"}`, testHealthCheckID},
		{"GET", "/v1/healthchecks?marker=" + upper, "", testHealthCheckID},
	} {
		r := ts.do(t, tc.method, tc.path, "tok", strings.NewReader(tc.body))
		if r.status != http.StatusOK {
			t.Errorf("%s %s: status %d, body %s", tc.method, tc.path, r.status, r.body)
		}
		if _, id := hcs.last(); id != tc.id {
			t.Errorf("%s %s: service saw id %q, want %q", tc.method, tc.path, id, tc.id)
		}
	}
	r := ts.do(t, "GET", "/v1/healthchecks/"+testHealthCheckID+"/status", "tok", nil)
	if want := `{"status":"HEALTHY","observations":[]}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("status body %s, want %s", r.body, want)
	}
	r = ts.do(t, "POST", "/v1/healthchecks", "tok", strings.NewReader(`{"callerReference":"r","config":{"type":"HTTP","ipAddress":"192.0.2.1"}}`))
	if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/healthchecks/"+testHealthCheckID {
		t.Fatalf("create: %d %s %v", r.status, r.body, r.header)
	}
	if !strings.Contains(ts.logs.String(), "health check created") || !strings.Contains(ts.logs.String(), "who=carol") {
		t.Errorf("no audit line for the create:\n%s", ts.logs.String())
	}
	// Default and explicit page sizes.
	ts.do(t, "GET", "/v1/healthchecks", "tok", nil)
	if hcs.maxItems != healthcheck.DefaultPageSize {
		t.Errorf("default maxItems %d", hcs.maxItems)
	}
	ts.do(t, "GET", "/v1/healthchecks?maxItems=1000", "tok", nil)
	if hcs.maxItems != 1000 {
		t.Errorf("maxItems %d, want 1000", hcs.maxItems)
	}

	for _, tc := range []struct{ method, path, body, msg string }{
		{"GET", "/v1/healthchecks/nope", "", `healthCheckId "nope"`},
		{"GET", "/v1/healthchecks?maxItems=1001", "", "maxItems"},
		{"GET", "/v1/healthchecks?marker=x", "", "marker"},
		{"GET", "/v1/healthchecks?color=red", "", "unknown query parameter"},
		{"POST", "/v1/healthchecks", `{"callerReference":"r","config":{"type":"HTTP"},"extra":1}`, `unknown field "extra"`},
		{"POST", "/v1/healthchecks", `{"callerReference":"r","config":{"port":"80"}}`, `field "config.port"`},
		{"PUT", "/v1/healthchecks/" + testHealthCheckID + "/routingcontrol", `{"state":1}`, `field "state"`},
	} {
		e := wantError(t, ts.do(t, tc.method, tc.path, "tok", strings.NewReader(tc.body)), http.StatusBadRequest, zones.CodeInvalidInput)
		if !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s %s: message %q lacks %q", tc.method, tc.path, e.Message, tc.msg)
		}
	}
	// Service errors map to their statuses.
	for code, status := range map[string]int{
		zones.CodeNoSuchHealthCheck:                http.StatusNotFound,
		zones.CodeHealthCheckAlreadyExists:         http.StatusConflict,
		zones.CodeHealthCheckInUse:                 http.StatusConflict,
		healthcheck.CodeHealthCheckVersionMismatch: http.StatusConflict,
		zones.CodeServiceUnavailable:               http.StatusServiceUnavailable,
	} {
		hcs.mu.Lock()
		hcs.err = zones.Errorf(code, "boom")
		hcs.mu.Unlock()
		wantError(t, ts.do(t, "PUT", "/v1/healthchecks/"+testHealthCheckID, "tok", strings.NewReader(`{"config":{"type":"TCP"}}`)), status, code)
	}
}

// TestHealthCheckIntegration runs the routes over the real Store and Monitor
// on embedded etcd.
func TestHealthCheckIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	store, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: healthcheck.DefaultQuorum})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mon.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	svc, err := healthcheck.NewService(store, mon)
	if err != nil {
		t.Fatal(err)
	}
	zs := etcdstore.New(etcdstore.Options{Client: cli, Mirror: etcdstore.NewMirror()})
	ts := newTestServer(t, Options{Store: zs, HealthChecks: svc, Tokens: map[string]string{integrationToken: "tester"}})

	var rc healthcheck.HealthCheck
	body := `{"callerReference":"drill-1","config":{"type":"ROUTING_CONTROL"}}`
	ts.call(t, "POST", "/v1/healthchecks", strings.NewReader(body), http.StatusCreated, &rc)
	if rc.RoutingControlState != "ON" || rc.Version != 1 {
		t.Fatalf("created %+v", rc)
	}
	var again healthcheck.HealthCheck
	ts.call(t, "POST", "/v1/healthchecks", strings.NewReader(body), http.StatusCreated, &again)
	if again.ID != rc.ID {
		t.Fatalf("retry made %s, want %s", again.ID, rc.ID)
	}
	r := ts.do(t, "POST", "/v1/healthchecks", integrationToken, strings.NewReader(`{"callerReference":"drill-1","config":{"type":"ROUTING_CONTROL","inverted":true}}`))
	wantError(t, r, http.StatusConflict, zones.CodeHealthCheckAlreadyExists)
	r = ts.do(t, "POST", "/v1/healthchecks", integrationToken, strings.NewReader(`{"callerReference":"x","config":{"type":"HTTP_STR_MATCH","ipAddress":"192.0.2.1"}}`))
	if e := wantError(t, r, http.StatusBadRequest, zones.CodeInvalidInput); !strings.Contains(e.Message, "config.searchString") {
		t.Errorf("message %q does not name the field", e.Message)
	}

	var calc healthcheck.HealthCheck
	ts.call(t, "POST", "/v1/healthchecks", strings.NewReader(`{"callerReference":"calc","config":{"type":"CALCULATED","childHealthChecks":["`+rc.ID+`"],"healthThreshold":1}}`), http.StatusCreated, &calc)
	var page healthcheck.Page
	ts.call(t, "GET", "/v1/healthchecks", nil, http.StatusOK, &page)
	if len(page.HealthChecks) != 2 || page.IsTruncated {
		t.Fatalf("list %+v", page)
	}

	status := func(id string) healthcheck.Status {
		var st healthcheck.Status
		ts.call(t, "GET", "/v1/healthchecks/"+id+"/status", nil, http.StatusOK, &st)
		return st
	}
	if st := status(rc.ID); st.Status != "HEALTHY" || st.Observations == nil {
		t.Fatalf("status %+v", st)
	}
	var off healthcheck.HealthCheck
	ts.call(t, "PUT", "/v1/healthchecks/"+rc.ID+"/routingcontrol", strings.NewReader(`{"state":"OFF"}`), http.StatusOK, &off)
	if off.RoutingControlState != "OFF" {
		t.Fatalf("after OFF: %+v", off)
	}
	deadline := time.Now().Add(15 * time.Second)
	for status(rc.ID).Status != "UNHEALTHY" || status(calc.ID).Status != "UNHEALTHY" {
		if time.Now().After(deadline) {
			t.Fatal("routing control OFF did not make the checks UNHEALTHY")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r = ts.do(t, "PUT", "/v1/healthchecks/"+calc.ID+"/routingcontrol", integrationToken, strings.NewReader(`{"state":"OFF"}`))
	wantError(t, r, http.StatusBadRequest, zones.CodeInvalidInput)

	var up healthcheck.HealthCheck
	ts.call(t, "PUT", "/v1/healthchecks/"+calc.ID, strings.NewReader(`{"config":{"type":"CALCULATED","childHealthChecks":["`+rc.ID+`"],"healthThreshold":0},"version":1}`), http.StatusOK, &up)
	if up.Version != 2 {
		t.Fatalf("update %+v", up)
	}
	r = ts.do(t, "PUT", "/v1/healthchecks/"+calc.ID, integrationToken, strings.NewReader(`{"config":{"type":"CALCULATED"},"version":1}`))
	wantError(t, r, http.StatusConflict, healthcheck.CodeHealthCheckVersionMismatch)

	wantError(t, ts.do(t, "DELETE", "/v1/healthchecks/"+rc.ID, integrationToken, nil), http.StatusConflict, zones.CodeHealthCheckInUse)
	ts.call(t, "DELETE", "/v1/healthchecks/"+calc.ID, nil, http.StatusOK, nil)
	ts.call(t, "DELETE", "/v1/healthchecks/"+rc.ID, nil, http.StatusOK, nil)
	wantError(t, ts.do(t, "GET", "/v1/healthchecks/"+rc.ID, integrationToken, nil), http.StatusNotFound, zones.CodeNoSuchHealthCheck)
	wantError(t, ts.do(t, "GET", "/v1/healthchecks/"+rc.ID+"/status", integrationToken, nil), http.StatusNotFound, zones.CodeNoSuchHealthCheck)
	var raw map[string]any
	ts.call(t, "GET", "/v1/healthchecks", nil, http.StatusOK, &raw)
	if b, _ := json.Marshal(raw["healthChecks"]); string(b) != "[]" {
		t.Errorf("list after deletes: %s", b)
	}
}

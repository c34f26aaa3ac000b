package healthcheck_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if zones.CodeOf(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestStoreCallerReference(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := zones.HealthCheckConfig{Type: "HTTP", IPAddress: "192.0.2.1"}
	req := healthcheck.CreateRequest{CallerReference: "ref-1", Config: cfg}
	hc, created, err := e.store.CreateHealthCheck(ctx, req)
	if err != nil || !created {
		t.Fatalf("create: %v %v", err, created)
	}
	if _, ok := healthcheck.CanonicalID(hc.ID); !ok || hc.Version != 1 || hc.Config.Port != 80 || hc.Config.RequestInterval != 30 || hc.CallerReference != "ref-1" {
		t.Fatalf("created %+v", hc)
	}
	// Same reference and config (here written differently but equal once
	// normalized): the same check.
	again, created, err := e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{CallerReference: "ref-1",
		Config: zones.HealthCheckConfig{Type: "http", IPAddress: "192.0.2.1", Port: 80, RequestInterval: 30}})
	if err != nil || created || again.ID != hc.ID {
		t.Fatalf("retry: %+v %v %v, want %s not created", again, created, err, hc.ID)
	}
	// Same reference, other config: 409.
	req2 := req
	req2.Config.Port = 8080
	_, _, err = e.store.CreateHealthCheck(ctx, req2)
	wantCode(t, err, zones.CodeHealthCheckAlreadyExists)
	// The original retry still works after an update.
	if _, err := e.store.UpdateHealthCheck(ctx, hc.ID, healthcheck.UpdateRequest{Config: req2.Config}); err != nil {
		t.Fatal(err)
	}
	if again, _, err := e.store.CreateHealthCheck(ctx, req); err != nil || again.ID != hc.ID || again.Version != 2 {
		t.Fatalf("retry after update: %+v %v", again, err)
	}
	// Another reference, same config: a new check.
	other, created, err := e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{CallerReference: "ref-2", Config: cfg})
	if err != nil || !created || other.ID == hc.ID {
		t.Fatalf("new reference: %+v %v %v", other, created, err)
	}
	// A deleted check's reference stays taken.
	if err := e.store.DeleteHealthCheck(ctx, hc.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.store.CreateHealthCheck(ctx, req)
	wantCode(t, err, zones.CodeHealthCheckAlreadyExists)
	_, _, err = e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{Config: cfg})
	wantCode(t, err, zones.CodeInvalidInput)
	_, _, err = e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{CallerReference: strings.Repeat("r", 65), Config: cfg})
	wantCode(t, err, zones.CodeInvalidInput)
	_, _, err = e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{CallerReference: "ref-3", Config: zones.HealthCheckConfig{Type: "HTTP"}})
	wantCode(t, err, zones.CodeInvalidInput)
}

func TestStoreCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.create(t, zones.HealthCheckConfig{Type: "TCP", IPAddress: "192.0.2.1", Port: 1000 + i}).ID)
	}
	// Pages in id order.
	var listed []string
	marker := ""
	for {
		p, err := e.store.ListHealthChecks(ctx, marker, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, hc := range p.HealthChecks {
			listed = append(listed, hc.ID)
		}
		if !p.IsTruncated {
			break
		}
		marker = p.NextMarker
	}
	if len(listed) != 5 {
		t.Fatalf("listed %v", listed)
	}
	for i := 1; i < len(listed); i++ {
		if listed[i-1] >= listed[i] {
			t.Fatalf("not in id order: %v", listed)
		}
	}
	_, err := e.store.ListHealthChecks(ctx, "", 1001)
	wantCode(t, err, zones.CodeInvalidInput)

	got, err := e.store.GetHealthCheck(ctx, strings.ToUpper(ids[0]))
	if err != nil || got.ID != ids[0] {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = e.store.GetHealthCheck(ctx, healthcheck.NewID())
	wantCode(t, err, zones.CodeNoSuchHealthCheck)
	_, err = e.store.GetHealthCheck(ctx, "nope")
	wantCode(t, err, zones.CodeInvalidInput)

	// Update: version grows; same config is a no-op; type is fixed;
	// version mismatch is refused.
	up, err := e.store.UpdateHealthCheck(ctx, ids[0], healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "TCP", IPAddress: "192.0.2.2", Port: 1000}, Version: 1})
	if err != nil || up.Version != 2 || up.Config.IPAddress != "192.0.2.2" || up.CallerReference != got.CallerReference || !up.CreatedAt.Equal(got.CreatedAt) {
		t.Fatalf("update: %+v %v", up, err)
	}
	same, err := e.store.UpdateHealthCheck(ctx, ids[0], healthcheck.UpdateRequest{Config: up.Config})
	if err != nil || same.Version != 2 {
		t.Fatalf("no-op update: %+v %v", same, err)
	}
	_, err = e.store.UpdateHealthCheck(ctx, ids[0], healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "HTTP", IPAddress: "192.0.2.2"}})
	wantCode(t, err, zones.CodeInvalidInput)
	_, err = e.store.UpdateHealthCheck(ctx, ids[0], healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "TCP", IPAddress: "192.0.2.3", Port: 1}, Version: 1})
	wantCode(t, err, healthcheck.CodeHealthCheckVersionMismatch)
	_, err = e.store.UpdateHealthCheck(ctx, healthcheck.NewID(), healthcheck.UpdateRequest{Config: up.Config})
	wantCode(t, err, zones.CodeNoSuchHealthCheck)

	// Routing control state: only for ROUTING_CONTROL checks.
	_, err = e.store.SetRoutingControl(ctx, ids[0], "OFF")
	wantCode(t, err, zones.CodeInvalidInput)
	rc := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	if rc.RoutingControlState != "ON" {
		t.Fatalf("new routing control %+v, want ON", rc)
	}
	off, err := e.store.SetRoutingControl(ctx, rc.ID, "off")
	if err != nil || off.RoutingControlState != "OFF" || off.Version != 1 {
		t.Fatalf("set OFF: %+v %v", off, err)
	}
	_, err = e.store.SetRoutingControl(ctx, rc.ID, "MAYBE")
	wantCode(t, err, zones.CodeInvalidInput)

	if err := e.store.DeleteHealthCheck(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.store.DeleteHealthCheck(ctx, ids[1]), zones.CodeNoSuchHealthCheck)
	_, err = e.store.GetHealthCheck(ctx, ids[1])
	wantCode(t, err, zones.CodeNoSuchHealthCheck)
}

func TestStoreCalculated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	b := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	missing := healthcheck.NewID()
	_, _, err := e.store.CreateHealthCheck(ctx, healthcheck.CreateRequest{CallerReference: "calc-bad",
		Config: zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID, missing}, HealthThreshold: 1}})
	wantCode(t, err, zones.CodeInvalidInput)
	if !strings.Contains(err.Error(), "config.childHealthChecks[1]") {
		t.Errorf("err %v does not name the child", err)
	}
	parent := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID, b.ID}, HealthThreshold: 1})
	grand := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{parent.ID}, HealthThreshold: 1})

	// A child cannot be deleted while a parent lists it.
	err = e.store.DeleteHealthCheck(ctx, a.ID)
	wantCode(t, err, zones.CodeHealthCheckInUse)
	if !strings.Contains(err.Error(), parent.ID) {
		t.Errorf("err %v does not name the parent", err)
	}
	// Cycles are refused.
	_, err = e.store.UpdateHealthCheck(ctx, parent.ID, healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID, grand.ID}}})
	wantCode(t, err, zones.CodeInvalidInput)
	_, err = e.store.UpdateHealthCheck(ctx, parent.ID, healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{parent.ID}}})
	wantCode(t, err, zones.CodeInvalidInput)
	// Dropping the child frees it.
	if _, err := e.store.UpdateHealthCheck(ctx, parent.ID, healthcheck.UpdateRequest{Config: zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{b.ID}, HealthThreshold: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteHealthCheck(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
}

func TestStoreInUseHook(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hc := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	used := "record set www.example.test. A"
	store, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: e.cli, InUse: func(_ context.Context, id string) (string, error) {
		if id == hc.ID {
			return used, nil
		}
		return "", nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = store.DeleteHealthCheck(ctx, hc.ID)
	wantCode(t, err, zones.CodeHealthCheckInUse)
	if !strings.Contains(err.Error(), used) {
		t.Errorf("err %v does not name the user", err)
	}
	used = ""
	if err := store.DeleteHealthCheck(ctx, hc.ID); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	store2, _ := healthcheck.NewStore(healthcheck.StoreOptions{Client: e.cli, InUse: func(context.Context, string) (string, error) { return "", boom }})
	hc2 := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	if err := store2.DeleteHealthCheck(ctx, hc2.ID); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the hook's", err)
	}
}

// TestStoreConcurrentCreates: many creates racing with one reference make
// one check.
func TestStoreConcurrentCreates(t *testing.T) {
	e := newEnv(t)
	req := healthcheck.CreateRequest{CallerReference: "race", Config: zones.HealthCheckConfig{Type: "TCP", IPAddress: "192.0.2.9", Port: 9}}
	ids := make(chan string, 8)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			hc, _, err := e.store.CreateHealthCheck(context.Background(), req)
			ids <- hc.ID
			errs <- err
		}()
	}
	var first string
	for i := 0; i < 8; i++ {
		id, err := <-ids, <-errs
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("two checks for one reference: %s, %s", first, id)
		}
	}
	p, err := e.store.ListHealthChecks(context.Background(), "", 0)
	if err != nil || len(p.HealthChecks) != 1 {
		t.Fatalf("list: %+v %v", p, err)
	}
}

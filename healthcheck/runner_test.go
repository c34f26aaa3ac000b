package healthcheck_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

func status(m *monitor, id string) healthcheck.Status {
	st, _ := m.Status(id)
	return st
}

// observed waits until check id has n live observations and returns them.
func observed(t *testing.T, m *monitor, id string, n int, cond func([]healthcheck.StatusObservation) bool) []healthcheck.StatusObservation {
	t.Helper()
	var obs []healthcheck.StatusObservation
	poll(t, "observations", func() bool {
		obs = status(m, id).Observations
		return len(obs) == n && (cond == nil || cond(obs))
	})
	return obs
}

// TestRunnerFlipsBothWays: an HTTP check with threshold 2 goes UNHEALTHY when
// its backend fails and HEALTHY again when it recovers; the observation
// carries Route 53-style reasons.
func TestRunnerFlipsBothWays(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	e.checker(t, "node-a", "", 0)
	be := newSwitchable(t, http.StatusOK)
	hc := e.create(t, be.cfg("HTTP", 1, 2))
	if !mon.Healthy(hc.ID) || status(mon, hc.ID).Status != healthcheck.Healthy {
		t.Fatal("a new check is not HEALTHY")
	}
	obs := observed(t, mon, hc.ID, 1, nil)
	if o := obs[0]; o.Checker != "node-a" || o.Region != "region-node-a" || !o.Healthy ||
		o.Status != "Success: HTTP Status Code 200, OK" || time.Since(o.CheckedAt) > time.Minute {
		t.Fatalf("observation %+v", o)
	}
	be.code.Store(http.StatusServiceUnavailable)
	poll(t, "UNHEALTHY", func() bool { return !mon.Healthy(hc.ID) })
	if hits := be.hits.Load(); hits < 3 { // 1 success, then threshold (2) failures at least
		t.Errorf("flipped after %d probes, want at least 3", hits)
	}
	st := status(mon, hc.ID)
	if st.Status != healthcheck.Unhealthy || st.Observations[0].Status != "Failure: HTTP Status Code 503, Service Unavailable" {
		t.Fatalf("status %+v", st)
	}
	be.code.Store(http.StatusOK)
	poll(t, "HEALTHY again", func() bool { return mon.Healthy(hc.ID) })
	if mon.changes.Load() < 3 { // first sync, down, up
		t.Errorf("OnChange called %d times, want at least 3", mon.changes.Load())
	}
}

// TestRunnerHangingBackend: a backend that accepts and never answers fails
// like one that refuses, within the 1 s interval.
func TestRunnerHangingBackend(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	e.checker(t, "node-a", "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	})
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	hang := e.create(t, hostPort("HTTP", l.Addr().String(), 1, 1))
	refuse := e.create(t, hostPort("HTTP", refusedAddr, 1, 1))
	for _, c := range []struct{ id, reason string }{
		{hang.ID, "Failure: Response timed out"}, {refuse.ID, "Failure: Connection refused"},
	} {
		observed(t, mon, c.id, 1, func(o []healthcheck.StatusObservation) bool { return !o[0].Healthy })
		if !strings.HasPrefix(status(mon, c.id).Observations[0].Status, c.reason) || mon.Healthy(c.id) {
			t.Errorf("status %+v, want UNHEALTHY with %q", status(mon, c.id), c.reason)
		}
	}
}

// TestRunnerInvertedDisabledTCP: inverted flips the checker's verdict;
// disabled checks are HEALTHY and not probed; TCP checks connect.
func TestRunnerInvertedDisabledTCP(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	e.checker(t, "node-a", "", 0)
	be := newSwitchable(t, http.StatusOK)
	inv := be.cfg("HTTP", 1, 1)
	inv.Inverted = true
	inverted := e.create(t, inv)
	tcp := e.create(t, hostPort("TCP", be.Listener.Addr().String(), 1, 1))
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	dis := hostPort("HTTP", deadAddr, 1, 1)
	dis.Disabled = true
	disabled := e.create(t, dis)
	deadTCP := e.create(t, hostPort("TCP", deadAddr, 1, 1))

	observed(t, mon, inverted.ID, 1, func(o []healthcheck.StatusObservation) bool { return !o[0].Healthy })
	if mon.Healthy(inverted.ID) {
		t.Error("inverted check of a healthy backend is HEALTHY")
	}
	observed(t, mon, tcp.ID, 1, func(o []healthcheck.StatusObservation) bool { return o[0].Healthy })
	observed(t, mon, deadTCP.ID, 1, func(o []healthcheck.StatusObservation) bool { return !o[0].Healthy })
	if !mon.Healthy(tcp.ID) || mon.Healthy(deadTCP.ID) {
		t.Error("TCP checks: want the live port HEALTHY and the closed one UNHEALTHY")
	}
	if !mon.Healthy(disabled.ID) || len(status(mon, disabled.ID).Observations) != 0 {
		t.Errorf("disabled check: %+v", status(mon, disabled.ID))
	}
	// Disabling a probed check drops its observation; it stays HEALTHY.
	dis2 := hostPort("TCP", deadAddr, 1, 1)
	dis2.Disabled = true
	if _, err := e.store.UpdateHealthCheck(context.Background(), deadTCP.ID, healthcheck.UpdateRequest{Config: dis2}); err != nil {
		t.Fatal(err)
	}
	observed(t, mon, deadTCP.ID, 0, nil)
	poll(t, "disabled check HEALTHY", func() bool { return mon.Healthy(deadTCP.ID) })
}

// TestRoutingControlAndCalculated: routing controls flip only by the API;
// CALCULATED follows healthThreshold of its children, recursively.
func TestRoutingControlAndCalculated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	a := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	b := e.create(t, zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	both := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID, b.ID}, HealthThreshold: 2})
	any := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID, b.ID}, HealthThreshold: 1})
	top := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{both.ID}, HealthThreshold: 1, Inverted: true})
	zero := e.create(t, zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{a.ID}})

	want := func(what string, m map[string]bool) {
		t.Helper()
		poll(t, what, func() bool {
			for id, h := range m {
				if mon.Healthy(id) != h {
					return false
				}
			}
			return true
		})
	}
	want("all ON", map[string]bool{a.ID: true, b.ID: true, both.ID: true, any.ID: true, top.ID: false, zero.ID: true})
	if _, err := e.store.SetRoutingControl(ctx, a.ID, "OFF"); err != nil {
		t.Fatal(err)
	}
	want("a OFF", map[string]bool{a.ID: false, b.ID: true, both.ID: false, any.ID: true, top.ID: true, zero.ID: true})
	if _, err := e.store.SetRoutingControl(ctx, b.ID, "OFF"); err != nil {
		t.Fatal(err)
	}
	want("both OFF", map[string]bool{a.ID: false, b.ID: false, both.ID: false, any.ID: false, top.ID: true})
	if _, err := e.store.SetRoutingControl(ctx, a.ID, "ON"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetRoutingControl(ctx, b.ID, "ON"); err != nil {
		t.Fatal(err)
	}
	want("ON again", map[string]bool{a.ID: true, b.ID: true, both.ID: true, any.ID: true, top.ID: false})
	if st := status(mon, a.ID); st.Status != healthcheck.Healthy || len(st.Observations) != 0 {
		t.Errorf("routing control status %+v", st)
	}
	// An unknown id is healthy.
	if !mon.Healthy(healthcheck.NewID()) {
		t.Error("unknown id is not healthy")
	}
}

// TestQuorum: three checkers in one process, from 127.0.0.11, .12 and .13;
// the backend answers 200 only to .12. One healthy observation of three is
// more than 0.18 but not more than 0.5.
func TestQuorum(t *testing.T) {
	e := newEnv(t)
	low := e.monitor(t, healthcheck.DefaultQuorum)
	high := e.monitor(t, 0.5)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, _ := net.SplitHostPort(r.RemoteAddr); host != "127.0.0.12" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	for i, src := range []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"} {
		e.checker(t, "node-"+string(rune('a'+i)), src, 0)
	}
	hc := e.create(t, hostPort("HTTP", srv.Listener.Addr().String(), 1, 1))
	onlyOne := func(o []healthcheck.StatusObservation) bool {
		n := 0
		for _, x := range o {
			if x.Healthy {
				n++
			}
		}
		return n == 1
	}
	obs := observed(t, low, hc.ID, 3, onlyOne)
	observed(t, high, hc.ID, 3, onlyOne)
	for _, o := range obs {
		if o.Healthy != (o.Checker == "node-b") {
			t.Errorf("observation %+v", o)
		}
	}
	if !low.Healthy(hc.ID) || status(low, hc.ID).Status != healthcheck.Healthy {
		t.Error("quorum 0.18: want HEALTHY")
	}
	if high.Healthy(hc.ID) || status(high, hc.ID).Status != healthcheck.Unhealthy {
		t.Error("quorum 0.5: want UNHEALTHY")
	}
}

// TestCheckerDeath: a checker that dies (its etcd connection cut, so its
// lease expires) loses its observations; the status it produced stays. A
// checker whose lease is revoked while alive takes a new one and publishes
// again.
func TestCheckerDeath(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	hc := e.create(t, hostPort("TCP", deadAddr, 1, 1))

	live, _ := e.checker(t, "survivor", "", 0)
	observed(t, mon, hc.ID, 1, nil)
	// Revoke the survivor's lease: its observation vanishes, then comes
	// back under a new lease.
	first := live.LeaseID()
	if _, err := e.cli.Revoke(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	poll(t, "a new lease and the observation under it", func() bool {
		l := live.LeaseID()
		if l == 0 || l == first {
			return false
		}
		resp, err := e.cli.Get(context.Background(), healthcheck.ObsPrefix+hc.ID+"/survivor")
		return err == nil && len(resp.Kvs) == 1 && clientv3.LeaseID(resp.Kvs[0].Lease) == l
	})
	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := live.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	observed(t, mon, hc.ID, 0, nil) // a clean stop revokes at once

	doomed, cli := e.checker(t, "doomed", "", 2*time.Second)
	observed(t, mon, hc.ID, 1, func(o []healthcheck.StatusObservation) bool { return o[0].Checker == "doomed" && !o[0].Healthy })
	poll(t, "UNHEALTHY", func() bool { return !mon.Healthy(hc.ID) })
	cli.Close() // the process is gone: no keepalive, no revoke
	observed(t, mon, hc.ID, 0, nil)
	if mon.Healthy(hc.ID) || status(mon, hc.ID).Status != healthcheck.Unhealthy {
		t.Error("the status changed when the last observation expired")
	}
	_ = doomed
}

// TestCheckerFollowsChecks: updates restart a check's probes with the new
// config; deletes stop them and remove the observation.
func TestCheckerFollowsChecks(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	e.checker(t, "node-a", "", 0)
	up := newSwitchable(t, http.StatusOK)
	down := newSwitchable(t, http.StatusServiceUnavailable)
	hc := e.create(t, down.cfg("HTTP", 1, 1))
	poll(t, "UNHEALTHY", func() bool { return !mon.Healthy(hc.ID) })
	if _, err := e.store.UpdateHealthCheck(context.Background(), hc.ID, healthcheck.UpdateRequest{Config: up.cfg("HTTP", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	poll(t, "HEALTHY after the update", func() bool { return mon.Healthy(hc.ID) })
	if err := e.store.DeleteHealthCheck(context.Background(), hc.ID); err != nil {
		t.Fatal(err)
	}
	poll(t, "the observation to go", func() bool {
		resp, err := e.cli.Get(context.Background(), healthcheck.ObsPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == 0
	})
	poll(t, "the monitor to forget the check", func() bool { _, ok := mon.Status(hc.ID); return !ok })
}

// TestObservationsWrittenOnChange: a steady check is written once, not once
// per probe.
func TestObservationsWrittenOnChange(t *testing.T) {
	e := newEnv(t)
	mon := e.monitor(t, healthcheck.DefaultQuorum)
	e.checker(t, "node-a", "", 0)
	be := newSwitchable(t, http.StatusOK)
	hc := e.create(t, be.cfg("HTTP", 1, 1))
	observed(t, mon, hc.ID, 1, nil)
	key := healthcheck.ObsPrefix + hc.ID + "/node-a"
	resp, err := e.cli.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v", key, err)
	}
	version := resp.Kvs[0].Version
	probes := be.hits.Load()
	poll(t, "three more probes", func() bool { return be.hits.Load() >= probes+3 })
	resp, err = e.cli.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v", key, err)
	}
	if resp.Kvs[0].Version != version {
		t.Errorf("observation rewritten %d times by steady probes", resp.Kvs[0].Version-version)
	}
	var o healthcheck.Observation
	if err := json.Unmarshal(resp.Kvs[0].Value, &o); err != nil || o.Checker != "node-a" || !o.Healthy {
		t.Errorf("stored observation %s: %v", resp.Kvs[0].Value, err)
	}
}

// TestMetricsLint: the package's metrics pass promlint and are registered
// only on the given registry.
func TestMetricsLint(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewPedanticRegistry()
	mon, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: e.cli, Quorum: 0.18, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	c, err := healthcheck.NewChecker(healthcheck.CheckerOptions{Client: e.cluster.Client(t), NodeID: "lint", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: e.cli, Registerer: reg}); err == nil {
		t.Error("a second Monitor on one registry was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mon.Run(ctx) }()
	c.Start(ctx)
	t.Cleanup(func() { cancel(); <-done; c.Stop(context.Background()) })
	be := newSwitchable(t, http.StatusOK)
	hc := e.create(t, be.cfg("HTTP", 1, 1))
	poll(t, "metrics", func() bool {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
		st, _ := mon.Status(hc.ID)
		return len(st.Observations) == 1 && names["healthdns_healthcheck_status"] && names["healthdns_healthcheck_observations"] &&
			names["healthdns_healthcheck_probe_duration_seconds"] && names["healthdns_healthcheck_observation_writes_total"]
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestNewCheckerOptions(t *testing.T) {
	cli := &clientv3.Client{} // not dialled: NewChecker only keeps it
	for _, o := range []healthcheck.CheckerOptions{
		{NodeID: "a"},
		{Client: cli},
		{Client: cli, NodeID: "a/b"},
		{Client: cli, NodeID: "a", SourceAddr: "not-an-ip"},
		{Client: cli, NodeID: "a", SourceAddr: "192.0.2.77"}, // not this host's
		{Client: cli, NodeID: "a", LeaseTTL: time.Second},
	} {
		if _, err := healthcheck.NewChecker(o); err == nil {
			t.Errorf("NewChecker(%+v): no error", o)
		}
	}
	if _, err := healthcheck.NewChecker(healthcheck.CheckerOptions{Client: cli, NodeID: "a", SourceAddr: "127.0.0.13"}); err != nil {
		t.Error(err)
	}
	for _, q := range []float64{-0.1, 1, 2} {
		if _, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: q}); err == nil {
			t.Errorf("quorum %g accepted", q)
		}
	}
}

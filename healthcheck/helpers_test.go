package healthcheck_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
)

// env is one embedded etcd with a Store on it.
type env struct {
	cluster *etcdtest.Cluster
	cli     *clientv3.Client
	store   *healthcheck.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	cluster, cli := etcdtest.Start(t)
	store, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	return &env{cluster: cluster, cli: cli, store: store}
}

// poll waits for cond, failing the test after a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// monitor runs a Monitor until the test ends; changes counts OnChange calls.
type monitor struct {
	*healthcheck.Monitor
	changes atomic.Int64
}

func (e *env) monitor(t *testing.T, quorum float64) *monitor {
	t.Helper()
	m := &monitor{}
	mon, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: e.cli, Quorum: quorum, OnChange: func() { m.changes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	m.Monitor = mon
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mon.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	poll(t, "the monitor's first sync", mon.Synced)
	return m
}

// checker starts a Checker with its own etcd client (so a test can cut it
// off like a dead process) and stops it when the test ends.
func (e *env) checker(t *testing.T, node, src string, ttl time.Duration) (*healthcheck.Checker, *clientv3.Client) {
	t.Helper()
	cli := e.cluster.Client(t)
	c, err := healthcheck.NewChecker(healthcheck.CheckerOptions{
		Client: cli, NodeID: node, Region: "region-" + node, SourceAddr: src, LeaseTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("checker %s did not stop: %v", node, err)
		}
	})
	return c, cli
}

func (e *env) create(t *testing.T, cfg zones.HealthCheckConfig) healthcheck.HealthCheck {
	t.Helper()
	hc, created, err := e.store.CreateHealthCheck(context.Background(), healthcheck.CreateRequest{CallerReference: healthcheck.NewID(), Config: cfg})
	if err != nil || !created {
		t.Fatalf("create %+v: %v (created %v)", cfg, err, created)
	}
	return hc
}

// switchable is an HTTP backend whose status code a test sets.
type switchable struct {
	*httptest.Server
	code atomic.Int64
	hits atomic.Int64
}

func newSwitchable(t *testing.T, code int) *switchable {
	t.Helper()
	s := &switchable{}
	s.code.Store(int64(code))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.WriteHeader(int(s.code.Load()))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *switchable) cfg(typ string, interval, threshold int) zones.HealthCheckConfig {
	return hostPort(typ, s.Listener.Addr().String(), interval, threshold)
}

func hostPort(typ, addr string, interval, threshold int) zones.HealthCheckConfig {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return zones.HealthCheckConfig{Type: typ, IPAddress: host, Port: p, RequestInterval: interval, FailureThreshold: threshold}
}

// syncBuf collects strings across goroutines.
type syncBuf struct {
	mu sync.Mutex
	s  []string
}

func (b *syncBuf) add(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s = append(b.s, s)
}

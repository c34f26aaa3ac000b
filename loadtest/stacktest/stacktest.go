// Package stacktest starts, for tests of package loadtest and cmd/dnsload, a
// real healthdns cluster in-process: an embedded etcd in t.TempDir(), the
// REST API over the etcd store on an httptest server, and DNS nodes, each
// with its own Mirror, Syncer, Table and responder on 127.0.0.1:0 and its
// own registration for INSYNC, as separate healthdns processes would have.
// Health checking runs as in healthdns: a Monitor per DNS node answers its
// Table's health questions, one Checker probes the endpoint checks, and the
// API serves /v1/healthchecks, so a drill can take a backend down and watch
// the nodes flip. Everything stops in t.Cleanup.
package stacktest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/api"
	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// Stack is a running cluster.
type Stack struct {
	APIURL string   // base URL of the REST API
	DNS    []string // host:port of each DNS node, UDP and TCP
}

// Start starts etcd, the API and nodes DNS nodes. It skips the test in
// -short mode.
func Start(t *testing.T, nodes int) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	goRun := func(run func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}

	st := &Stack{}
	var apiMirror *etcdstore.Mirror
	var apiMonitor *healthcheck.Monitor
	for i := 0; i < nodes; i++ {
		mirror := etcdstore.NewMirror()
		table := dnsserver.NewTable()
		monitor := newMonitor(t, cli)
		table.SetHealth(monitor)
		goRun(monitor.Run)
		node := etcdstore.NewNode(etcdstore.NodeOptions{Client: cli, NodeID: "dns-" + string(rune('a'+i))})
		syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{
			Client: cli, Mirror: mirror,
			OnDelta:    func(rev int64, d []zones.ZoneDelta) { table.Apply(d) },
			OnRevision: node.Serving,
		})
		goRun(syncer.Run)
		goRun(node.Run)
		srv, err := dnsserver.New(dnsserver.Options{Addr: "127.0.0.1:0", Table: table})
		if err != nil {
			t.Fatalf("stacktest: dns node %d: %v", i, err)
		}
		if err := srv.Start(); err != nil {
			t.Fatalf("stacktest: dns node %d: %v", i, err)
		}
		t.Cleanup(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
		})
		st.DNS = append(st.DNS, srv.Addr())
		if apiMirror == nil {
			apiMirror, apiMonitor = mirror, monitor
		}
		poll(t, "a DNS node's mirror to sync", mirror.Synced)
		poll(t, "a DNS node's health monitor to sync", monitor.Synced)
	}
	if apiMirror == nil {
		apiMirror, apiMonitor = etcdstore.NewMirror(), newMonitor(t, cli)
		goRun(etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: apiMirror}).Run)
		goRun(apiMonitor.Run)
		poll(t, "the API's mirror to sync", apiMirror.Synced)
		poll(t, "the API's health monitor to sync", apiMonitor.Synced)
	}
	checker, err := healthcheck.NewChecker(healthcheck.CheckerOptions{Client: cli, NodeID: "checker-a"})
	if err != nil {
		t.Fatalf("stacktest: checker: %v", err)
	}
	goRun(checker.Run)

	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: apiMirror,
		NameServers: []string{"ns1.example.net", "ns2.example.net"}})
	hcStore, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli, InUse: store.CheckUsers})
	if err != nil {
		t.Fatalf("stacktest: health check store: %v", err)
	}
	hcService, err := healthcheck.NewService(hcStore, apiMonitor)
	if err != nil {
		t.Fatalf("stacktest: health check service: %v", err)
	}
	a, err := api.New(api.Options{Store: store, Ready: apiMirror.Synced, HealthChecks: hcService})
	if err != nil {
		t.Fatalf("stacktest: api: %v", err)
	}
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(hs.Close)
	st.APIURL = hs.URL
	return st
}

// newMonitor returns a health Monitor with Route 53's quorum, as healthdns
// runs one per process.
func newMonitor(t *testing.T, cli *clientv3.Client) *healthcheck.Monitor {
	t.Helper()
	m, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: healthcheck.DefaultQuorum})
	if err != nil {
		t.Fatalf("stacktest: health monitor: %v", err)
	}
	return m
}

// poll waits for cond, failing the test after a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("stacktest: timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

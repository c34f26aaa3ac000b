package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
)

// backend is a local HTTP server that can be stopped and started again on
// the same port.
type backend struct {
	addr string
	srv  *http.Server
}

func startBackend(t *testing.T, addr string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: ln.Addr().String(), srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})}}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *backend) port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(b.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func firstA(r *dns.Msg) string {
	if r == nil || len(r.Answer) == 0 {
		return ""
	}
	if a, ok := r.Answer[0].(*dns.A); ok {
		return a.A.String()
	}
	return ""
}

// TestE2EFailoverDrill: a failover pair on two local HTTP backends, 1 s
// interval and threshold 2, served by two nodes on one etcd. Stopping the
// primary's backend moves every node to the secondary; starting it again
// moves them back; a routing control does the same on demand.
func TestE2EFailoverDrill(t *testing.T) {
	etcdURL, peerURL := "http://"+etcdtest.FreeAddr(t), "http://"+etcdtest.FreeAddr(t)
	n1 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--embedded-etcd-client-url", etcdURL, "--embedded-etcd-peer-url", peerURL)
	n2 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--etcd-endpoints", etcdURL, "--roles", "dns,api")
	nodes := []*proc{n1, n2}
	ctx := context.Background()
	c := client.New(n1.api, "", nil)

	primary := startBackend(t, "127.0.0.1:0")
	secondary := startBackend(t, "127.0.0.1:0")
	hc := func(b *backend) string {
		h, err := c.CreateHealthCheck(ctx, "drill-"+b.addr, zones.HealthCheckConfig{Type: "HTTP", IPAddress: "127.0.0.1", Port: b.port(t),
			ResourcePath: "/health", RequestInterval: 1, FailureThreshold: 2})
		if err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	hcPrimary, hcSecondary := hc(primary), hc(secondary)
	rc, err := c.CreateHealthCheck(ctx, "drill-rc", zones.HealthCheckConfig{Type: "ROUTING_CONTROL"})
	if err != nil {
		t.Fatal(err)
	}
	z, _, err := c.CreateZone(ctx, zones.CreateZoneRequest{Name: "drill.test"})
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(1)
	set := func(name, role, ip, check string) zones.Change {
		return zones.Change{Action: zones.ActionCreate, RecordSet: zones.RecordSet{Name: name, Type: "A", TTL: &ttl,
			Values: []string{ip}, SetIdentifier: role, Failover: role, HealthCheckID: check}}
	}
	ci, err := c.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{
		set("www.drill.test", "PRIMARY", "192.0.2.1", hcPrimary),
		set("www.drill.test", "SECONDARY", "192.0.2.2", hcSecondary),
		set("rc.drill.test", "PRIMARY", "192.0.2.11", rc.ID),
		set("rc.drill.test", "SECONDARY", "192.0.2.12", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitChange(ctx, ci.ID, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// until waits for every node to answer name with want and returns how
	// long that took.
	until := func(name, want string) time.Duration {
		t.Helper()
		start := time.Now()
		for _, n := range nodes {
			waitFor(t, 20*time.Second, name+" -> "+want+" on "+n.dnsAddr, func() bool {
				return firstA(query(t, n.dnsAddr, name, dns.TypeA)) == want
			})
		}
		return time.Since(start)
	}
	until("www.drill.test.", "192.0.2.1")
	// Wait until the checker has observed the primary healthy, so the drill
	// starts from a steady state.
	waitFor(t, 20*time.Second, "primary observed", func() bool {
		st, err := c.HealthCheckStatus(ctx, hcPrimary)
		return err == nil && len(st.Observations) > 0 && st.Status == "HEALTHY"
	})

	primary.srv.Close() // the backend dies
	flip := until("www.drill.test.", "192.0.2.2")
	t.Logf("primary down -> secondary on every node: %v (bound for 1 s interval, threshold 2: 3 s)", flip)
	if st, err := c.HealthCheckStatus(ctx, hcPrimary); err != nil || st.Status != "UNHEALTHY" {
		t.Fatalf("primary check after the flip: %+v %v", st, err)
	}
	primary = startBackend(t, primary.addr) // it comes back on the same port
	back := until("www.drill.test.", "192.0.2.1")
	t.Logf("primary back -> primary on every node: %v", back)

	// A routing control turned OFF moves traffic without touching a backend.
	until("rc.drill.test.", "192.0.2.11")
	if _, err := c.SetRoutingControl(ctx, rc.ID, "OFF"); err != nil {
		t.Fatal(err)
	}
	t.Logf("routing control OFF -> secondary: %v", until("rc.drill.test.", "192.0.2.12"))
	if _, err := c.SetRoutingControl(ctx, rc.ID, "ON"); err != nil {
		t.Fatal(err)
	}
	t.Logf("routing control ON -> primary: %v", until("rc.drill.test.", "192.0.2.11"))
}

// TestE2EDnsloadDrill runs `dnsload drill` against a node as a user would
// and checks its JSON report.
func TestE2EDnsloadDrill(t *testing.T) {
	n := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--embedded-etcd-client-url", "http://"+etcdtest.FreeAddr(t), "--embedded-etcd-peer-url", "http://"+etcdtest.FreeAddr(t))
	dnsload := filepath.Join(filepath.Dir(binary(t)), "dnsload")
	if out, err := exec.Command("go", "build", "-o", dnsload, "../dnsload").CombinedOutput(); err != nil {
		t.Fatalf("build dnsload: %v\n%s", err, out)
	}
	out, err := exec.Command(dnsload, "drill", "--api", n.api, "--dns", n.dnsAddr, "--interval", "1", "--threshold", "2", "--json").Output()
	if err != nil {
		t.Fatalf("dnsload drill: %v\n%s", err, out)
	}
	var r struct {
		DetectionSeconds float64            `json:"detectionSeconds"`
		FlipSeconds      map[string]float64 `json:"flipSeconds"`
		FailbackSeconds  map[string]float64 `json:"failbackSeconds"`
		Queries          int                `json:"queries"`
		Servfail         int                `json:"servfail"`
		WrongAnswers     int                `json:"wrongAnswers"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("drill: %s", out)
	if r.Queries == 0 || r.Servfail != 0 || r.WrongAnswers != 0 || r.DetectionSeconds <= 0 ||
		r.FlipSeconds[n.dnsAddr] <= 0 || r.FailbackSeconds[n.dnsAddr] <= 0 {
		t.Fatalf("drill report: %+v", r)
	}
	// The drill cleans up after itself.
	zs, err := client.New(n.api, "", nil).AllZones(context.Background())
	if err != nil || len(zs) != 0 {
		t.Fatalf("zones left behind: %v %v", zs, err)
	}
}

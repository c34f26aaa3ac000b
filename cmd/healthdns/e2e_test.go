package main

// End-to-end tests: the real binary, run as separate processes the way a user
// runs it, with an embedded etcd, queried with a real DNS client.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/healthdns once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary; not in -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "healthdns-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "healthdns")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type proc struct {
	cmd     *exec.Cmd
	dnsAddr string
	api     string
	out     *bytes.Buffer
	done    chan struct{}
}

// startServe runs `healthdns serve` with args plus fresh loopback addresses,
// and waits until /readyz answers 200.
func startServe(t *testing.T, dnsAddr, apiAddr string, args ...string) *proc {
	t.Helper()
	p := &proc{dnsAddr: dnsAddr, api: "http://" + apiAddr, out: &bytes.Buffer{}, done: make(chan struct{})}
	all := append([]string{"serve", "--dns-addr", dnsAddr, "--api-addr", apiAddr, "--shutdown-delay", "0s"}, args...)
	p.cmd = exec.Command(binary(t), all...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("serve %v output:\n%s", all, p.out.String())
		}
	})
	waitFor(t, 60*time.Second, "serve to be ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("serve exited: %s", p.out.String())
		default:
		}
		resp, err := http.Get(p.api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func query(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return nil
	}
	return r
}

func answers(r *dns.Msg) string {
	if r == nil {
		return "<no reply>"
	}
	var s []string
	for _, rr := range r.Answer {
		s = append(s, rr.String())
	}
	return fmt.Sprintf("%s aa=%v %s", dns.RcodeToString[r.Rcode], r.Authoritative, strings.Join(s, " | "))
}

const e2eZone = `$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 2024 7200 900 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.1
`

func TestE2ETwoNodesOneEtcd(t *testing.T) {
	etcdURL, peerURL := "http://"+etcdtest.FreeAddr(t), "http://"+etcdtest.FreeAddr(t)
	n1 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--embedded-etcd-client-url", etcdURL, "--embedded-etcd-peer-url", peerURL, "--node-ttl", "2s")
	n2 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--etcd-endpoints", etcdURL, "--node-ttl", "2s")
	ctx := context.Background()
	c1, c2 := client.New(n1.api, "", nil), client.New(n2.api, "", nil)
	z, _, err := c1.CreateZone(ctx, zones.CreateZoneRequest{Name: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c1.ImportZoneFile(ctx, z.ID, strings.NewReader(e2eZone))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*proc{n1, n2} {
		waitFor(t, 5*time.Second, "www on "+n.dnsAddr, func() bool {
			r := query(t, n.dnsAddr, "www.example.test.", dns.TypeA)
			return r != nil && r.Authoritative && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == "192.0.2.1"
		})
	}
	if _, err := c2.WaitChange(ctx, ci.ID, 20*time.Millisecond); err != nil {
		t.Fatalf("import never INSYNC: %v", err)
	}
	// A change through the second node is answered by both.
	ttl := int64(60)
	ci, err = c2.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionUpsert,
		RecordSet: zones.RecordSet{Name: "new.example.test", Type: "AAAA", TTL: &ttl, Values: []string{"2001:db8::1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*proc{n1, n2} {
		waitFor(t, 5*time.Second, "new AAAA on "+n.dnsAddr, func() bool {
			r := query(t, n.dnsAddr, "new.example.test.", dns.TypeAAAA)
			return r != nil && len(r.Answer) == 1
		})
	}
	if a, b := answers(query(t, n1.dnsAddr, "www.example.test.", dns.TypeA)), answers(query(t, n2.dnsAddr, "www.example.test.", dns.TypeA)); a != b {
		t.Fatalf("nodes differ: %s vs %s", a, b)
	}
	if _, err := c1.WaitChange(ctx, ci.ID, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Every write is in the audit log, whichever node took it.
	out, err := exec.Command(binary(t), "audit", "--api", n1.api, "--since", "1h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/rrsets") || !strings.Contains(string(out), "/zonefile") || !strings.Contains(string(out), ci.ID) {
		t.Fatalf("healthdns audit: %v\n%s", err, out)
	}
	// Node 2 dies uncleanly: a change stays PENDING until its lease (2s) expires.
	n2.cmd.Process.Signal(syscall.SIGSTOP) // frozen: its lease is not renewed, nothing revoked
	defer n2.cmd.Process.Signal(syscall.SIGCONT)
	ci, err = c1.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionUpsert,
		RecordSet: zones.RecordSet{Name: "later.example.test", Type: "A", TTL: &ttl, Values: []string{"192.0.2.77"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c1.GetChange(ctx, ci.ID); err != nil || got.Status != zones.StatusPending {
		t.Fatalf("with a frozen node the change must be PENDING: %+v %v", got, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := c1.WaitChange(wctx, ci.ID, 50*time.Millisecond); err != nil {
		t.Fatalf("change not INSYNC after the frozen node's lease expired: %v", err)
	}
}

func TestE2ERestartServesSameData(t *testing.T) {
	dir := t.TempDir()
	etcdURL, peerURL := "http://"+etcdtest.FreeAddr(t), "http://"+etcdtest.FreeAddr(t)
	dnsAddr, apiAddr := etcdtest.FreeAddr(t), etcdtest.FreeAddr(t)
	args := []string{"--data-dir", dir, "--embedded-etcd-client-url", etcdURL, "--embedded-etcd-peer-url", peerURL}
	n := startServe(t, dnsAddr, apiAddr, args...)
	ctx := context.Background()
	c := client.New(n.api, "", nil)
	z, _, err := c.CreateZone(ctx, zones.CreateZoneRequest{Name: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportZoneFile(ctx, z.ID, strings.NewReader(e2eZone)); err != nil {
		t.Fatal(err)
	}
	var before string
	waitFor(t, 5*time.Second, "www", func() bool {
		before = answers(query(t, dnsAddr, "www.example.test.", dns.TypeA))
		return strings.Contains(before, "192.0.2.1")
	})
	if code := n.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
	n = startServe(t, dnsAddr, apiAddr, args...)
	if after := answers(query(t, dnsAddr, "www.example.test.", dns.TypeA)); after != before {
		t.Fatalf("after restart %q, before %q", after, before)
	}
	if r := query(t, dnsAddr, "www.example.org.", dns.TypeA); r == nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("foreign zone: %s", answers(r))
	}
}

// TestE2EDNSOnlyNode: a node with --roles dns serves /readyz and /metrics
// (not the API) on --api-addr, and writes its query log.
func TestE2EDNSOnlyNode(t *testing.T) {
	etcdURL, peerURL := "http://"+etcdtest.FreeAddr(t), "http://"+etcdtest.FreeAddr(t)
	n1 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(),
		"--embedded-etcd-client-url", etcdURL, "--embedded-etcd-peer-url", peerURL)
	qlog := filepath.Join(t.TempDir(), "queries.jsonl")
	n2 := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(), "--roles", "dns",
		"--etcd-endpoints", etcdURL, "--query-log", qlog, "--rrl-rate", "1000")
	ctx := context.Background()
	c1 := client.New(n1.api, "", nil)
	z, _, err := c1.CreateZone(ctx, zones.CreateZoneRequest{Name: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.ImportZoneFile(ctx, z.ID, strings.NewReader(e2eZone)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "www on the DNS-only node", func() bool {
		r := query(t, n2.dnsAddr, "www.example.test.", dns.TypeA)
		return r != nil && len(r.Answer) == 1
	})
	query(t, n2.dnsAddr, "missing.example.test.", dns.TypeAAAA)
	resp, err := http.Get(n2.api + "/v1/zones")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /v1/zones on a DNS-only node: %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get(n2.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"healthdns_dns_queries_total{", "healthdns_dns_response_duration_seconds_bucket{", "healthdns_querylog_lines_total", "healthdns_dns_rrl_limited_total{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics of the DNS-only node lacks %s", want)
		}
	}
	// Lines come in batches per UDP loop, not in time order: look for the
	// NXDOMAIN query's line.
	var last map[string]string
	waitFor(t, 5*time.Second, "the query log", func() bool {
		b, _ := os.ReadFile(qlog)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]string
			if json.Unmarshal([]byte(l), &m) == nil && m["qname"] == "missing.example.test." {
				last = m
				return true
			}
		}
		return false
	})
	if last["zone_id"] != z.ID || last["zone"] != "example.test." || last["rcode"] != "NXDOMAIN" || last["qtype"] != "AAAA" ||
		last["transport"] != "udp" || last["resolver"] != "127.0.0.1" || last["node"] == "" {
		t.Errorf("query log line %v", last)
	}
}

func TestE2EBadConfigExitsTwo(t *testing.T) {
	bin := binary(t)
	cases := map[string][]string{
		"is not a loopback address":     {"serve", "--api-addr", "0.0.0.0:0", "--data-dir", t.TempDir()},
		"--roles":                       {"serve", "--roles", "dns,bogus", "--data-dir", t.TempDir()},
		"--api-token-file":              {"serve", "--api-token-file", filepath.Join(t.TempDir(), "missing"), "--data-dir", t.TempDir()},
		"flag provided but not defined": {"serve", "--no-such-flag"},
		"--rrl-rate -1":                 {"serve", "--rrl-rate", "-1", "--data-dir", t.TempDir()},
		"--dns-tcp-max-conns 0":         {"serve", "--dns-tcp-max-conns", "0", "--data-dir", t.TempDir()},
		"--memory-limit":                {"serve", "--memory-limit", "lots", "--data-dir", t.TempDir()},
	}
	for want, args := range cases {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("%v: exit %v, want 2 (%v)\n%s", args, cmd.ProcessState, err, out)
			continue
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%v: output %q lacks %q", args, out, want)
		}
	}
}

func TestE2ETokens(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("# operators\ns3cret alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startServe(t, etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), "--data-dir", t.TempDir(), "--api-token-file", tokens,
		"--embedded-etcd-client-url", "http://"+etcdtest.FreeAddr(t), "--embedded-etcd-peer-url", "http://"+etcdtest.FreeAddr(t))
	for token, want := range map[string]int{"": 401, "wrong": 401, "s3cret": 200} {
		req, _ := http.NewRequest("GET", n.api+"/v1/zones", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
	// Everything /metrics exposes is healthdns_* and passes promlint.
	query(t, n.dnsAddr, "www.example.test.", dns.TypeA)
	resp, err := http.Get(n.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %+v", err, problems)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "healthdns_") {
			t.Fatalf("metric outside healthdns_*: %s", line)
		}
	}
	for _, want := range []string{"healthdns_dns_queries_total", "healthdns_sync_revision", "healthdns_api_requests_total", "healthdns_sync_state"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, open := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get(n.api + open)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s without a token: %d", open, resp.StatusCode)
		}
	}
}

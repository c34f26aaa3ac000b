package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/loadtest"
	"github.com/healthdns/healthdns/loadtest/stacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dnsload runs one invocation and returns its exit code, stdout and stderr.
func dnsload(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	qf := filepath.Join(t.TempDir(), "q.txt")
	if err := os.WriteFile(qf, []byte("a.test A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"drill", "--api", "http://127.0.0.1:8053"}, "--dns is required"},
		{[]string{"drill"}, "--api"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--interval", "0"}, "--interval must be 1-30"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--rate", "1e10"}, "--rate 1e+10: want 1 to 100000"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--rate", "NaN"}, "--rate NaN"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--backends", "http://127.0.0.1:8081/,http://127.0.0.1:8082/"},
			"backends need the routing-control trigger"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--trigger", "backend", "--backends", "http://127.0.0.1:8081/,http://127.0.0.1:8082/"},
			"backends need the routing-control trigger"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--trigger", "routing-control", "--backends", "http://127.0.0.1:8081/"},
			"drill backends: 1 given, want two"},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--trigger", "routing-control", "--backends", "http://127.0.0.1:8081/,127.0.0.1:8082"},
			`backend "127.0.0.1:8082": not a URL`},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--trigger", "kill"}, `trigger "kill": want backend or routing-control`},
		{[]string{"drill", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:5300", "--record", "latency"}, `record "latency": want failover or weighted`},
		{[]string{"qps", "--queries", qf}, "--server is required"},
		{[]string{"qps", "--server", "127.0.0.1:53"}, "--queries is required"},
		{[]string{"qps", "--server", "127.0.0.1", "--queries", qf}, `--server "127.0.0.1": want host:port`},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--rate", "-5"}, "--rate -5"},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--rate", "fast"}, `invalid value "fast" for flag -rate`},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--duration", "soon"}, "want a duration"},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--timeout", "0"}, "must be more than 0"},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--sockets", "0"}, "--sockets 0"},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "--threads", "5"}, "--threads 5"},
		{[]string{"qps", "--server", "127.0.0.1:53", "--queries", qf, "extra"}, `unexpected argument "extra"`},
		{[]string{"qps", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"propagation", "--dns", "127.0.0.1:53"}, "--api is required"},
		{[]string{"propagation", "--api", "127.0.0.1:8053", "--dns", "127.0.0.1:53"}, "want a URL"},
		{[]string{"propagation", "--api", "http://127.0.0.1:8053"}, "--dns is required"},
		{[]string{"propagation", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:53,localhost"}, `--dns "localhost": want host:port`},
		{[]string{"propagation", "--api", "http://127.0.0.1:8053", "--dns", "127.0.0.1:53", "--changes", "0"}, "--changes 0"},
	} {
		code, out, errOut := dnsload(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("dnsload %q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errOut, c.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"qps", "-h"}, {"propagation", "--help"}, {"drill", "--help"}} {
		code, out, errOut := dnsload(t, args...)
		if code != 0 || !strings.Contains(out, "usage: dnsload") || errOut != "" {
			t.Errorf("dnsload %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if _, out, _ := dnsload(t, "qps", "-h"); !strings.Contains(out, "-outstanding") {
		t.Errorf("qps -h does not list its flags: %s", out)
	}
	_, out, _ := dnsload(t, "drill", "-h")
	for _, want := range []string{"-trigger", "-record", "-backends", "answers in a row without the primary"} {
		if !strings.Contains(out, want) {
			t.Errorf("drill -h lacks %q: %s", want, out)
		}
	}
}

// startDNS starts a UDP server on 127.0.0.1:0 that drops queries for
// "drop.*", answers "nx.*" with NXDOMAIN and anything else with NOERROR.
func startDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			switch {
			case strings.HasPrefix(r.Question[0].Name, "drop."):
				return
			case strings.HasPrefix(r.Question[0].Name, "nx."):
				m.Rcode = dns.RcodeNameError
			}
			w.WriteMsg(m)
		})}
	done := make(chan struct{})
	go func() { defer close(done); srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { srv.Shutdown(); <-done })
	return pc.LocalAddr().String()
}

func TestQPS(t *testing.T) {
	addr := startDNS(t)
	qf := filepath.Join(t.TempDir(), "q.txt")
	if err := os.WriteFile(qf, []byte("; test queries\nok.test A\nnx.test AAAA\ndrop.test A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"qps", "--server", addr, "--queries", qf, "--rate", "3000", "--max-queries", "300", "--sockets", "1", "--duration", "1m", "--timeout", "5s", "--outstanding", "0"}

	code, out, errOut := dnsload(t, append(base, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"latencyMs", "lost", "qps", "rcodes", "received", "sent"}; !slices.Equal(keys, want) {
		t.Errorf("JSON keys %v, want %v", keys, want)
	}
	var r qpsReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Sent != 300 || r.Received != 200 || r.Lost != 100 || r.Rcodes["NOERROR"] != 100 || r.Rcodes["NXDOMAIN"] != 100 || r.QPS <= 0 {
		t.Errorf("report %+v", r)
	}
	l := r.LatencyMs
	if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.P999 || l.Avg <= 0 {
		t.Errorf("latency %+v", l)
	}
	if errOut != "" {
		t.Errorf("--json wrote to stderr: %q", errOut)
	}

	code, out, _ = dnsload(t, append(base, "--quiet")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`(?m)^Server +` + regexp.QuoteMeta(addr) + ` \(UDP, 1 socket\)$`, `(?m)^Rate +3000 queries/s, open loop, `, `(?m)^Sent +300$`, `(?m)^Received +200$`,
		`(?m)^Lost +100 \(33\.333%, unanswered within 5s\)$`, `(?m)^Rcodes +NOERROR 100, NXDOMAIN 100$`, `(?m)^Latency \(ms\) +avg [0-9.]+ +p50 [0-9.]+ `} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

// TestQPSDefaults: 4 sockets, a 1 s timeout and, like dnsperf, at most 100
// queries in flight unless told.
func TestQPSDefaults(t *testing.T) {
	addr := startDNS(t)
	qf := filepath.Join(t.TempDir(), "q.txt")
	if err := os.WriteFile(qf, []byte("ok.test A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := dnsload(t, "qps", "--server", addr, "--queries", qf, "--rate", "2000", "--max-queries", "20", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`(?m)^Server +` + regexp.QuoteMeta(addr) + ` \(UDP, 1 socket\)$`,
		`(?m)^Rate +2000 queries/s, at most 100 in flight, `, `(?m)^Lost +\d+ \([0-9.]+%, unanswered within 1s\)$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

func TestQPSRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("ok.test A\nok.test NOPE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, want string
	}{
		{bad, `line 2: unknown query type "NOPE"`},
		{filepath.Join(dir, "missing.txt"), "no such file"},
	} {
		code, _, errOut := dnsload(t, "qps", "--server", "127.0.0.1:53", "--queries", c.file)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", c.file, code, errOut, c.want)
		}
	}
}

// TestPropagation runs the command against a real stack: the API over an
// embedded etcd, and two DNS nodes.
func TestPropagation(t *testing.T) {
	st := stacktest.Start(t, 2)
	dnsArg := strings.Join(st.DNS, ",")

	code, out, errOut := dnsload(t, "propagation", "--api", st.APIURL, "--dns", dnsArg, "--changes", "5", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(raw) != 4 {
		t.Errorf("JSON %s: want exactly changes, p50Seconds, p99Seconds, maxSeconds", out)
	}
	var r propagationReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Changes != 5 || r.P50Seconds <= 0 || r.P50Seconds > r.P99Seconds || r.P99Seconds > r.MaxSeconds {
		t.Errorf("report %+v", r)
	}

	code, out, errOut = dnsload(t, "propagation", "--api", st.APIURL, "--dns", dnsArg, "--changes", "3", "--quiet", "--zone", "Prop-Table.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"prop-table.test.", "Every node", "  " + st.DNS[0], "  " + st.DNS[1]} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	zs, err := client.New(st.APIURL, "", nil).AllZones(context.Background())
	if err != nil || len(zs) != 0 {
		t.Errorf("zones left behind: %v %+v", err, zs)
	}
}

// TestDrill runs a routing-control drill on weighted sets through the
// command, against a real stack of two nodes, and checks its JSON: the
// fields it always had, and the trigger and record it ran with.
func TestDrill(t *testing.T) {
	st := stacktest.Start(t, 2)
	code, out, errOut := dnsload(t, "drill", "--api", st.APIURL, "--dns", strings.Join(st.DNS, ","), "--interval", "1", "--threshold", "2",
		"--rate", "100", "--trigger", "routing-control", "--record", "weighted", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	keys := slices.Sorted(maps.Keys(raw))
	if want := []string{"detectionSeconds", "failbackSeconds", "flipSeconds", "queries", "record", "servfail", "timeouts", "trigger", "wrongAnswers"}; !slices.Equal(keys, want) {
		t.Errorf("JSON keys %v, want %v", keys, want)
	}
	var r loadtest.DrillResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("drill: %s", out)
	if r.Trigger != "routing-control" || r.Record != "weighted" || r.Queries == 0 || r.Servfail != 0 || r.WrongAnswers != 0 || r.DetectionSeconds <= 0 {
		t.Errorf("report %+v", r)
	}
	for _, n := range st.DNS {
		if r.FlipSeconds[n] <= 0 || r.FailbackSeconds[n] <= 0 {
			t.Errorf("node %s: flip %v, fail-back %v", n, r.FlipSeconds[n], r.FailbackSeconds[n])
		}
	}
	if errOut != "" {
		t.Errorf("--json wrote to stderr: %q", errOut)
	}
	c := client.New(st.APIURL, "", nil)
	if zs, err := c.AllZones(context.Background()); err != nil || len(zs) != 0 {
		t.Errorf("zones left behind: %v %+v", err, zs)
	}
	if hcs, err := c.AllHealthChecks(context.Background()); err != nil || len(hcs) != 0 {
		t.Errorf("health checks left behind: %v %+v", err, hcs)
	}
}

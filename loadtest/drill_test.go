package loadtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/syncbuf"
	"github.com/healthdns/healthdns/loadtest/stacktest"
	"github.com/healthdns/healthdns/zones"
)

// checkDrill fails the test unless res is a clean drill on every node of
// st, and unless the drill removed its zone and health checks.
func checkDrill(t *testing.T, st *stacktest.Stack, api *client.Client, res *DrillResult, trigger, record string) {
	t.Helper()
	if res.Trigger != trigger || res.Record != record {
		t.Errorf("result says trigger %q, record %q; want %q, %q", res.Trigger, res.Record, trigger, record)
	}
	if res.Queries == 0 || res.Servfail != 0 || res.WrongAnswers != 0 || res.DetectionSeconds <= 0 {
		t.Errorf("drill result %+v", res)
	}
	for _, node := range st.DNS {
		if res.FlipSeconds[node] <= 0 || res.FailbackSeconds[node] <= 0 {
			t.Errorf("node %s: flip %v, fail-back %v; want both > 0", node, res.FlipSeconds[node], res.FailbackSeconds[node])
		}
	}
	ctx := context.Background()
	if zs, err := api.AllZones(ctx); err != nil || len(zs) != 0 {
		t.Errorf("zones left behind: %+v %v", zs, err)
	}
	if hcs, err := api.AllHealthChecks(ctx); err != nil || len(hcs) != 0 {
		t.Errorf("health checks left behind: %+v %v", hcs, err)
	}
}

// TestDrillRoutingControl runs routing-control drills on a real stack of
// two nodes: a failover pair on the drill's own backends, then weighted
// sets on backends the user names, which the drill must probe and leave
// running.
func TestDrillRoutingControl(t *testing.T) {
	st := stacktest.Start(t, 2)
	api := client.New(st.APIURL, "", nil)
	ctx := context.Background()

	var progress syncbuf.Buffer
	res, err := Drill(ctx, DrillOptions{API: api, DNS: st.DNS, Interval: 1, Threshold: 2, Rate: 100,
		Trigger: TriggerRoutingControl, Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("routing control, failover: %+v", res)
	checkDrill(t, st, api, res, TriggerRoutingControl, RecordFailover)
	for _, want := range []string{"turning the routing control OFF", "turning the routing control ON again"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}

	// The user's backends: the drill probes them and leaves them up.
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				hits[i].Add(1)
			}
			w.Write([]byte("ok"))
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL+"/health")
	}
	res, err = Drill(ctx, DrillOptions{API: api, DNS: st.DNS, Interval: 1, Threshold: 2, Rate: 100,
		Trigger: TriggerRoutingControl, Record: RecordWeighted, Backends: urls})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("routing control, weighted, the user's backends: %+v", res)
	checkDrill(t, st, api, res, TriggerRoutingControl, RecordWeighted)
	for i, u := range urls {
		if hits[i].Load() == 0 {
			t.Errorf("backend %s was never probed on /health", u)
		}
		if r, err := http.Get(u); err != nil {
			t.Errorf("backend %s: %v after the drill", u, err)
		} else {
			r.Body.Close()
		}
	}
}

// TestDrillWeightedBackend stops and restarts the primary's backend under
// two weighted sets.
func TestDrillWeightedBackend(t *testing.T) {
	st := stacktest.Start(t, 2)
	api := client.New(st.APIURL, "", nil)
	var progress syncbuf.Buffer
	res, err := Drill(context.Background(), DrillOptions{API: api, DNS: st.DNS, Interval: 1, Threshold: 2, Rate: 100,
		Record: RecordWeighted, Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("backend, weighted: %+v", res)
	checkDrill(t, st, api, res, TriggerBackend, RecordWeighted)
	if !strings.Contains(progress.String(), "stopping the primary's backend") {
		t.Errorf("progress lacks the backend's stop:\n%s", progress.String())
	}
}

// TestDrillNormalize: Normalize fills in the defaults, names the allowed
// values of a bad one, and keeps the checks of the user's backends.
func TestDrillNormalize(t *testing.T) {
	api := client.New("http://127.0.0.1:1", "", nil)
	o := DrillOptions{API: api, DNS: []string{"127.0.0.1:1"}}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Trigger != TriggerBackend || o.Record != RecordFailover || o.Timeout != 60*time.Second || o.Rate != 200 || o.checks != nil {
		t.Errorf("defaults %+v", o)
	}
	for _, c := range []struct {
		o    DrillOptions
		want string
	}{
		{DrillOptions{Trigger: "flood"}, `drill trigger "flood": want backend or routing-control`},
		{DrillOptions{Record: "latency"}, `drill record "latency": want failover or weighted`},
	} {
		c.o.API, c.o.DNS = api, []string{"127.0.0.1:1"}
		if err := c.o.Normalize(); err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}

	urls := []string{"http://127.0.0.1:8081/health", "https://app.example.test/"}
	o = DrillOptions{API: api, DNS: []string{"127.0.0.1:1"}, Trigger: TriggerRoutingControl, Record: RecordWeighted, Backends: urls}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Trigger != TriggerRoutingControl || o.Record != RecordWeighted || len(o.checks) != 2 {
		t.Fatalf("%+v", o)
	}
	for i, u := range urls {
		if want, _ := DrillBackendCheck(u); !reflect.DeepEqual(o.checks[i], want) {
			t.Errorf("check of %s: %+v, want %+v", u, o.checks[i], want)
		}
	}
}

// TestPollUntil: a wait ends when the condition holds, at once on an API
// error that no retry can mend, with the last error at its timeout, and
// with ctx.Err() wrapped when ctx ends.
func TestPollUntil(t *testing.T) {
	ctx := context.Background()
	n := 0
	if err := pollUntil(ctx, "three", time.Millisecond, time.Second, func() (bool, error) { n++; return n == 3, nil }); err != nil || n != 3 {
		t.Errorf("%v after %d calls, want nil after 3", err, n)
	}

	start := time.Now()
	n = 0
	notFound := &client.APIError{Status: http.StatusNotFound, Code: "NoSuchHealthCheck"}
	err := pollUntil(ctx, "a status", time.Millisecond, time.Minute, func() (bool, error) { n++; return false, notFound })
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || n != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("404: %v after %d calls, %v; want it after one call", err, n, time.Since(start))
	}

	n = 0
	err = pollUntil(ctx, "a status", time.Millisecond, 50*time.Millisecond, func() (bool, error) {
		n++
		return false, &client.APIError{Status: http.StatusServiceUnavailable, Message: "node starting"}
	})
	if err == nil || !strings.Contains(err.Error(), "no a status within 50ms") || !strings.Contains(err.Error(), "node starting") || n < 2 {
		t.Errorf("503: %v after %d calls; want a timeout naming the last error, after retries", err, n)
	}

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	start = time.Now()
	err = pollUntil(cctx, "never", time.Millisecond, time.Minute, func() (bool, error) { return false, nil })
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled: %v after %v; want one wrapping context.Canceled, at once", err, time.Since(start))
	}
}

// TestDrillWaitCheck: a check the API does not know ends the wait at once,
// with the API's error, rather than after the phase's timeout.
func TestDrillWaitCheck(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"NoSuchHealthCheck","message":"no health check hc-1"}}`))
	}))
	defer srv.Close()
	d := &drill{o: DrillOptions{API: client.New(srv.URL, "", nil), Timeout: time.Minute}}
	start := time.Now()
	err := d.waitCheck(context.Background(), "hc-1", "HEALTHY", true)
	if err == nil || !strings.Contains(err.Error(), "NoSuchHealthCheck") || calls.Load() != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("%v after %d calls, %v; want the 404 after one", err, calls.Load(), time.Since(start))
	}
}

// TestDrillWaitNodesCancelled: an interrupted wait says so, and names the
// nodes still waited on.
func TestDrillWaitNodesCancelled(t *testing.T) {
	w := newDrillWatch(RecordFailover, []string{"127.0.0.1:5300"})
	d := &drill{o: DrillOptions{Timeout: time.Minute}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := d.waitNodes(ctx, w, "flip to the secondary", func(n *nodeTally) bool { return !n.flip.IsZero() })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "127.0.0.1:5300") {
		t.Errorf("%v: want one wrapping context.Canceled and naming the node", err)
	}
}

// TestDrillQuerySocket: a node is queried over one socket, dialled again
// after a failed query.
func TestDrillQuerySocket(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The server answers every query but the bad-th, which gets a reply
	// too short to parse, and ends the queries after the total-th.
	const total, bad = 8, 3
	var got []string // the source of each query
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			got = append(got, from.String())
			out := []byte{1, 2, 3}
			if len(got) != bad {
				r := answerOf(drillPrimary)
				r.Id = q.Id
				out, _ = r.Pack()
			}
			if len(got) == total {
				cancel()
			}
			pc.WriteTo(out, from)
		}
	}()
	w := newDrillWatch(RecordFailover, []string{pc.LocalAddr().String()})
	w.query(ctx, pc.LocalAddr().String(), "www.drill.test.", 500)
	pc.Close()
	<-served
	if len(got) < total {
		t.Fatalf("%d queries reached the server, want %d", len(got), total)
	}
	for i, s := range got {
		same := i == 0 || i == bad || s == got[i-1]
		if !same {
			t.Errorf("query %d from %s, query %d from %s: want one socket", i, got[i-1], i+1, s)
		}
	}
	if got[bad] == got[bad-1] {
		t.Errorf("query %d still from %s after a failed one: want a new socket", bad+1, got[bad])
	}
	if res := w.result(); res.Timeouts != 1 || res.Queries != len(got) {
		t.Errorf("%+v: want 1 failure in %d queries", res, len(got))
	}
}

// TestDrillOptions: options a drill cannot run with are refused before it
// creates anything.
func TestDrillOptions(t *testing.T) {
	api := client.New("http://127.0.0.1:1", "", nil)
	dnsNodes := []string{"127.0.0.1:1"}
	for _, c := range []struct {
		o    DrillOptions
		want string
	}{
		{DrillOptions{API: api, DNS: dnsNodes, Trigger: "flood"}, `drill trigger "flood"`},
		{DrillOptions{API: api, DNS: dnsNodes, Record: "latency"}, `drill record "latency"`},
		{DrillOptions{API: api, DNS: dnsNodes, Backends: []string{"http://127.0.0.1:8081/", "http://127.0.0.1:8082/"}}, "need the routing-control trigger"},
		{DrillOptions{API: api, DNS: dnsNodes, Trigger: TriggerRoutingControl, Backends: []string{"http://127.0.0.1:8081/"}}, "1 given, want two"},
		{DrillOptions{API: api, DNS: dnsNodes, Trigger: TriggerRoutingControl, Backends: []string{"http://127.0.0.1:8081/", "ftp://127.0.0.1/"}}, `backend "ftp://127.0.0.1/": want an http:// or https:// URL`},
		{DrillOptions{API: api}, "no DNS node"},
	} {
		if _, err := Drill(context.Background(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one with %q", c.o, err, c.want)
		}
	}
}

func TestDrillBackendCheck(t *testing.T) {
	for _, c := range []struct {
		url  string
		want zones.HealthCheckConfig
	}{
		{"http://127.0.0.1:8081/health", zones.HealthCheckConfig{Type: "HTTP", IPAddress: "127.0.0.1", Port: 8081, ResourcePath: "/health"}},
		{"https://[::1]/", zones.HealthCheckConfig{Type: "HTTPS", IPAddress: "::1", ResourcePath: "/"}},
		{"http://127.0.0.1:80", zones.HealthCheckConfig{Type: "HTTP", IPAddress: "127.0.0.1", Port: 80}},
		{"https://app.example.test:8443/ready?deep=1", zones.HealthCheckConfig{Type: "HTTPS", FullyQualifiedDomainName: "app.example.test",
			EnableSNI: true, Port: 8443, ResourcePath: "/ready?deep=1"}},
	} {
		got, err := DrillBackendCheck(c.url)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v %v, want %+v", c.url, got, err, c.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:8081", "tcp://127.0.0.1:1/", "http:///health", "http://127.0.0.1:0/", "http://127.0.0.1:99999/"} {
		if _, err := DrillBackendCheck(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: error %v, want one naming the URL", bad, err)
		}
	}
}

// answerOf returns a reply holding one A record of ip, or none for "".
func answerOf(ip string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("www.drill.test.", dns.TypeA)
	m.Response = true
	if ip != "" {
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "www.drill.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP(ip)})
	}
	return m
}

// TestDrillWatchWeighted pins down the weighted definitions: a node flips at
// the first of FlipStreak answers in a row without the primary, the primary
// after that is wrong until the revival, and fail-back is the first primary
// after it.
func TestDrillWatchWeighted(t *testing.T) {
	const node = "127.0.0.1:5300"
	w := newDrillWatch(RecordWeighted, []string{node})
	t0 := time.Now()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	i := 0
	say := func(ip string) { i++; w.judge(node, answerOf(ip), nil, at(i)) }

	say(drillPrimary)
	if w.missing(w.steady) == nil {
		t.Fatal("steady after the primary alone")
	}
	say(drillSecondary)
	if m := w.missing(w.steady); m != nil {
		t.Fatalf("not steady after both answers: %v", m)
	}

	w.down = t0 // as if the trigger came at t0
	w.phase = phaseDown
	say(drillSecondary)
	say(drillPrimary) // the primary again: no flip yet
	for k := 0; k < FlipStreak-1; k++ {
		say(drillSecondary)
	}
	if m := w.missing(func(n *nodeTally) bool { return !n.flip.IsZero() }); m == nil {
		t.Fatalf("flipped after %d answers without the primary", FlipStreak-1)
	}
	say(drillSecondary) // the FlipStreak-th
	streakStart := i - FlipStreak + 1
	say("192.0.2.99") // neither backend: wrong
	say(drillPrimary) // after the flip: wrong
	say(drillSecondary)
	res := w.result()
	if want := float64(streakStart); res.FlipSeconds[node] != want {
		t.Errorf("flip %vs, want %vs (the first answer of the streak)", res.FlipSeconds[node], want)
	}
	if res.WrongAnswers != 2 {
		t.Errorf("wrong answers %d, want 2", res.WrongAnswers)
	}

	w.up = at(i)
	w.phase = phaseUp
	say(drillSecondary)
	say(drillPrimary)
	say(drillPrimary)
	say("") // an empty answer: wrong
	w.judge(node, nil, &net.OpError{Op: "read", Err: errors.New("i/o timeout")}, at(i))
	sf := answerOf("")
	sf.Rcode = dns.RcodeServerFailure
	w.judge(node, sf, nil, at(i))
	res = w.result()
	if res.FailbackSeconds[node] != 2 {
		t.Errorf("fail-back %vs, want 2s", res.FailbackSeconds[node])
	}
	if res.Queries != i+2 || res.WrongAnswers != 3 || res.Timeouts != 1 || res.Servfail != 1 {
		t.Errorf("counts %+v, want %d queries, 3 wrong, 1 timeout, 1 SERVFAIL", res, i+2)
	}
}

// TestDrillWatchFailover: a failover node flips at its first secondary, and
// the primary after that is not counted wrong (it was not before weighted
// drills existed).
func TestDrillWatchFailover(t *testing.T) {
	const node = "127.0.0.1:5300"
	w := newDrillWatch(RecordFailover, []string{node})
	t0 := time.Now()
	w.judge(node, answerOf(drillSecondary), nil, t0)
	w.judge(node, answerOf(drillPrimary), nil, t0)
	if m := w.missing(w.steady); m != nil {
		t.Fatalf("not steady after answering the primary: %v", m)
	}
	w.down, w.phase = t0, phaseDown
	w.judge(node, answerOf(drillPrimary), nil, t0.Add(time.Second))
	w.judge(node, answerOf(drillSecondary), nil, t0.Add(3*time.Second))
	w.judge(node, answerOf(drillPrimary), nil, t0.Add(4*time.Second))
	res := w.result()
	if res.FlipSeconds[node] != 3 || res.WrongAnswers != 0 {
		t.Errorf("%+v: want a flip at 3s and no wrong answer", res)
	}
}

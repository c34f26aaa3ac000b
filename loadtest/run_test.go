package loadtest

import (
	"context"
	"fmt"
	"maps"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/internal/syncbuf"
)

// startDNS starts a miekg/dns server on 127.0.0.1:0 that answers by the
// first label: "drop" gets no reply, "nx" NXDOMAIN, "fail" SERVFAIL, and any
// other name NOERROR with an A record. It returns the address.
func startDNS(t *testing.T, network string) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		switch strings.SplitN(r.Question[0].Name, ".", 2)[0] {
		case "drop":
			return
		case "nx":
			m.Rcode = dns.RcodeNameError
		case "fail":
			m.Rcode = dns.RcodeServerFailure
		default:
			rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{Handler: h, NotifyStartedFunc: func() { close(started) }}
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.PacketConn = pc
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener = l
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { srv.Shutdown(); <-done })
	if srv.PacketConn != nil {
		return srv.PacketConn.LocalAddr().String()
	}
	return srv.Listener.Addr().String()
}

func mustQueries(t *testing.T, text string) []Query {
	t.Helper()
	qs, err := ParseQueries(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestRunCounts sends a known number of each query, at a rate and flat
// out, over UDP and TCP, and wants every dropped query lost, every other
// one answered, and the rcodes counted by name. Counts only: no timing.
func TestRunCounts(t *testing.T) {
	queries := mustQueries(t, "ok.test A\nnx.test A\nfail.test AAAA\ndrop.test A\n")
	type run struct {
		name    string
		tcp     bool
		rate    float64
		sockets int
		res     *Result
		err     error
	}
	var runs []*run
	for _, network := range []string{"udp", "tcp"} {
		for _, rate := range []float64{4000, 0} {
			for _, sockets := range []int{1, 3} {
				runs = append(runs, &run{
					name: fmt.Sprintf("%s/rate=%v/sockets=%d", network, rate, sockets),
					tcp:  network == "tcp", rate: rate, sockets: sockets,
				})
			}
		}
	}
	// The runs wait out the timeout for their dropped queries: all at once,
	// rather than as parallel subtests, which -parallel would queue.
	var wg sync.WaitGroup
	for _, r := range runs {
		addr := startDNS(t, map[bool]string{false: "udp", true: "tcp"}[r.tcp])
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 600 queries over 4 names: each socket's share is a multiple
			// of 4, so each name goes out 150 times. Flat out, at most 200
			// in flight, as the test server's socket buffer holds no more
			// than that. The timeout is generous for a loaded machine; it
			// makes the run last that long.
			r.res, r.err = Run(context.Background(), Options{
				Server: addr, Queries: queries, Rate: r.rate, Duration: time.Minute,
				MaxQueries: 600, TCP: r.tcp, Sockets: r.sockets, Timeout: 5 * time.Second,
				MaxOutstanding: 200,
			})
		}()
	}
	wg.Wait()
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			res := r.res
			if res.Sent != 600 || res.Received != 450 || res.Lost != 150 {
				t.Errorf("sent %d received %d lost %d, want 600 450 150", res.Sent, res.Received, res.Lost)
			}
			want := map[string]uint64{"NOERROR": 150, "NXDOMAIN": 150, "SERVFAIL": 150}
			if !maps.Equal(res.Rcodes, want) {
				t.Errorf("rcodes %v, want %v", res.Rcodes, want)
			}
			if res.Latency.Count() != res.Received || res.Latency.Quantile(0.5) <= 0 {
				t.Errorf("latency histogram holds %d values, p50 %v", res.Latency.Count(), res.Latency.Quantile(0.5))
			}
			if r.tcp && res.Reconnects == 0 {
				// miekg/dns closes a connection after 128 queries.
				t.Errorf("600 queries over TCP without a reconnect")
			}
			t.Logf("%+v", res)
		})
	}
}

// TestRunPaced wants the schedule's count exactly, however late the
// goroutines wake (what falls due is sent), with one P (one loop sends and
// receives) and with two (a sender and a receiver, where the platform has
// them).
func TestRunPaced(t *testing.T) {
	addr := startDNS(t, "udp")
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var progress syncbuf.Buffer
			res, err := Run(context.Background(), Options{
				Server: addr, Queries: mustQueries(t, "a.test A\nb.test A\nc.test MX\n"),
				Rate: 1000, Duration: 1200 * time.Millisecond, Sockets: 2, Progress: &progress,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Two sockets at 500/s for 1.2 s: 600 each.
			if res.Target != 1200 || res.Sent != 1200 {
				t.Errorf("target %d sent %d, want 1200", res.Target, res.Sent)
			}
			if res.Sent != res.Received+res.Lost || res.Received == 0 {
				t.Errorf("sent %d, received %d, lost %d", res.Sent, res.Received, res.Lost)
			}
			if res.Elapsed != 1200*time.Millisecond {
				t.Errorf("elapsed %v, want the duration", res.Elapsed)
			}
			if !strings.Contains(progress.String(), "dnsload:") || !strings.Contains(progress.String(), " qps ") {
				t.Errorf("progress: %q", progress.String())
			}
		})
	}
}

// TestRunNothingListens: every query is lost, none is an error.
func TestRunNothingListens(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	res, err := Run(context.Background(), Options{
		Server: addr, Queries: mustQueries(t, "a.test A\n"), Rate: 500, Duration: 200 * time.Millisecond,
		Sockets: 1, Timeout: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received != 0 || res.Sent != res.Lost {
		t.Errorf("sent %d received %d lost %d", res.Sent, res.Received, res.Lost)
	}
}

// TestRunCancel: a cancelled run ends, with what it measured.
func TestRunCancel(t *testing.T) {
	addr := startDNS(t, "udp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = Run(ctx, Options{Server: addr, Queries: mustQueries(t, "a.test A\n"), Rate: 1000, Duration: time.Hour})
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end after cancel")
	}
	if err != nil || res.Sent != res.Received+res.Lost {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestRunOptions(t *testing.T) {
	q := mustQueries(t, "a.test A\n")
	for _, o := range []Options{
		{Queries: q},
		{Server: "127.0.0.1", Queries: q},
		{Server: "127.0.0.1:53"},
		{Server: "127.0.0.1:53", Queries: q, Rate: -1},
		{Server: "127.0.0.1:53", Queries: q, Sockets: -1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}

// TestRunOutstanding: with at most 4 in flight and nothing answered, a run
// of 300 ms with a 200 ms timeout sends 4, waits for them to expire, sends 4
// more: never more than 8, however fast the schedule.
func TestRunOutstanding(t *testing.T) {
	addr := startDNS(t, "udp")
	for _, rate := range []float64{1000, 0} {
		res, err := Run(context.Background(), Options{
			Server: addr, Queries: mustQueries(t, "drop.test A\n"), Rate: rate, Duration: 300 * time.Millisecond,
			Sockets: 1, Timeout: 200 * time.Millisecond, MaxOutstanding: 4,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent < 4 || res.Sent > 8 || res.Lost != res.Sent || res.Received != 0 {
			t.Errorf("rate %v: sent %d received %d lost %d; want 4 to 8 sent, all lost: %+v", rate, res.Sent, res.Received, res.Lost, res)
		}
		// On a schedule, those held back went out late, and say so.
		if rate > 0 && (res.Delayed == 0 || res.Delayed > res.Sent-1) {
			t.Errorf("rate %v: %d of %d delayed", rate, res.Delayed, res.Sent)
		}
	}
}

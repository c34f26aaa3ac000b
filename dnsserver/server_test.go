package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

func TestServerMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	tb := testTable(t)
	s := startServer(t, tb, Options{Registerer: reg})
	exchange(t, "udp", s.Addr(), newQuery("example.org.", dns.TypeA, 0, false))
	exchange(t, "tcp", s.Addr(), newQuery("example.org.", dns.TypeA, 0, false))
	exchange(t, "udp", s.Addr(), newQuery("nothing.example.org.", dns.TypeA, 0, false))
	exchange(t, "udp", s.Addr(), newQuery("example.org.", dns.TypeTLSA, 0, false))
	exchange(t, "udp", s.Addr(), newQuery("many.big.test.", dns.TypeA, 0, false))

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	for key, v := range map[string]float64{
		"healthdns_dns_queries_total qtype=A rcode=NOERROR transport=tcp":     1,
		"healthdns_dns_queries_total qtype=A rcode=NOERROR transport=udp":     2,
		"healthdns_dns_queries_total qtype=A rcode=NXDOMAIN transport=udp":    1,
		"healthdns_dns_queries_total qtype=other rcode=NOERROR transport=udp": 1,
		"healthdns_dns_truncated_responses_total transport=udp":               1,
		"healthdns_dns_truncated_responses_total transport=tcp":               0,
		"healthdns_dns_panics_total":                                          0,
	} {
		if got[key] != v {
			t.Errorf("%s = %v, want %v", key, got[key], v)
		}
	}
	// + latency and size histograms by transport, TCP connections and
	// waits, queries of each of testTable's four zones.
	for zone, v := range map[string]float64{"example.org.": 4, "big.test.": 1, "test.": 0, "child.test.": 0} {
		if key := "healthdns_dns_zone_queries_total zone=" + zone; got[key] != v {
			t.Errorf("%s = %v, want %v", key, got[key], v)
		}
	}
	if len(got) != 7+4+2+4 {
		t.Errorf("series: %v", got)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestServerPanicIsServfail(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Addr: "127.0.0.1:0", Table: NewTable(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	// A nil snapshot makes Answer panic.
	s.opts.Table = &Table{}
	out := s.reply(newQuery("example.org.", dns.TypeA, 1232, false), UDP, netip.AddrPort{}, nil, s.metrics.shared, nil)
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeServerFailure || r.IsEdns0() == nil {
		t.Errorf("reply %v", r)
	}
	if got := counterValue(t, s.metrics.panics); got != 1 {
		t.Errorf("panics counter %v, want 1", got)
	}
}

func TestServerLifecycle(t *testing.T) {
	if _, err := New(Options{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("New without Table succeeded")
	}
	if _, err := New(Options{Addr: "no-port", Table: NewTable()}); err == nil {
		t.Error("New with a bad address succeeded")
	}
	tb := testTable(t)
	s, err := New(Options{Addr: "127.0.0.1:0", Table: tb})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	addr := s.Addr()
	if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "" {
		t.Fatalf("Addr %q", addr)
	}
	// The same port serves UDP and TCP.
	for _, network := range []string{"udp", "tcp"} {
		if r := exchange(t, network, addr, newQuery("example.org.", dns.TypeSOA, 0, false)); len(r.Answer) != 1 {
			t.Errorf("%s: %v", network, r)
		}
	}
	// A second server cannot take the same address.
	s2, _ := New(Options{Addr: addr, Table: tb})
	if err := s2.Start(); err == nil {
		t.Error("second server on the same address started")
		s2.Shutdown(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c := &dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}
	if _, _, err := c.Exchange(newQuery("example.org.", dns.TypeSOA, 0, false), addr); err == nil {
		t.Error("TCP still answers after Shutdown")
	}
}

func TestServerSwapsSnapshots(t *testing.T) {
	tb := NewTable()
	s := startServer(t, tb, Options{})
	q := newQuery("ns1.inc.test.", dns.TypeA, 0, false)
	if r := exchange(t, "udp", s.Addr(), q); r.Rcode != dns.RcodeRefused {
		t.Fatalf("empty table: %v", r)
	}
	if err := tb.Apply([]zonesDelta{{Origin: "inc.test.", Reset: true, Put: parseZone(t, "inc.test.", smallZone)}}); err != nil {
		t.Fatal(err)
	}
	if r := exchange(t, "udp", s.Addr(), q); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("after Apply: %v", r)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

package dnsserver

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/healthdns/healthdns/zones"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// parseZone parses a zone file into record sets, failing the test on error.
func parseZone(t testing.TB, origin, text string) []*zones.Set {
	t.Helper()
	sets, err := zones.ParseZoneFile(strings.NewReader(text), origin)
	if err != nil {
		t.Fatalf("parse zone %s: %v", origin, err)
	}
	return sets
}

// tableOf builds a table holding the given zones (origin -> zone file text).
func tableOf(t testing.TB, zoneTexts map[string]string) *Table {
	t.Helper()
	tb := NewTable()
	var deltas []zones.ZoneDelta
	for origin, text := range zoneTexts {
		deltas = append(deltas, zones.ZoneDelta{ZoneID: "Z" + strings.ToUpper(strings.ReplaceAll(origin, ".", "")),
			Origin: origin, Reset: true, Put: parseZone(t, origin, text)})
	}
	if err := tb.Apply(deltas); err != nil {
		t.Fatal(err)
	}
	return tb
}

// startServer serves tb on 127.0.0.1 with a free port until the test ends.
func startServer(t testing.TB, tb *Table, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	opts.Table = tb
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// newQuery builds a query; bufsize 0 means no EDNS.
func newQuery(name string, qtype uint16, bufsize uint16, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	if bufsize > 0 {
		m.SetEdns0(bufsize, do)
	}
	return m
}

// exchange sends m to addr over network ("udp" or "tcp").
func exchange(t testing.TB, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], err)
	}
	return r
}

// answerDirect runs Answer over UDP on the table's snapshot.
func answerDirect(tb *Table, m *dns.Msg, tr Transport) *dns.Msg {
	return Answer(tb.Load(), m, tr, netip.MustParseAddrPort("192.0.2.9:5353"))
}

// rrStrings renders RRs (not OPT) in canonical text, lower-cased owner and
// sorted, for comparison.
func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, normRR(rr))
	}
	slices.Sort(out)
	return out
}

func normRR(rr dns.RR) string {
	c := dns.Copy(rr)
	c.Header().Name = strings.ToLower(c.Header().Name)
	return strings.Join(strings.Fields(c.String()), " ")
}

// wantRRs parses expected RRs written in zone file syntax.
func wantRRs(t testing.TB, lines ...string) []string {
	t.Helper()
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("bad expected RR %q: %v", l, err)
		}
		rrs = append(rrs, rr)
	}
	return rrStrings(rrs)
}

var netipZero = netip.AddrPort{}

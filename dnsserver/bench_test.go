package dnsserver

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// BenchmarkAnswer measures the answer path: Answer plus packing the reply,
// as the server does for each query.
func BenchmarkAnswer(b *testing.B) {
	tb := testTable(b)
	snap := tb.Load()
	remote := netip.MustParseAddrPort("192.0.2.1:53")
	for _, c := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"exact", "mail.example.org.", dns.TypeA},
		{"cname", "www.example.org.", dns.TypeA},
		{"wildcard", "foo.wild.example.org.", dns.TypeA},
		{"nxdomain", "nothing.example.org.", dns.TypeA},
		{"referral", "host.deleg.example.org.", dns.TypeA},
		{"mx-additional", "example.org.", dns.TypeMX},
	} {
		req := newQuery(c.qname, c.qtype, 1232, false)
		buf := make([]byte, 0, 2048)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp := Answer(snap, req, UDP, remote)
				if _, err := Pack(resp, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoutedAnswer measures answers that routing chooses: health is
// asked of a lock-free source, as healthcheck.Monitor is.
func BenchmarkRoutedAnswer(b *testing.B) {
	tb := testTable(b)
	addRoutedSets(b, tb)
	tb.SetHealth(mapHealth{"hc-1": false, "hc-3": false})
	snap := tb.Load()
	remote := netip.MustParseAddrPort("192.0.2.1:53")
	ecs := newQuery("c.r.example.org.", dns.TypeA, 1232, false)
	ecs.IsEdns0().Option = append(ecs.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{198, 51, 100, 0}})
	for _, c := range []struct {
		name string
		req  *dns.Msg
	}{
		{"weighted", newQuery("w.r.example.org.", dns.TypeA, 1232, false)},
		{"failover-cname", newQuery("cn.r.example.org.", dns.TypeA, 1232, false)},
		{"multivalue", newQuery("m.r.example.org.", dns.TypeA, 1232, false)},
		{"cidr-ecs", ecs},
		{"alias-tree", newQuery("tree.r.example.org.", dns.TypeA, 1232, false)},
	} {
		buf := make([]byte, 0, 2048)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp := Answer(snap, c.req, UDP, remote)
				if _, err := Pack(resp, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// mapHealth is a read-only Health, lock-free as healthcheck.Monitor is.
type mapHealth map[string]bool

func (m mapHealth) Healthy(id string) bool {
	h, ok := m[id]
	return !ok || h
}

// BenchmarkApply measures building a 100k-name zone from scratch and one
// incremental change to it (which copies one shard of ~400 names).
func BenchmarkApply(b *testing.B) {
	const n = 100_000
	sets := parseZone(b, "inc.test.", smallZone)
	for i := range n {
		sets = append(sets, set(b, fmt.Sprintf("h%d.sub%d.inc.test. 300 IN A 192.0.2.%d", i, i%100, i%250+1)))
	}
	b.Run("reset-100k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tb := NewTable()
			if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Reset: true, Put: sets}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put-1-of-100k", func(b *testing.B) {
		tb := NewTable()
		if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Reset: true, Put: sets}}); err != nil {
			b.Fatal(err)
		}
		change := []*zones.Set{set(b, "h5.sub5.inc.test. 300 IN A 192.0.2.99")}
		b.ReportAllocs()
		for b.Loop() {
			if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: change}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFastAnswer measures the fast path (parse, look up, copy the
// prepared reply) for the answers it prepares: it must not allocate.
func BenchmarkFastAnswer(b *testing.B) {
	tb := testTable(b)
	h := newTestHealth()
	h.set(false, "hc-down")
	tb.SetHealth(h)
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "example.org.", Put: []*zones.Set{
		rset(b, "w.example.org. 60 IN A 192.0.2.1", weight("a", 3, "hc-down")),
		rset(b, "w.example.org. 60 IN A 192.0.2.2", weight("b", 1, "hc-up")),
		rset(b, "w.example.org. 60 IN A 192.0.2.3", weight("c", 2, "")),
		rset(b, "f.example.org. 60 IN A 192.0.2.4", failover("p", zones.FailoverPrimary, "hc-down")),
		rset(b, "f.example.org. 60 IN A 192.0.2.5", failover("s", zones.FailoverSecondary, "hc-up")),
		rset(b, "m.example.org. 60 IN A 192.0.2.6", multivalue("m1", "hc-down")),
		rset(b, "m.example.org. 60 IN A 192.0.2.7", multivalue("m2", "")),
		rset(b, "m.example.org. 60 IN A 192.0.2.8", multivalue("m3", "hc-up")),
	}}}); err != nil {
		b.Fatal(err)
	}
	snap := tb.Load()
	for _, c := range []struct {
		name  string
		qname string
		qtype uint16
		v     fastVariant
	}{
		{"exact", "mail.example.org.", dns.TypeA, fastVariant{}},
		{"exact-edns-mixedcase", "MAIL.example.org.", dns.TypeAAAA, fastVariant{bufsize: 1232}},
		{"nxdomain", "nothing.example.org.", dns.TypeA, fastVariant{}},
		{"nodata", "mail.example.org.", dns.TypeTXT, fastVariant{bufsize: 1232}},
		{"weighted", "w.example.org.", dns.TypeA, fastVariant{}},
		{"failover", "f.example.org.", dns.TypeA, fastVariant{}},
		{"multivalue", "m.example.org.", dns.TypeA, fastVariant{}},
	} {
		pkt := c.v.pack(b, 1, c.qname, c.qtype)
		out := make([]byte, 0, 4096)
		var q fastQuery
		if _, _, ok := appendFast(snap, &q, pkt, out); !ok {
			b.Fatalf("%s: not on the fast path", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				appendFast(snap, &q, pkt, out[:0])
			}
		})
	}
}

// BenchmarkUDPLoopServe measures what a UDP loop does per datagram between
// its system calls: load the snapshot, the fast path, the metrics; and the
// same with the query log on (lines to io.Discard) or RRL on (at a rate no
// query reaches).
func BenchmarkUDPLoopServe(b *testing.B) {
	tb := testTable(b)
	for _, mode := range []string{"plain", "querylog", "rrl"} {
		opts := Options{Addr: "127.0.0.1:0", Table: tb}
		switch mode {
		case "querylog":
			ql, err := NewQueryLog(QueryLogOptions{Writer: io.Discard, Node: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ql.Close(context.Background()) })
			opts.QueryLog = ql
		case "rrl":
			opts.RRL = RRLOptions{Rate: 1e12}
		}
		s, err := New(opts)
		if err != nil {
			b.Fatal(err)
		}
		l := s.newUDPLoop(nil, 0)
		from := netip.MustParseAddrPort("192.0.2.1:5353")
		for _, c := range []struct {
			name, qname string
			qtype       uint16
		}{{"exact", "mail.example.org.", dns.TypeA}, {"nxdomain", "nothing.example.org.", dns.TypeA}, {"slow-cname", "www.example.org.", dns.TypeA}} {
			pkt := fastVariant{bufsize: 1232}.pack(b, 1, c.qname, c.qtype)
			buf := make([]byte, 0, udpReadSize)
			b.Run(mode+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if l.serve(pkt, from, buf, time.Now()) == nil {
						b.Fatal("no reply")
					}
				}
			})
		}
	}
}

package dnsserver

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// FuzzAnswer feeds arbitrary packets to Answer: it must not panic, and what
// it returns must pack within the size the transport allows.
func FuzzAnswer(f *testing.F) {
	tb := testTable(f)
	addRoutedSets(f, tb)
	ecs := newQuery("w.r.example.org.", dns.TypeA, 1232, false)
	ecs.IsEdns0().Option = append(ecs.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{198, 51, 100, 0}})
	for _, q := range []*dns.Msg{
		ecs,
		newQuery("tree.r.example.org.", dns.TypeA, 1232, false),
		newQuery("m.r.example.org.", dns.TypeANY, 0, false),
		newQuery("www.example.org.", dns.TypeA, 0, false),
		newQuery("x.dn.example.org.", dns.TypeA, 1232, true),
		newQuery("foo.wild.example.org.", dns.TypeANY, 4096, false),
		newQuery("txt.big.test.", dns.TypeTXT, 512, false),
		newQuery("host.deleg.example.org.", dns.TypeA, 1232, false),
		newQuery("child.test.", dns.TypeDS, 0, false),
		newQuery("example.org.", dns.TypeMX, 1232, false),
	} {
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	snap := tb.Load()
	remote := netip.MustParseAddrPort("192.0.2.1:53")
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return
		}
		for _, tr := range []Transport{UDP, TCP} {
			resp := Answer(snap, req, tr, remote)
			out, err := Pack(resp, nil)
			if err != nil {
				t.Fatalf("pack reply: %v\n%v", err, resp)
			}
			limit := dns.MaxMsgSize
			if tr == UDP {
				limit = dns.MinMsgSize
				if o := req.IsEdns0(); o != nil {
					limit = min(max(int(o.UDPSize()), dns.MinMsgSize), MaxUDPSize)
				}
			}
			if len(out) > limit {
				t.Fatalf("%s reply of %d octets, limit %d", tr, len(out), limit)
			}
			if resp.Id != req.Id || !resp.Response {
				t.Fatalf("header %v", resp.MsgHdr)
			}
		}
	})
}

// addRoutedSets adds routed record sets under r.example.org. to tb, with
// some checks down and a CIDR collection, so that fuzzing reaches routing.
func addRoutedSets(t testing.TB, tb *Table) {
	t.Helper()
	h := newTestHealth()
	h.set(false, "hc-1", "hc-3")
	tb.SetHealth(h)
	tb.SetCIDRSource(memCIDR{"col": {"east": {"198.51.100.0/24"}, "west": {"2001:db8::/32"}}})
	sets := []*zones.Set{
		rset(t, "w.r.example.org. 60 IN A 192.0.2.1", weight("a", 3, "hc-1")),
		rset(t, "w.r.example.org. 60 IN A 192.0.2.2", weight("b", 1, "hc-2")),
		rset(t, "w.r.example.org. 60 IN A 192.0.2.3", weight("c", 0, "")),
		rset(t, "c.r.example.org. 60 IN A 192.0.2.4", cidr("e", "col", "east", "hc-3")),
		rset(t, "c.r.example.org. 60 IN A 192.0.2.5", cidr("d", "col", "*", "")),
		rset(t, "m.r.example.org. 60 IN A 192.0.2.6", multivalue("m1", "hc-1")),
		rset(t, "m.r.example.org. 60 IN A 192.0.2.7", multivalue("m2", "")),
		rset(t, "cn.r.example.org. 60 IN CNAME w.r.example.org.", failover("p", zones.FailoverPrimary, "hc-1")),
		rset(t, "cn.r.example.org. 60 IN CNAME c.r.example.org.", failover("s", zones.FailoverSecondary, "")),
		routedAlias("tree.r.example.org.", "A", "w.r.example.org.", true, failover("p", zones.FailoverPrimary, "")),
		routedAlias("tree.r.example.org.", "A", "c.r.example.org.", true, failover("s", zones.FailoverSecondary, "")),
		routedAlias("*.r.example.org.", "A", "loop.r.example.org.", true, weight("x", 1, "")),
		routedAlias("loop.r.example.org.", "A", "x.r.example.org.", true, nil),
	}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "example.org.", Put: sets}}); err != nil {
		t.Fatal(err)
	}
}

// FuzzFastPath feeds arbitrary packets to the fast path: whenever it
// answers, miekg/dns must unpack the query and the slow path must give the
// same octets (routing here draws nothing at random: one candidate each).
func FuzzFastPath(f *testing.F) {
	tb := testTable(f)
	addRoutedSets(f, tb)
	for _, v := range fastVariants {
		for _, q := range []struct {
			name  string
			qtype uint16
		}{
			{"mail.example.org.", dns.TypeA}, {"nothing.example.org.", dns.TypeA}, {"mail.example.org.", dns.TypeTXT},
			{"w.r.example.org.", dns.TypeA}, {"m.r.example.org.", dns.TypeA}, {"www.example.com.", dns.TypeA},
			{"x.ns1.example.org.", dns.TypeA}, {"many.big.test.", dns.TypeA},
		} {
			f.Add(v.pack(f, 1, q.name, q.qtype))
		}
	}
	snap := tb.Load()
	f.Fuzz(func(t *testing.T, data []byte) {
		var q fastQuery
		got, _, ok := appendFast(snap, &q, data, nil)
		if !ok {
			return
		}
		if want := slowReply(t, snap, data); !bytes.Equal(got, want) {
			t.Fatalf("fast path\n%x\nslow path\n%x", got, want)
		}
	})
}

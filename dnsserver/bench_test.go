package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
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
				if _, err := resp.PackBuffer(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

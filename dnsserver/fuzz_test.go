package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// FuzzAnswer feeds arbitrary packets to Answer: it must not panic, and what
// it returns must pack within the size the transport allows.
func FuzzAnswer(f *testing.F) {
	tb := testTable(f)
	for _, q := range []*dns.Msg{
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

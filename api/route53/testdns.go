package route53

import (
	"net/netip"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/zones"
)

// testDNSAnswer asks the DNS responder's current snapshot, as a resolver
// at resolverip for a client in edns0clientsubnetip/mask would, and answers
// with what it would reply: the record data of the answer section and the
// response code.
func (h *Handler) testDNSAnswer(c *call) error {
	for _, p := range []string{"hostedzoneid", "recordname", "recordtype"} {
		if c.query.Get(p) == "" {
			return invalidInput("%s: required", p)
		}
	}
	if h.o.Answerer == nil {
		return notImplemented("TestDNSAnswer is not available on this server; query the DNS responder directly (dig @server name type)")
	}
	z, err := h.store.GetZone(c.ctx(), bareID(c.query.Get("hostedzoneid"), ResourceHostedZone))
	if err != nil {
		return err
	}
	q := dnsserver.AnswerRequest{Zone: z.Name, Name: dnsName(c.query.Get("recordname"))}
	if q.Qtype, _, err = zones.TypeCode(c.query.Get("recordtype")); err != nil {
		return invalidInput("recordtype: %v", err)
	}
	if v := c.query.Get("resolverip"); v != "" {
		if q.ResolverIP, err = netip.ParseAddr(v); err != nil {
			return invalidInput("resolverip %q is not an IP address", clip(v))
		}
	}
	if v := c.query.Get("edns0clientsubnetip"); v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return invalidInput("edns0clientsubnetip %q is not an IP address", clip(v))
		}
		mask := c.query.Get("edns0clientsubnetmask")
		if mask == "" { // Route 53's defaults
			mask = "24"
			if ip.Is6() {
				mask = "64"
			}
		}
		if q.ClientSubnet, err = netip.ParsePrefix(ip.String() + "/" + mask); err != nil {
			return invalidInput("edns0clientsubnetmask %q: want 0-32 (IPv4) or 0-128 (IPv6)", clip(mask))
		}
		q.ClientSubnet = q.ClientSubnet.Masked()
	} else if c.query.Get("edns0clientsubnetmask") != "" {
		return invalidInput("edns0clientsubnetmask: given without edns0clientsubnetip")
	}
	a, err := h.o.Answerer.TestDNSAnswer(q)
	if err != nil {
		return err
	}
	out := testDNSAnswerResponse{Nameserver: a.Nameserver, RecordName: c.query.Get("recordname"),
		RecordType: c.query.Get("recordtype"), RecordData: []string{}, Protocol: "UDP"}
	if a.Reply != nil {
		out.ResponseCode = dns.RcodeToString[a.Reply.Rcode]
		for _, rr := range a.Reply.Answer {
			out.RecordData = append(out.RecordData, zones.RdataString(rr))
		}
	}
	return h.ok(c, out)
}

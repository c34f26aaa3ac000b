package route53

import "net"

func (h *Handler) testDNSAnswer(c *call) error {
	q := DNSQuestion{
		ZoneID:     bareID(c.query.Get("hostedzoneid"), ResourceHostedZone),
		Name:       c.query.Get("recordname"),
		Type:       c.query.Get("recordtype"),
		ResolverIP: c.query.Get("resolverip"),
	}
	for _, p := range []string{"hostedzoneid", "recordname", "recordtype"} {
		if c.query.Get(p) == "" {
			return invalidInput("%s: required", p)
		}
	}
	if ip := c.query.Get("edns0clientsubnetip"); ip != "" {
		mask := c.query.Get("edns0clientsubnetmask")
		if mask == "" {
			mask = "24"
			if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
				mask = "64"
			}
		}
		q.ClientSubnet = ip + "/" + mask
	}
	if h.o.Answerer == nil {
		return notImplemented("TestDNSAnswer is not available on this server yet; query the DNS responder directly (e.g. dig @server name type)")
	}
	a, err := h.o.Answerer.TestDNSAnswer(c.ctx(), q)
	if err != nil {
		return err
	}
	out := testDNSAnswerResponse{Nameserver: a.Nameserver, RecordName: q.Name, RecordType: q.Type,
		RecordData: a.Records, ResponseCode: a.RCode, Protocol: a.Protocol}
	if out.RecordData == nil {
		out.RecordData = []string{}
	}
	return h.ok(c, out)
}

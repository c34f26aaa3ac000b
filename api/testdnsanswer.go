package api

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/zones"
)

// DNSAnswerer answers a question as the node's DNS responder would, and
// explains the routing decisions; dnsserver.Table satisfies it. Errors a
// caller caused are *zones.Error values.
type DNSAnswerer interface {
	TestDNSAnswer(q dnsserver.AnswerRequest) (dnsserver.AnswerResult, error)
}

var _ DNSAnswerer = (*dnsserver.Table)(nil)

// testDNSAnswerBody is the body of GET /v1/testdnsanswer (Route 53's
// TestDNSAnswer response, plus the explanation).
type testDNSAnswerBody struct {
	Nameserver   string                 `json:"nameserver"`
	RecordName   string                 `json:"recordName"`
	RecordType   string                 `json:"recordType"`
	RecordData   []string               `json:"recordData"`
	ResponseCode string                 `json:"responseCode"`
	Protocol     string                 `json:"protocol"`
	Explanation  *dnsserver.Explanation `json:"explanation,omitempty"`
}

// testDNSAnswer serves GET /v1/testdnsanswer: the answer the DNS responder
// of this node gives now, for a resolver at resolverIP and a client in
// clientSubnet (an address or a prefix; a bare address is taken as its /24
// or /64, Route 53's default masks).
func (s *Server) testDNSAnswer(c echo.Context) error {
	if s.opts.TestDNSAnswer == nil {
		return zones.Errorf(zones.CodeServiceUnavailable, "this node does not keep an answer snapshot, so it cannot test DNS answers")
	}
	q, err := query(c, "zoneId", "name", "type", "resolverIP", "clientSubnet", "explain")
	if err != nil {
		return err
	}
	zid := strings.TrimPrefix(strings.TrimPrefix(q.Get("zoneId"), "/"), "hostedzone/")
	if !validID(zid, 'Z') {
		return invalidInput("zoneId %q is not a hosted zone id (Z followed by 13-21 upper-case letters and digits, optionally as /hostedzone/ID)", clip(q.Get("zoneId")))
	}
	if q.Get("name") == "" {
		return invalidInput("name is required")
	}
	name, err := zones.CanonicalName(q.Get("name"))
	if err != nil {
		return invalidInput("name %q: %v", clip(q.Get("name")), err)
	}
	if q.Get("type") == "" {
		return invalidInput("type is required")
	}
	qtype, tname, err := zones.TypeCode(q.Get("type"))
	if err != nil {
		return invalidInput("type %q: %v", clip(q.Get("type")), err)
	}
	req := dnsserver.AnswerRequest{Name: name, Qtype: qtype}
	if v := q.Get("resolverIP"); v != "" {
		if req.ResolverIP, err = netip.ParseAddr(v); err != nil {
			return invalidInput("resolverIP %q is not an IP address", clip(v))
		}
		req.ResolverIP = req.ResolverIP.Unmap()
	}
	if v := q.Get("clientSubnet"); v != "" {
		if req.ClientSubnet, err = parseClientSubnet(v); err != nil {
			return err
		}
	}
	explain := false
	if v := q.Get("explain"); v != "" {
		if explain, err = strconv.ParseBool(v); err != nil {
			return invalidInput("explain %q: want true or false", clip(v))
		}
	}
	z, err := s.store.GetZone(c.Request().Context(), zid)
	if err != nil {
		return err
	}
	req.Zone = z.Name
	res, err := s.opts.TestDNSAnswer.TestDNSAnswer(req)
	if err != nil {
		return err
	}
	body := testDNSAnswerBody{
		Nameserver:   res.Nameserver,
		RecordName:   name,
		RecordType:   tname,
		RecordData:   []string{},
		ResponseCode: dns.RcodeToString[res.Reply.Rcode],
		Protocol:     "UDP",
	}
	for _, rr := range res.Reply.Answer {
		body.RecordData = append(body.RecordData, zones.RdataString(rr))
	}
	if explain {
		body.Explanation = &res.Explanation
	}
	return c.JSON(http.StatusOK, body)
}

// parseClientSubnet reads an address or a prefix; host bits are cleared.
func parseClientSubnet(v string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, invalidInput("clientSubnet %q is neither an IP address nor a prefix such as 198.51.100.0/24", clip(v))
	}
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 64
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

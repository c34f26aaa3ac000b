package dnsserver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// Explanation says why Answer gave its reply: each routing decision taken
// on the way (a CNAME chain or an alias tree takes several), in order.
type Explanation struct {
	// Client is the address routing decided on: the EDNS Client Subnet
	// when the query carried one, else the resolver's address; "" if
	// neither is known.
	Client string `json:"client,omitempty"`
	// ClientSource is "ecs", "resolver" or "".
	ClientSource string `json:"clientSource,omitempty"`
	// ScopePrefixLength is the ECS scope of the reply (with ECS only).
	ScopePrefixLength *int `json:"scopePrefixLength,omitempty"`
	// Steps are the record sets answered, each with its candidates and
	// the rule that chose among them.
	Steps []Step `json:"steps"`
}

// Step is one routing decision: the record sets of one name and type.
type Step struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Policy is simple, weighted, failover, multivalue, cidr, latency,
	// geolocation or mixed.
	Policy string `json:"policy"`
	// Depth is 0 for a name the query reached, 1 and more for alias
	// targets.
	Depth int `json:"depth"`
	// Rule says what chose, in words.
	Rule string `json:"rule"`
	// Location is the CIDR location the client matched, if any.
	Location string `json:"location,omitempty"`
	// Chosen are the set identifiers answered.
	Chosen     []string    `json:"chosen"`
	Candidates []Candidate `json:"candidates"`
}

// Candidate is one record set of a step, with its health at query time.
type Candidate struct {
	SetIdentifier        string   `json:"setIdentifier"`
	Weight               *int64   `json:"weight,omitempty"`
	Failover             string   `json:"failover,omitempty"`
	CollectionID         string   `json:"collectionId,omitempty"`
	LocationName         string   `json:"locationName,omitempty"`
	HealthCheckID        string   `json:"healthCheckId,omitempty"`
	AliasTarget          string   `json:"aliasTarget,omitempty"`
	EvaluateTargetHealth bool     `json:"evaluateTargetHealth,omitempty"`
	Healthy              bool     `json:"healthy"`
	Values               []string `json:"values,omitempty"`
}

// tracer collects the steps of one Explain call.
type tracer struct {
	steps []Step
}

func (t *tracer) step(s Step) { t.steps = append(t.steps, s) }

// explain records a routing decision when tracing.
func (b *answerBuilder) explain(z *zone, name string, rs *rrset, depth int, rule, location string, chosen ...int) {
	if b.trace == nil {
		return
	}
	r := rs.route
	st := Step{Name: name, Type: typeString(rs.qtype), Policy: r.name, Depth: depth, Rule: rule,
		Location: location, Chosen: []string{}, Candidates: make([]Candidate, 0, len(r.cands))}
	for _, i := range chosen {
		if i >= 0 {
			st.Chosen = append(st.Chosen, r.cands[i].set.SetIdentifier)
		}
	}
	// Health is evaluated without tracing, so that the alias targets it
	// looks at do not show as steps of their own.
	saved, checks := b.trace, b.targetChecks
	b.trace = nil
	for i := range r.cands {
		c := &r.cands[i]
		s := c.set
		ec := Candidate{
			SetIdentifier: s.SetIdentifier, Weight: s.Weight, Failover: s.Failover,
			HealthCheckID: c.check, AliasTarget: c.alias, EvaluateTargetHealth: c.evaluate,
			CollectionID: c.coll, LocationName: c.location,
			Healthy: b.healthy(z, c, rs.qtype, depth),
		}
		for _, rr := range c.rrs {
			ec.Values = append(ec.Values, zones.RdataString(rr))
		}
		st.Candidates = append(st.Candidates, ec)
	}
	b.trace, b.targetChecks = saved, checks
	b.trace.step(st)
}

// clientString describes the address routing decides on.
func (b *answerBuilder) clientString() string {
	switch {
	case !b.client.IsValid():
		return "an unknown client"
	case b.fromECS:
		return b.client.String() + " (EDNS Client Subnet)"
	}
	return b.client.Addr().String() + " (resolver address)"
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return zones.TypeString(t)
}

// Explain answers qname and qtype from snap as Answer would for a UDP query
// with EDNS from resolver, carrying clientSubnet as EDNS Client Subnet when
// it is valid, and says why: the candidates of each routing decision, their
// health and weights, and the rule that chose. resolver may be the zero
// Addr (unknown). Random choices are drawn afresh: two calls may differ as
// two queries would.
func Explain(snap *Snapshot, qname string, qtype uint16, resolver netip.Addr, clientSubnet netip.Prefix) (*dns.Msg, Explanation) {
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(qname), qtype)
	req.RecursionDesired = false
	req.SetEdns0(MaxUDPSize, false)
	if clientSubnet.IsValid() {
		p := clientSubnet.Masked()
		ecs := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: uint8(p.Bits())}
		if p.Addr().Is4() {
			ecs.Family = 1
			a := p.Addr().As4()
			ecs.Address = a[:]
		} else {
			ecs.Family = 2
			a := p.Addr().As16()
			ecs.Address = a[:]
		}
		o := req.IsEdns0()
		o.Option = append(o.Option, ecs)
	}
	var remote netip.AddrPort
	if resolver.IsValid() {
		remote = netip.AddrPortFrom(resolver, 53)
	}
	t := &tracer{steps: []Step{}}
	var info answerInfo
	m := answer(snap, req, UDP, remote, t, &info)
	ex := Explanation{Steps: t.steps}
	if info.client.IsValid() {
		ex.Client = info.client.String()
		ex.ClientSource = "resolver"
		if info.fromECS {
			ex.ClientSource = "ecs"
		} else {
			ex.Client = info.client.Addr().String()
		}
	}
	if info.ecs {
		s := max(info.scope, 0)
		ex.ScopePrefixLength = &s
	}
	return m, ex
}

// AnswerRequest is a question for Table.TestDNSAnswer (Route 53's
// TestDNSAnswer): a name in a hosted zone, asked as a resolver at ResolverIP
// would ask it, for a client in ClientSubnet.
type AnswerRequest struct {
	// Zone is the canonical origin of the hosted zone, e.g. "example.com.".
	Zone string
	// Name is the name asked (any case, with or without the final dot).
	Name  string
	Qtype uint16
	// ResolverIP is the resolver's address (the zero Addr: unknown).
	ResolverIP netip.Addr
	// ClientSubnet is sent as EDNS Client Subnet when valid.
	ClientSubnet netip.Prefix
}

// AnswerResult is Table.TestDNSAnswer's result.
type AnswerResult struct {
	// Nameserver is the name server that answered: the first NS of the
	// zone's apex (its SOA MNAME when it has none).
	Nameserver  string
	Reply       *dns.Msg
	Explanation Explanation
}

// TestDNSAnswer answers q from the current snapshot as the DNS responder
// would, and explains it. Errors are *zones.Error values: NoSuchHostedZone
// when this node does not serve the zone (yet), InvalidInput when the name
// is not in it.
func (t *Table) TestDNSAnswer(q AnswerRequest) (AnswerResult, error) {
	snap := t.Load()
	origin := canonicalName(q.Zone)
	z := snap.zones[origin]
	if z == nil {
		return AnswerResult{}, zones.Errorf(zones.CodeNoSuchHostedZone, "this node does not serve a zone %s (yet)", origin)
	}
	if _, ok := dns.IsDomainName(q.Name); !ok || strings.TrimSpace(q.Name) == "" {
		return AnswerResult{}, zones.Errorf(zones.CodeInvalidInput, "recordName %q is not a domain name", q.Name)
	}
	name := canonicalName(q.Name)
	if !inZone(name, origin) {
		return AnswerResult{}, zones.Errorf(zones.CodeInvalidInput, "recordName %s is not in zone %s", name, origin)
	}
	m, ex := Explain(snap, name, q.Qtype, q.ResolverIP, q.ClientSubnet)
	ns := ""
	if z.apex != nil {
		if rs := z.apex.get(dns.TypeNS); rs != nil && len(rs.rrs) > 0 {
			ns = rs.rrs[0].(*dns.NS).Ns
		}
	}
	if s, ok := z.soa.(*dns.SOA); ok && ns == "" {
		ns = s.Ns
	}
	return AnswerResult{Nameserver: ns, Reply: m, Explanation: ex}, nil
}

package dnsserver

import (
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// Health reports the status of health checks. Implementations must be safe
// for concurrent use and cheap: Healthy is called on the query path, once
// per candidate record set. An unknown id is healthy. healthcheck.Monitor
// satisfies it.
type Health interface {
	Healthy(checkID string) bool
}

// CIDRSource maps a client address to a location of a CIDR collection: the
// location whose block is the longest prefix holding addr, and that block's
// length. Implementations must be safe for concurrent use and must not block:
// Lookup is called on the query path.
type CIDRSource interface {
	Lookup(collectionID string, addr netip.Addr) (location string, bits int, ok bool)
}

// DefaultLocation is the CIDR location that answers clients no block of the
// collection holds (Route 53's "*").
const DefaultLocation = "*"

// maxMultiValues is how many values a multivalue answer holds at most.
const maxMultiValues = 8

// maxTargetChecks bounds the alias target health evaluations of one query:
// a zone of wide alias trees that evaluate target health must not make one
// query cost (width ^ maxAliasDepth) steps. Past it, targets count as
// unhealthy.
const maxTargetChecks = 512

// SetHealth makes h the health source of every snapshot published from now
// on (the current one included). nil means every check is healthy.
func (t *Table) SetHealth(h Health) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := *t.cur.Load()
	next.health = h
	t.cur.Store(&next)
}

// SetCIDRSource makes c the CIDR collections of every snapshot published
// from now on (the current one included). nil means no collection has
// blocks: IP-based record sets answer with their "*" location only.
func (t *Table) SetCIDRSource(c CIDRSource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := *t.cur.Load()
	next.cidr = c
	t.cur.Store(&next)
}

// policy is how the record sets of one name and type are chosen.
type policy uint8

const (
	// policyUnion answers with the union of the healthy sets (all of them
	// when none is healthy): simple routing, and for now latency and
	// geolocation routing, and sets that mix policies.
	policyUnion policy = iota
	policyWeighted
	policyFailover
	policyMultivalue
	policyCIDR
)

// candidate is one record set of a routed RRset, as the query path needs it.
type candidate struct {
	set      *zones.Set
	check    string   // health check id, "" for none
	rrs      []dns.RR // own records (union and multivalue: at the group's TTL); nil for an alias
	alias    string   // canonical alias target, "" for none
	evaluate bool     // evaluateTargetHealth
	weight   uint32
	primary  bool
	location string // CIDR location
	coll     string // CIDR collection id
	wire     []byte // rrs packed as an answer section (see route.prepare)
}

// route is what a routed RRset chooses from, precomputed when the snapshot
// is built so that a query only asks for health and draws.
type route struct {
	policy      policy
	name        string // the policy as zones.Set.Policy names it, or "simple"
	cands       []candidate
	primary     int      // failover: the PRIMARY candidate, or -1
	secondary   int      // failover: the SECONDARY candidate, or -1
	def         int      // CIDR: the "*" candidate, or -1
	collections []string // CIDR: distinct collection ids
	fast        bool     // every candidate has wire; the fast path may answer
}

// prepare packs each candidate's records for the fast path, which answers
// weighted and failover sets with one candidate's octets, and multivalue
// and union sets of A or AAAA records by joining records of several (their
// records carry no names but the owner, a pointer to the question, so they
// can be laid side by side). Aliases, CIDR routing and records that need
// in-zone additional processing take the slow path.
func (r *route) prepare(rs *rrset, name, origin string, p *packer) {
	r.fast = false
	switch r.policy {
	case policyWeighted, policyFailover:
	case policyMultivalue, policyUnion:
		if rs.qtype != dns.TypeA && rs.qtype != dns.TypeAAAA {
			return
		}
		if r.policy == policyUnion && rs.wire == nil {
			return
		}
	default:
		return
	}
	for _, t := range rs.targets {
		if inZone(t, origin) {
			return
		}
	}
	for i := range r.cands {
		if c := &r.cands[i]; c.alias != "" || len(c.rrs) == 0 {
			return
		}
	}
	for i := range r.cands {
		c := &r.cands[i]
		body, err := p.pack(name, rs.qtype, ownedBy(c.rrs, name), nil)
		if err != nil || !fitsUDP(name, len(body)) {
			return
		}
		c.wire = p.arena.copy(body)
	}
	r.fast = true
}

// buildRoute returns the route of the sets of one name and type, or nil when
// plain records answer: no routing policy, alias or health check.
func buildRoute(qt uint16, sets []*zones.Set) *route {
	needed, mixed := false, false
	pol := ""
	for i, s := range sets {
		p := s.Policy()
		if i == 0 {
			pol = p
		} else if p != pol {
			mixed = true
		}
		if p != "" || s.CheckID != "" || s.RRs == nil {
			needed = true
		}
	}
	if !needed || qt == dns.TypeRRSIG {
		return nil
	}
	r := &route{policy: policyUnion, name: pol, primary: -1, secondary: -1, def: -1}
	if !mixed {
		switch pol {
		case "weighted":
			r.policy = policyWeighted
		case "failover":
			r.policy = policyFailover
		case "multivalue":
			r.policy = policyMultivalue
		case "cidr":
			r.policy = policyCIDR
		}
	} else {
		r.name = "mixed"
	}
	if r.name == "" {
		r.name = "simple"
	}
	// RFC 2181 5.2: records answered together share one TTL.
	var minTTL uint32
	first := true
	for _, s := range sets {
		for _, rr := range s.RRs {
			if t := rr.Header().Ttl; first || t < minTTL {
				minTTL, first = t, false
			}
		}
	}
	r.cands = make([]candidate, len(sets))
	for i, s := range sets {
		c := &r.cands[i]
		c.set = s
		c.check = s.CheckID
		c.rrs = s.RRs
		if s.RRs == nil && s.AliasTarget != nil && s.AliasTarget.DNSName != "" {
			c.alias = canonicalName(s.AliasTarget.DNSName)
			c.evaluate = s.AliasTarget.EvaluateTargetHealth
		}
		if (r.policy == policyUnion || r.policy == policyMultivalue) && len(s.RRs) > 0 && s.RRs[0].Header().Ttl != minTTL {
			c.rrs = withTTL(s.RRs, minTTL)
		}
		if s.Weight != nil && *s.Weight > 0 {
			c.weight = uint32(min(*s.Weight, 255))
		}
		switch s.Failover {
		case zones.FailoverPrimary:
			c.primary = true
			if r.primary < 0 {
				r.primary = i
			}
		case zones.FailoverSecondary:
			if r.secondary < 0 {
				r.secondary = i
			}
		}
		if s.CidrRouting != nil {
			c.coll, c.location = s.CidrRouting.CollectionID, s.CidrRouting.LocationName
			if c.location == DefaultLocation {
				if r.def < 0 {
					r.def = i
				}
			} else if !contains(r.collections, c.coll) {
				r.collections = append(r.collections, c.coll)
			}
		}
	}
	return r
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func withTTL(rrs []dns.RR, ttl uint32) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Ttl = ttl
		out[i] = c
	}
	return out
}

// healthy reports whether a candidate is healthy (Route 53's rules): its
// health check, if any, is healthy, and for an alias that evaluates target
// health, its target has a healthy answer.
func (b *answerBuilder) healthy(z *zone, c *candidate, qtype uint16, depth int) bool {
	if c.check != "" && b.health != nil && !b.health.Healthy(c.check) {
		return false
	}
	if c.alias != "" && c.evaluate {
		return b.targetHealthy(z, c.alias, qtype, depth+1)
	}
	return true
}

// targetHealthy reports whether name answers qtype with at least one healthy
// record set (as this client would be routed). A missing target, an alias
// loop or a tree deeper than maxAliasDepth is unhealthy.
func (b *answerBuilder) targetHealthy(z *zone, name string, qtype uint16, depth int) bool {
	b.targetChecks++
	if depth > maxAliasDepth || b.targetChecks > maxTargetChecks || !inZone(name, z.origin) {
		return false
	}
	n, _ := z.resolve(name)
	if n == nil {
		return false
	}
	rs := n.get(qtype)
	if rs == nil {
		return false
	}
	r := rs.route
	if r == nil {
		return rs.count() > 0
	}
	if r.policy == policyCIDR {
		match, _, _ := b.cidrMatch(r)
		return (match >= 0 && b.healthy(z, &r.cands[match], qtype, depth)) ||
			(r.def >= 0 && b.healthy(z, &r.cands[r.def], qtype, depth))
	}
	for i := range r.cands {
		if b.healthy(z, &r.cands[i], qtype, depth) {
			return true
		}
	}
	return false
}

// pick returns the records rs answers with for this query, name being its
// owner: plain records as they are, routed ones as the policy, the health of
// the candidates and the client choose, aliases resolved. Records may carry
// another owner (an alias target's); the caller re-owns them. The result is
// shared: never modify it.
func (b *answerBuilder) pick(z *zone, name string, rs *rrset, depth int) []dns.RR {
	r := rs.route
	if r == nil {
		if b.trace != nil {
			b.trace.step(Step{Name: name, Type: typeString(rs.qtype), Policy: "simple", Depth: depth,
				Rule: "simple: the record set answers", Chosen: []string{}, Candidates: []Candidate{}})
		}
		return rs.records(name)
	}
	switch r.policy {
	case policyWeighted:
		i, rule := b.pickWeighted(z, rs, depth)
		if b.trace != nil {
			b.explain(z, name, rs, depth, rule, "", i)
		}
		b.chose(rs, i)
		return b.candRecords(z, rs, i, depth)
	case policyFailover:
		i, rule := b.pickFailover(z, rs, depth)
		if b.trace != nil {
			b.explain(z, name, rs, depth, rule, "", i)
		}
		b.chose(rs, i)
		return b.candRecords(z, rs, i, depth)
	case policyCIDR:
		i := b.pickCIDR(z, name, rs, depth)
		b.chose(rs, i)
		return b.candRecords(z, rs, i, depth)
	case policyMultivalue:
		return b.pickMultivalue(z, name, rs, depth)
	}
	return b.pickUnion(z, name, rs, depth)
}

// chose notes the first set a routing policy picked, for the query log.
func (b *answerBuilder) chose(rs *rrset, i int) {
	if b.setID == "" && i >= 0 {
		b.setID = rs.route.cands[i].set.SetIdentifier
	}
}

// candRecords returns candidate i's records, resolving an alias.
func (b *answerBuilder) candRecords(z *zone, rs *rrset, i int, depth int) []dns.RR {
	if i < 0 {
		return nil
	}
	c := &rs.route.cands[i]
	if c.alias == "" {
		return c.rrs
	}
	return b.resolveTarget(z, c.alias, rs.qtype, depth+1)
}

// resolveTarget answers an alias target: the records of name and qtype in
// the zone, routed in turn. Loops stop at maxAliasDepth.
func (b *answerBuilder) resolveTarget(z *zone, name string, qtype uint16, depth int) []dns.RR {
	if depth > maxAliasDepth || !inZone(name, z.origin) {
		return nil
	}
	n, _ := z.resolve(name)
	if n == nil {
		return nil
	}
	rs := n.get(qtype)
	if rs == nil {
		return nil
	}
	return b.pick(z, n.name, rs, depth)
}

// pickWeighted chooses one set at random with probability weight/sum among
// the healthy sets of weight > 0; failing those, among the healthy sets of
// weight 0; failing those (none healthy), among all sets as if healthy, by
// weight with weight-0 sets counting as 1 (Route 53's "Weighted routing" and "How Route 53 chooses records
// when health checking is configured").
func (b *answerBuilder) pickWeighted(z *zone, rs *rrset, depth int) (int, string) {
	cands := rs.route.cands
	var hb [32]bool
	healthy := hb[:0]
	var sumHealthy, sumAll uint32
	zeroHealthy := 0
	for i := range cands {
		h := b.healthy(z, &cands[i], rs.qtype, depth)
		healthy = append(healthy, h)
		sumAll += cands[i].weight
		if h {
			if cands[i].weight > 0 {
				sumHealthy += cands[i].weight
			} else {
				zeroHealthy++
			}
		}
	}
	switch {
	case sumHealthy > 0:
		return drawWeighted(cands, healthy, sumHealthy), "weighted: chose by weight among the healthy sets of weight > 0"
	case zeroHealthy > 0:
		k := rand.IntN(zeroHealthy)
		for i := range cands {
			if healthy[i] && cands[i].weight == 0 {
				if k == 0 {
					rule := "weighted: no set of weight > 0 is healthy; chose at random among the healthy sets of weight 0"
					if sumAll == 0 {
						rule = "weighted: every weight is 0; chose at random among the healthy sets"
					}
					return i, rule
				}
				k--
			}
		}
	case len(cands) > 0:
		// No set is healthy: all count as healthy, and since every set of
		// weight > 0 is down, the weight-0 sets are served too — each with
		// the share of weight 1 (healthdns's reading of Route 53's two
		// rules together; Route 53's own table leaves weight-0 sets out).
		var sum uint32
		for i := range cands {
			sum += max(cands[i].weight, 1)
		}
		r := rand.Uint32N(sum)
		for i := range cands {
			w := max(cands[i].weight, 1)
			if r < w {
				return i, "weighted: no set is healthy, so all count as healthy; chose by weight among all sets, weight-0 sets counting as 1"
			}
			r -= w
		}
	}
	return -1, "weighted: no record set"
}

// drawWeighted draws a candidate with probability weight/sum among those
// healthy (all if healthy is nil).
func drawWeighted(cands []candidate, healthy []bool, sum uint32) int {
	r := rand.Uint32N(sum)
	for i := range cands {
		if healthy != nil && !healthy[i] {
			continue
		}
		w := cands[i].weight
		if r < w {
			return i
		}
		r -= w
	}
	return -1 // not reached: sum is the total of the weights drawn over
}

// pickFailover answers with the primary when it is healthy, else the
// secondary when it is healthy, else the primary (both unhealthy: Route 53
// treats all as healthy). A lone primary or secondary answers alone.
func (b *answerBuilder) pickFailover(z *zone, rs *rrset, depth int) (int, string) {
	r := rs.route
	p, s := r.primary, r.secondary
	switch {
	case p < 0 && s < 0:
		return -1, "failover: no PRIMARY or SECONDARY record set"
	case p < 0:
		return s, "failover: only a SECONDARY record set"
	case b.healthy(z, &r.cands[p], rs.qtype, depth):
		return p, "failover: PRIMARY is healthy"
	case s < 0:
		return p, "failover: PRIMARY is unhealthy and there is no SECONDARY; PRIMARY answers"
	case b.healthy(z, &r.cands[s], rs.qtype, depth):
		return s, "failover: PRIMARY is unhealthy and SECONDARY is healthy"
	}
	return p, "failover: PRIMARY and SECONDARY are both unhealthy, so both count as healthy; PRIMARY answers"
}

// cidrMatch finds the client's location in the route's collections: the
// candidate of the longest block holding the client (-1 if none, or no set
// answers that location), the location and the block's length. A block
// longer than an EDNS Client Subnet's source prefix does not match it (the
// client is not known to lie in it), as in Route 53. It widens the ECS scope
// of the reply to what the decision depended on.
func (b *answerBuilder) cidrMatch(r *route) (match int, location string, bits int) {
	match, bits = -1, -1
	if !b.client.IsValid() || b.cidr == nil {
		return match, "", bits
	}
	addr := b.client.Addr()
	for _, coll := range r.collections {
		loc, n, ok := b.cidr.Lookup(coll, addr)
		if !ok || n > b.client.Bits() || n <= bits {
			continue
		}
		location, bits = loc, n
		match = -1
		for i := range r.cands {
			if c := &r.cands[i]; c.coll == coll && c.location == loc {
				match = i
				break
			}
		}
	}
	scope := b.client.Bits() // no match: only this subnet is known to miss every block
	if bits >= 0 {
		scope = bits
	}
	b.scope = max(b.scope, scope)
	return match, location, bits
}

// pickCIDR answers with the set of the client's location; when that set is
// unhealthy and the "*" set is healthy, or no block holds the client, with
// the "*" set; with neither, NODATA (-1). When the location and "*" are both
// unhealthy, the location answers (all unhealthy means all healthy).
func (b *answerBuilder) pickCIDR(z *zone, name string, rs *rrset, depth int) int {
	r := rs.route
	match, loc, bits := b.cidrMatch(r)
	i, why := -1, cidrNoData
	switch {
	case match >= 0 && b.healthy(z, &r.cands[match], rs.qtype, depth):
		i, why = match, cidrMatched
	case match >= 0 && r.def >= 0 && b.healthy(z, &r.cands[r.def], rs.qtype, depth):
		i, why = r.def, cidrMatchedUnhealthy
	case match >= 0:
		i, why = match, cidrAllUnhealthy
	case r.def >= 0:
		i, why = r.def, cidrDefault
	}
	if b.trace != nil {
		b.explain(z, name, rs, depth, cidrRule(why, b.clientString(), loc, bits), loc, i)
	}
	return i
}

type cidrWhy uint8

const (
	cidrNoData cidrWhy = iota
	cidrMatched
	cidrMatchedUnhealthy
	cidrAllUnhealthy
	cidrDefault
)

func cidrRule(why cidrWhy, client, loc string, bits int) string {
	in := "cidr: no block of the collection holds " + client
	if bits >= 0 {
		in = "cidr: " + client + " is in location " + loc + " (a /" + strconv.Itoa(bits) + " block)"
	}
	switch why {
	case cidrMatched:
		return in + ", whose record set is healthy"
	case cidrMatchedUnhealthy:
		return in + ", whose record set is unhealthy; the healthy \"*\" record set answers"
	case cidrAllUnhealthy:
		return in + "; its record set and any \"*\" one are unhealthy, so all count as healthy and it answers"
	case cidrDefault:
		if bits >= 0 {
			return in + ", which no record set answers; \"*\" answers"
		}
		return in + "; \"*\" answers"
	}
	if bits >= 0 {
		return in + ", which no record set answers, and there is no \"*\" record set: NODATA"
	}
	return in + " and there is no \"*\" record set: NODATA"
}

// pickMultivalue answers with up to eight values drawn at random from the
// healthy sets; when none is healthy, from all of them.
func (b *answerBuilder) pickMultivalue(z *zone, name string, rs *rrset, depth int) []dns.RR {
	cands := rs.route.cands
	var ib [32]int
	idx := ib[:0]
	for i := range cands {
		if b.healthy(z, &cands[i], rs.qtype, depth) {
			idx = append(idx, i)
		}
	}
	rule := "multivalue: up to 8 values at random from the healthy record sets"
	if len(idx) == 0 {
		rule = "multivalue: no record set is healthy, so all count as healthy; up to 8 values at random from all"
		for i := range cands {
			idx = append(idx, i)
		}
	}
	out := make([]dns.RR, 0, min(maxMultiValues, len(idx)))
	var chosen []int
	mark := 0
	if b.trace != nil {
		mark = len(b.trace.steps)
	}
	for k := 0; k < len(idx) && len(out) < maxMultiValues; k++ {
		j := k + rand.IntN(len(idx)-k)
		idx[k], idx[j] = idx[j], idx[k]
		before := len(out)
		out = appendUnique(out, b.candRecords(z, rs, idx[k], depth), name, maxMultiValues)
		if b.trace != nil && len(out) > before {
			chosen = append(chosen, idx[k])
		}
	}
	if b.trace != nil {
		// The decision goes before those of the alias targets it led to.
		b.explain(z, name, rs, depth, rule, "", chosen...)
		st := b.trace.steps[len(b.trace.steps)-1]
		copy(b.trace.steps[mark+1:], b.trace.steps[mark:len(b.trace.steps)-1])
		b.trace.steps[mark] = st
	}
	return out
}

// pickUnion answers with the records of every healthy set (of all sets when
// none is healthy), aliases resolved.
func (b *answerBuilder) pickUnion(z *zone, name string, rs *rrset, depth int) []dns.RR {
	cands := rs.route.cands
	var hb [32]bool
	healthy := hb[:0]
	n, aliases := 0, false
	for i := range cands {
		h := b.healthy(z, &cands[i], rs.qtype, depth)
		healthy = append(healthy, h)
		if h {
			n++
		}
		aliases = aliases || cands[i].alias != ""
	}
	if b.trace != nil {
		rule := "simple: the records of every healthy record set"
		switch r := rs.route; {
		case r.name == "latency" || r.name == "geolocation":
			rule = r.name + " routing is not implemented: the records of every healthy record set"
		case r.name == "mixed":
			rule = "mixed routing policies: the records of every healthy record set"
		}
		if n == 0 {
			rule += " (none is healthy, so all count as healthy)"
		}
		var chosen []int
		for i := range cands {
			if n == 0 || healthy[i] {
				chosen = append(chosen, i)
			}
		}
		b.explain(z, name, rs, depth, rule, "", chosen...)
	}
	if !aliases && (n == 0 || n == len(cands)) {
		return rs.rrs // the precomputed union
	}
	var out []dns.RR
	for i := range cands {
		if n == 0 || healthy[i] {
			out = appendUnique(out, b.candRecords(z, rs, i, depth), name, 0)
		}
	}
	return out
}

// appendUnique appends the records of rrs not yet in out, owned by owner,
// stopping at limit records (0: no limit).
func appendUnique(out, rrs []dns.RR, owner string, limit int) []dns.RR {
	for _, rr := range rrs {
		if limit > 0 && len(out) >= limit {
			break
		}
		if rr.Header().Name != owner {
			rr = dns.Copy(rr)
			rr.Header().Name = owner
		}
		if !containsDup(out, rr) {
			out = append(out, rr)
		}
	}
	return out
}

// ownedBy returns rrs owned by name, copying only the records owned by
// another name.
func ownedBy(rrs []dns.RR, name string) []dns.RR {
	for i, rr := range rrs {
		if rr.Header().Name == name {
			continue
		}
		out := make([]dns.RR, len(rrs))
		copy(out, rrs[:i])
		for j := i; j < len(rrs); j++ {
			out[j] = rrs[j]
			if rrs[j].Header().Name != name {
				c := dns.Copy(rrs[j])
				c.Header().Name = name
				out[j] = c
			}
		}
		return out
	}
	return rrs
}

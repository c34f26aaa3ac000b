package dnsserver

import (
	"fmt"
	"net/netip"

	"github.com/miekg/dns"
)

// Transport says how a query arrived; it decides the size limit of the reply.
type Transport uint8

// Transports.
const (
	UDP Transport = iota
	TCP
)

func (t Transport) String() string {
	if t == TCP {
		return "tcp"
	}
	return "udp"
}

const (
	// MaxUDPSize is the largest UDP reply sent and the size advertised in
	// OPT: NSD's default, the DNS Flag Day 2020 value.
	MaxUDPSize = 1232
	// maxChain bounds the CNAME and DNAME links followed for one query;
	// loops stop earlier, at the first repeated record set.
	maxChain = 64
	// maxAliasDepth bounds alias-to-alias resolution.
	maxAliasDepth = 8
)

// Answer computes the reply to req from snap. It is pure but for the random
// draws of routing policies and the live health the snapshot consults: the
// caller only writes the result. remote is the resolver's address, which
// IP-based routing uses when the query carries no EDNS Client Subnet.
// Answer never returns nil; a reply to UDP never exceeds the client's EDNS
// buffer size (at most MaxUDPSize, 512 without EDNS).
func Answer(snap *Snapshot, req *dns.Msg, tr Transport, remote netip.AddrPort) *dns.Msg {
	return answer(snap, req, tr, remote, nil, nil)
}

// answerInfo reports what routing decided on, for Explain.
type answerInfo struct {
	client  netip.Prefix
	fromECS bool
	ecs     bool // the query carried a valid ECS option
	scope   int
	setID   string // the first set a routing policy chose
	zone    *zone  // the hosted zone of the query name; nil: none (REFUSED)
}

// answer is Answer, recording routing decisions in trace and info when they
// are not nil.
func answer(snap *Snapshot, req *dns.Msg, tr Transport, remote netip.AddrPort, trace *tracer, info *answerInfo) *dns.Msg {
	m := &dns.Msg{Compress: true}
	m.Id = req.Id
	m.Response = true
	m.Opcode = req.Opcode
	m.RecursionDesired = req.RecursionDesired
	m.CheckingDisabled = req.CheckingDisabled

	// EDNS (RFC 6891): at most one OPT, in the additional section, owned by
	// the root.
	var opt *dns.OPT
	nopt, badOPT := 0, false
	for _, rr := range req.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			nopt++
			if opt == nil {
				opt = o
			}
			if o.Hdr.Name != "." {
				badOPT = true
			}
		}
	}
	ecs, badECS := clientSubnet(opt)
	for _, sec := range [2][]dns.RR{req.Answer, req.Ns} {
		for _, rr := range sec {
			if _, ok := rr.(*dns.OPT); ok {
				badOPT = true // OPT belongs in the additional section only
			}
		}
	}
	var replyOPT *dns.OPT
	if opt != nil || badOPT {
		replyOPT = &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		replyOPT.SetUDPSize(MaxUDPSize)
		if opt != nil && opt.Do() {
			replyOPT.SetDo()
		}
	}
	errorReply := func(rcode int, withQuestion bool) *dns.Msg {
		m.Rcode = rcode
		if withQuestion && len(req.Question) == 1 {
			m.Question = req.Question
		}
		if replyOPT != nil {
			m.Extra = []dns.RR{replyOPT}
		}
		return m
	}

	switch {
	case req.Opcode != dns.OpcodeQuery:
		return errorReply(dns.RcodeNotImplemented, true)
	case len(req.Question) != 1 || req.Truncated || len(req.Answer) != 0 || len(req.Ns) != 0:
		return errorReply(dns.RcodeFormatError, false)
	case nopt > 1 || badOPT || badECS:
		return errorReply(dns.RcodeFormatError, true)
	case opt != nil && opt.Version() != 0:
		return errorReply(dns.RcodeBadVers, true)
	}

	q := req.Question[0]
	m.Question = req.Question
	switch {
	case q.Qclass != dns.ClassINET:
		return errorReply(dns.RcodeRefused, true)
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		// Zone transfers are not offered.
		return errorReply(dns.RcodeRefused, true)
	}

	b := answerBuilder{
		snap:   snap,
		health: snap.health,
		cidr:   snap.cidr,
		qtype:  q.Qtype,
		do:     opt != nil && opt.Do(),
		scope:  -1,
		trace:  trace,
	}
	// IP-based routing decides on the EDNS Client Subnet (RFC 7871), else
	// on the resolver's address. A SOURCE PREFIX-LENGTH of 0 gives none.
	switch {
	case ecs != nil && ecs.SourceNetmask > 0:
		b.client, b.fromECS = ecsPrefix(ecs), true
	case remote.Addr().IsValid():
		a := remote.Addr().Unmap()
		b.client = netip.PrefixFrom(a, a.BitLen())
	}
	var ents [6]entry // room for most replies: one allocation instead of several
	b.ents = ents[:0]
	qname := lowerASCII(q.Name)
	b.run(qname)
	if info != nil {
		*info = answerInfo{client: b.client, fromECS: b.fromECS, ecs: ecs != nil, scope: b.scope, setID: b.setID, zone: b.zone}
	}
	if ecs != nil {
		// RFC 7871 7.2.1: echo FAMILY, SOURCE PREFIX-LENGTH and ADDRESS;
		// SCOPE PREFIX-LENGTH says how much of the address the answer
		// depended on (0: not at all).
		scope := 0
		if b.fromECS {
			scope = max(b.scope, 0)
		}
		replyOPT.Option = []dns.EDNS0{&dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: ecs.Family, SourceNetmask: ecs.SourceNetmask,
			SourceScope: uint8(scope), Address: ecs.Address,
		}}
	}

	m.Rcode = b.rcode
	m.Authoritative = b.aa
	limit := dns.MaxMsgSize
	if tr == UDP {
		limit = dns.MinMsgSize
		if opt != nil {
			limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), MaxUDPSize)
		}
	}
	if qname != q.Name {
		// Size the reply as Pack will write it: compressed against the
		// lower-case question, whose case is restored afterwards.
		m.Question = []dns.Question{{Name: qname, Qtype: q.Qtype, Qclass: q.Qclass}}
		b.fill(m, replyOPT, limit)
		m.Question = req.Question
		return m
	}
	b.fill(m, replyOPT, limit)
	return m
}

// Pack packs a reply from Answer into buf (which may be nil). Names compress
// against the question whatever the case the client used, as in NSD, so a
// reply has the same size for "WwW.Example.Org" as for "www.example.org":
// the message is packed with the question lower-cased and the client's
// spelling is then written back over it (pointers into the question then
// show the client's case too).
func Pack(m *dns.Msg, buf []byte) ([]byte, error) {
	if len(m.Question) != 1 {
		return m.PackBuffer(buf)
	}
	q := m.Question
	orig := q[0].Name
	lower := lowerASCII(orig)
	if lower == orig {
		return m.PackBuffer(buf)
	}
	m.Question = []dns.Question{{Name: lower, Qtype: q[0].Qtype, Qclass: q[0].Qclass}}
	out, err := m.PackBuffer(buf)
	m.Question = q
	if err != nil {
		return nil, err
	}
	var name [256]byte
	n, err := dns.PackDomainName(orig, name[:], 0, nil, false)
	const headerLen = 12
	if err != nil || len(out) < headerLen+n {
		return nil, fmt.Errorf("dnsserver: pack question %q: %v", orig, err)
	}
	copy(out[headerLen:headerLen+n], name[:n])
	return out, nil
}

// section numbers, in packet order; additional A before AAAA as NSD does, so
// that a referral keeps IPv4 glue first when space runs out.
const (
	secAnswer = iota
	secAuthority
	secAddA
	secAddAAAA
	numSections
)

// entry is one RRset placed in a section.
type entry struct {
	owner string // canonical owner, to add each RRset once
	qtype uint16
	sec   int
	rrs   []dns.RR
	sigs  []dns.RR
}

type answerBuilder struct {
	snap         *Snapshot
	health       Health
	cidr         CIDRSource
	client       netip.Prefix // the address routing decides on; invalid: unknown
	fromECS      bool         // client is the EDNS Client Subnet
	scope        int          // ECS scope the answer depended on; -1: none
	trace        *tracer      // nil except for Explain
	targetChecks int          // alias target health evaluations so far
	qtype        uint16
	do           bool
	rcode        int
	aa           bool
	chain        int
	referral     bool
	setID        string  // the first set a routing policy chose
	zone         *zone   // the zone of the query name (its first step's)
	ents         []entry // in the order added; fill orders them by section
}

// run answers for qname (canonical), following CNAME and DNAME links.
// Names are canonical throughout: Pack shows them in the client's case where
// they compress against the question, as NSD's replies do.
func (b *answerBuilder) run(qname string) {
	for name := qname; name != ""; {
		name = b.step(name)
		if b.chain > maxChain {
			return
		}
	}
}

// has reports whether the RRset is already in the reply (NSD's
// answer_add_rrset rule; it also detects CNAME and DNAME loops).
func (b *answerBuilder) has(owner string, qtype uint16) bool {
	for i := range b.ents {
		if b.ents[i].qtype == qtype && b.ents[i].owner == owner {
			return true
		}
	}
	return false
}

func (b *answerBuilder) add(sec int, e entry) bool {
	if len(e.rrs) == 0 || b.has(e.owner, e.qtype) {
		return false
	}
	e.sec = sec
	b.ents = append(b.ents, e)
	return true
}

// step answers name from its zone and returns the next name to follow, if any.
func (b *answerBuilder) step(name string) string {
	z := b.snap.zoneFor(name)
	if z == nil {
		if b.chain == 0 {
			b.rcode = dns.RcodeRefused
		}
		return ""
	}
	if b.zone == nil {
		b.zone = z
	}
	// RFC 4035 3.1.4.1: DS at a zone cut comes from the parent side, also
	// when the child zone is hosted here.
	dsParent := false
	if b.qtype == dns.TypeDS && name == z.origin && name != "." {
		if p := b.snap.zoneFor(parentName(name)); p != nil {
			z, dsParent = p, true
		}
	}
	if z.soa == nil {
		if b.chain == 0 {
			b.rcode = dns.RcodeServerFailure
		}
		return ""
	}

	var buf [maxLabels]int
	offs := labelOffsets(name, buf[:0])
	below := len(name) - len(z.origin) // labels of name starting before this are below the apex
	k := 0
	for k < len(offs) && offs[k] < below {
		k++
	}
	cur := z.apex
	if k > 0 && cur.dname != nil {
		return b.synthDNAME(z, cur, name)
	}
	exact := true
	for i := k - 1; i >= 0; i-- {
		n := z.node(name[offs[i]:])
		if n == nil {
			exact = false
			break
		}
		if n.cut {
			if i == 0 && b.qtype == dns.TypeDS {
				cur = n
				break
			}
			b.delegate(z, n)
			return ""
		}
		if i > 0 && n.dname != nil {
			return b.synthDNAME(z, n, name)
		}
		cur = n
	}
	if exact {
		return b.answerAt(z, cur, name, false)
	}
	if dsParent {
		// The name exists (it is a hosted zone's apex) though the parent
		// has no delegation for it: NODATA, as NSD answers.
		b.aa = true
		b.negative(z)
		return ""
	}
	if cur.wildChild {
		if w := z.wildcardOf(cur); w != nil {
			return b.answerAt(z, w, name, true)
		}
	}
	b.aa = true
	b.rcode = dns.RcodeNameError
	b.negative(z)
	return ""
}

// answerAt answers from node n for name; synth means n is the wildcard that
// matched, and its records are shown under name (RFC 4592).
func (b *answerBuilder) answerAt(z *zone, n *node, name string, synth bool) string {
	b.aa = true
	owner := n.name
	if synth {
		owner = name
	}
	if b.qtype == dns.TypeANY {
		for _, rs := range b.anyOrder(z, n) {
			if rrs, sigs := b.records(z, rs, n.name, owner, synth); len(rrs) > 0 {
				b.add(secAnswer, entry{owner: owner, qtype: rs.qtype, rrs: rrs, sigs: sigs})
				b.additional(z, rs, rrs)
				return ""
			}
		}
		b.negative(z)
		return ""
	}
	if rs := n.get(b.qtype); rs != nil {
		if rrs, sigs := b.records(z, rs, n.name, owner, synth); len(rrs) > 0 {
			b.add(secAnswer, entry{owner: owner, qtype: rs.qtype, rrs: rrs, sigs: sigs})
			b.additional(z, rs, rrs)
			return ""
		}
	} else if rs := n.cname; rs != nil {
		rrs, sigs := b.records(z, rs, n.name, owner, synth)
		if len(rrs) > 0 {
			if !b.add(secAnswer, entry{owner: owner, qtype: dns.TypeCNAME, rrs: rrs, sigs: sigs}) {
				return "" // loop
			}
			b.chain++
			target := rs.target
			if target == "" {
				target = canonicalName(rrs[0].(*dns.CNAME).Target)
			}
			return target
		}
	}
	b.negative(z)
	return ""
}

// anyOrder returns the RRsets that may answer ANY, best first. RFC 8482
// 4.1 allows one; like NSD, prefer small popular types over DNSSEC ones.
func (b *answerBuilder) anyOrder(z *zone, n *node) []*rrset {
	rank := func(t uint16) int {
		switch t {
		case dns.TypeSOA:
			return 0
		case dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypePTR:
			return 1
		case dns.TypeDNSKEY, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			return 3
		}
		return 2
	}
	var out [4][]*rrset
	for i := range n.rrsets {
		rs := &n.rrsets[i]
		if rs.qtype == dns.TypeRRSIG && b.do && z.signed > 0 {
			continue // RRSIGs come with the RRset they cover
		}
		r := rank(rs.qtype)
		out[r] = append(out[r], rs)
	}
	return append(append(append(out[0], out[1]...), out[2]...), out[3]...)
}

// records returns the RRset's records (and covering RRSIGs with DO) as shown
// under owner: chosen by routing, alias targets resolved, wildcard owners
// replaced. name is the owner of rs in the zone.
func (b *answerBuilder) records(z *zone, rs *rrset, name, owner string, synth bool) (rrs, sigs []dns.RR) {
	rrs = ownedBy(b.pick(z, name, rs, 0), owner)
	if b.do && z.signed > 0 {
		sigs = rs.sigs
		if synth {
			sigs = reown(sigs, owner)
		}
	}
	return rrs, sigs
}

func containsDup(rrs []dns.RR, rr dns.RR) bool {
	for _, o := range rrs {
		if dns.IsDuplicate(o, rr) {
			return true
		}
	}
	return false
}

// reown returns copies of rrs owned by name.
func reown(rrs []dns.RR, name string) []dns.RR {
	if len(rrs) == 0 {
		return nil
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = name
		out[i] = c
	}
	return out
}

// synthDNAME answers below the DNAME at d (RFC 6672): the DNAME, a CNAME
// synthesised from it, and the name to follow.
func (b *answerBuilder) synthDNAME(z *zone, d *node, name string) string {
	b.aa = true
	var sigs []dns.RR
	if b.do && z.signed > 0 {
		sigs = d.dname.sigs
	}
	if !b.add(secAnswer, entry{owner: d.name, qtype: dns.TypeDNAME, rrs: d.dname.rrs, sigs: sigs}) {
		return "" // loop
	}
	b.chain++
	prefix := name[:len(name)-len(d.name)]
	if d.name == "." {
		prefix = name
	}
	target := d.dname.target
	newName := prefix + target
	if target == "." {
		newName = prefix
	}
	if _, ok := dns.IsDomainName(newName); !ok || !fitsWire(newName) {
		b.rcode = dns.RcodeYXDomain
		return ""
	}
	cname := &dns.CNAME{
		Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: d.dname.rrs[0].Header().Ttl},
		Target: newName,
	}
	if !b.add(secAnswer, entry{owner: name, qtype: dns.TypeCNAME, rrs: []dns.RR{cname}}) || b.qtype == dns.TypeCNAME {
		// A CNAME query is answered by the synthesised CNAME itself.
		return ""
	}
	return newName
}

// fitsWire reports whether a presentation-format name packs into 255 octets.
func fitsWire(name string) bool {
	var buf [256]byte
	_, err := dns.PackDomainName(name, buf[:], 0, nil, false)
	return err == nil
}

// delegate answers with a referral to the zone cut at cut: no AA (unless a
// CNAME led here, as NSD does), the NS RRset in authority and glue.
func (b *answerBuilder) delegate(z *zone, cut *node) {
	b.aa = b.chain > 0
	b.referral = true
	ns := cut.get(dns.TypeNS)
	b.add(secAuthority, entry{owner: cut.name, qtype: dns.TypeNS, rrs: ns.rrs})
	if b.do && z.signed > 0 {
		if ds := cut.get(dns.TypeDS); ds != nil {
			b.add(secAuthority, entry{owner: cut.name, qtype: dns.TypeDS, rrs: ds.rrs, sigs: ds.sigs})
		}
	}
	b.addresses(z, ns.targets, true)
}

// negative adds the zone's SOA for NXDOMAIN and NODATA (RFC 2308).
func (b *answerBuilder) negative(z *zone) {
	var sigs []dns.RR
	if b.do && z.signed > 0 {
		sigs = z.sigSOA
	}
	b.add(secAuthority, entry{owner: z.origin, qtype: dns.TypeSOA, rrs: []dns.RR{z.negSOA}, sigs: sigs})
}

// additional adds addresses of in-zone NS, MX and SRV targets of the
// records answered, rrs.
func (b *answerBuilder) additional(z *zone, rs *rrset, rrs []dns.RR) {
	if len(rs.targets) == 0 {
		return
	}
	if rs.route == nil {
		b.addresses(z, rs.targets, rs.qtype == dns.TypeNS)
		return
	}
	var targets []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.NS:
			targets = append(targets, canonicalName(r.Ns))
		case *dns.MX:
			targets = append(targets, canonicalName(r.Mx))
		case *dns.SRV:
			targets = append(targets, canonicalName(r.Target))
		}
	}
	b.addresses(z, targets, rs.qtype == dns.TypeNS)
}

func (b *answerBuilder) addresses(z *zone, targets []string, allowGlue bool) {
	for _, t := range targets {
		if !inZone(t, z.origin) {
			continue
		}
		n, synth, belowCut := z.resolveFull(t)
		if n == nil || (belowCut && !allowGlue) {
			continue
		}
		owner := n.name
		if synth {
			owner = t
		}
		var sigs []dns.RR
		for i, qt := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
			rs := n.get(qt)
			if rs == nil || b.has(t, qt) {
				continue
			}
			rrs := ownedBy(b.pick(z, n.name, rs, 0), owner)
			if len(rrs) == 0 {
				continue
			}
			if b.do && z.signed > 0 {
				sigs = rs.sigs
				if synth {
					sigs = reown(sigs, owner)
				}
			}
			b.add(secAddA+i, entry{owner: t, qtype: qt, rrs: rrs, sigs: sigs})
		}
	}
}

// resolve returns the node answering for name inside z (exact, or the
// wildcard that covers it), ignoring cuts and DNAMEs.
func (z *zone) resolve(name string) (*node, bool) {
	n, synth, _ := z.resolveFull(name)
	return n, synth
}

// resolveFull is resolve that also reports whether name is at or below a
// zone cut (glue).
func (z *zone) resolveFull(name string) (n *node, synth, belowCut bool) {
	if z.apex == nil {
		return nil, false, false
	}
	var buf [maxLabels]int
	offs := labelOffsets(name, buf[:0])
	below := len(name) - len(z.origin)
	k := 0
	for k < len(offs) && offs[k] < below {
		k++
	}
	cur := z.apex
	for i := k - 1; i >= 0; i-- {
		c := z.node(name[offs[i]:])
		if c == nil {
			if cur.wildChild {
				if w := z.wildcardOf(cur); w != nil {
					return w, true, belowCut
				}
			}
			return nil, false, belowCut
		}
		if c.cut {
			belowCut = true
		}
		cur = c
	}
	return cur, false, belowCut
}

// fill puts the RRsets into m within limit octets, as NSD does: an answer or
// authority RRset that does not fit is left out with TC set and nothing
// follows; additional RRsets that do not fit are left out silently, except
// that a referral without any IPv4 glue that fits is TC.
func (b *answerBuilder) fill(m *dns.Msg, opt *dns.OPT, limit int) {
	put := func(sec int, rrs []dns.RR) {
		switch sec {
		case secAnswer:
			m.Answer = append(m.Answer, rrs...)
		case secAuthority:
			m.Ns = append(m.Ns, rrs...)
		default:
			m.Extra = append(m.Extra, rrs...)
		}
	}
	all := func(e *entry, sec int) {
		put(sec, e.rrs)
		if b.do {
			put(sec, e.sigs)
		}
	}
	var count [3]int
	for i := range b.ents {
		e := &b.ents[i]
		n := len(e.rrs)
		if b.do {
			n += len(e.sigs)
		}
		count[min(e.sec, 2)] += n
	}
	if opt != nil {
		count[2]++
	}
	m.Answer = make([]dns.RR, 0, count[0])
	m.Ns = make([]dns.RR, 0, count[1])
	m.Extra = make([]dns.RR, 0, count[2])
	for sec := range numSections {
		for i := range b.ents {
			if b.ents[i].sec == sec {
				all(&b.ents[i], sec)
			}
		}
	}
	if opt != nil {
		m.Extra = append(m.Extra, opt)
	}
	// The uncompressed length is cheap and bounds the compressed one.
	m.Compress = false
	fits := m.Len() <= limit
	m.Compress = true
	if fits || m.Len() <= limit {
		return
	}

	// Slow path: add RRset by RRset.
	m.Answer, m.Ns, m.Extra = nil, nil, nil
	if opt != nil {
		m.Extra = []dns.RR{opt}
	}
	mark := func() [3]int { return [3]int{len(m.Answer), len(m.Ns), len(m.Extra)} }
	undo := func(k [3]int) { m.Answer, m.Ns, m.Extra = m.Answer[:k[0]], m.Ns[:k[1]], m.Extra[:k[2]] }
	addedA := 0
	for sec := range numSections {
		for i := range b.ents {
			e := &b.ents[i]
			if e.sec != sec {
				continue
			}
			k := mark()
			all(e, sec)
			if m.Len() <= limit {
				if sec == secAddA {
					addedA++
				}
				continue
			}
			undo(k)
			if sec <= secAuthority || (sec == secAddA && b.referral && addedA == 0) {
				m.Truncated = true
			}
			b.finishExtra(m, opt)
			return
		}
	}
	b.finishExtra(m, opt)
}

// finishExtra moves the OPT record to the end of the additional section.
func (b *answerBuilder) finishExtra(m *dns.Msg, opt *dns.OPT) {
	if opt == nil || len(m.Extra) < 2 {
		return
	}
	extra := make([]dns.RR, 0, len(m.Extra))
	for _, rr := range m.Extra {
		if rr != opt {
			extra = append(extra, rr)
		}
	}
	m.Extra = append(extra, opt)
}

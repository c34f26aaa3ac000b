package dnsserver

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/miekg/dns"
)

// The fast path answers the common UDP query from prepared octets without
// unpacking it: one question of class IN, no other records but an optional
// OPT (version 0, no options but NSID, COOKIE or PADDING, which Answer
// ignores), a name of plain characters, and an answer that is prepared: an
// RRset of the name (routed by weighted, failover, multivalue or simple
// routing among non-alias sets included), NODATA, NXDOMAIN or REFUSED, that
// fits the client's buffer. Anything else returns ok false and takes the
// slow path (miekg/dns Unpack, Answer, Pack), which gives the same octets
// where both apply (TestFastPathMatchesSlowPath).

// fastQuery is what the fast path reads of a query.
type fastQuery struct {
	qend    int    // offset after the question
	qtype   uint16 // the question's type
	edns    bool   // the query carries an OPT record
	do      bool   // ... with the DO bit
	bufsize uint16 // ... and this UDP payload size
	nameLen int    // length of the canonical name in name
	name    [256]byte
}

// Option codes the fast path accepts in a query's OPT record: Answer
// ignores them, and miekg/dns unpacks any content of theirs.
const (
	ednsNSID    = 3
	ednsCookie  = 10
	ednsPadding = 12
)

// parse reads pkt; false means the slow path must decide (a response, a
// malformed or unusual query).
func (q *fastQuery) parse(pkt []byte) bool {
	if len(pkt) < headerLen+5 {
		return false
	}
	// QR, opcode, TC clear; one question; ANCOUNT and NSCOUNT 0; at most
	// one additional record.
	if pkt[2]&0xFA != 0 || binary.BigEndian.Uint16(pkt[4:]) != 1 ||
		binary.BigEndian.Uint16(pkt[6:]) != 0 || binary.BigEndian.Uint16(pkt[8:]) != 0 {
		return false
	}
	ar := binary.BigEndian.Uint16(pkt[10:])
	if ar > 1 {
		return false
	}
	// The name, lower-cased into presentation format; only characters that
	// need no escaping there.
	off, n := headerLen, 0
	for {
		if off >= len(pkt) {
			return false
		}
		c := int(pkt[off])
		off++
		if c == 0 {
			break
		}
		if c > 63 || off+c > len(pkt) || n+c+1 > 254 {
			return false
		}
		for _, b := range pkt[off : off+c] {
			if !plainByte[b] {
				return false
			}
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			q.name[n] = b
			n++
		}
		q.name[n] = '.'
		n++
		off += c
	}
	if n == 0 {
		q.name[0] = '.'
		n = 1
	}
	q.nameLen = n
	if off+4 > len(pkt) || binary.BigEndian.Uint16(pkt[off+2:]) != dns.ClassINET {
		return false
	}
	q.qtype = binary.BigEndian.Uint16(pkt[off:])
	off += 4
	q.qend = off
	q.edns, q.do, q.bufsize = false, false, 0
	if ar == 0 {
		return off == len(pkt)
	}
	// OPT: root owner, version 0, options the fast path may ignore.
	if off+optLen > len(pkt) || pkt[off] != 0 || binary.BigEndian.Uint16(pkt[off+1:]) != dns.TypeOPT || pkt[off+6] != 0 {
		return false
	}
	q.edns = true
	q.bufsize = binary.BigEndian.Uint16(pkt[off+3:])
	q.do = pkt[off+7]&0x80 != 0
	rdlen := int(binary.BigEndian.Uint16(pkt[off+9:]))
	off += optLen
	if off+rdlen != len(pkt) {
		return false
	}
	for off < len(pkt) {
		if off+4 > len(pkt) {
			return false
		}
		switch binary.BigEndian.Uint16(pkt[off:]) {
		case ednsNSID, ednsCookie, ednsPadding:
		default:
			return false
		}
		off += 4 + int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	return off == len(pkt)
}

// plainByte marks the octets that a name shows as they are in presentation
// format (see miekg/dns UnpackDomainName): no escape needed.
var plainByte = func() (t [256]bool) {
	for b := '!'; b <= '~'; b++ {
		t[b] = true
	}
	for _, b := range []byte(".'@;()\"\\") {
		t[b] = false
	}
	return t
}()

// limit is the largest reply the query allows over UDP.
func (q *fastQuery) limit() int {
	if !q.edns {
		return dns.MinMsgSize
	}
	return min(max(int(q.bufsize), dns.MinMsgSize), MaxUDPSize)
}

// fastReply describes a reply of the fast path, for metrics.
type fastReply struct {
	qtype uint16
	rcode int
	zone  *zone  // nil: no hosted zone holds the name
	setID string // the set weighted or failover routing chose
}

// appendFast appends to out the reply to pkt when the fast path can give
// it; ok is false otherwise (out is then unchanged).
func appendFast(snap *Snapshot, q *fastQuery, pkt, out []byte) (reply []byte, info fastReply, ok bool) {
	if !q.parse(pkt) {
		return out, info, false
	}
	switch q.qtype {
	case dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeDS:
		// ANY picks an RRset, zone transfers are refused, DS may come from
		// the parent zone: the slow path decides.
		return out, info, false
	}
	info.qtype = q.qtype
	name := q.name[:q.nameLen]
	z := snap.zoneForBytes(name)
	if z == nil {
		info.rcode = dns.RcodeRefused
		return q.appendReply(pkt, out, false, dns.RcodeRefused, 0, 0, nil), info, true
	}
	if z.soa == nil {
		return out, info, false
	}
	info.zone = z
	var buf [maxLabels]int
	offs := labelOffsetsBytes(name, buf[:0])
	below := len(name) - len(z.origin)
	k := 0
	for k < len(offs) && offs[k] < below {
		k++
	}
	cur := z.apex
	if k > 0 && cur.dname != nil {
		return out, info, false
	}
	for i := k - 1; i >= 0; i-- {
		n := z.nodeBytes(name[offs[i]:])
		if n == nil {
			if cur.wildChild {
				return out, info, false // wildcard synthesis
			}
			return q.appendNegative(z, pkt, out, dns.RcodeNameError)
		}
		if n.cut || (i > 0 && n.dname != nil) {
			return out, info, false // referral, DNAME synthesis
		}
		cur = n
	}
	rs := cur.get(q.qtype)
	if rs == nil {
		if cur.cname != nil {
			return out, info, false // a CNAME to follow
		}
		return q.appendNegative(z, pkt, out, dns.RcodeSuccess)
	}
	if rs.route != nil {
		return q.appendRouted(snap, z, rs, pkt, out)
	}
	if rs.wire == nil {
		return out, info, false
	}
	body, an := rs.wire[:rs.wireLen], rs.count()
	if q.do {
		body, an = rs.wire, an+len(rs.sigs)
	}
	if q.size(len(body)) > q.limit() {
		return out, info, false // truncation: the slow path fills what fits
	}
	return q.appendReply(pkt, out, true, dns.RcodeSuccess, an, 0, body), info, true
}

// size is the length of a reply with a body of n octets.
func (q *fastQuery) size(n int) int {
	if q.edns {
		n += optLen
	}
	return q.qend + n
}

// appendReply appends a reply: the query's ID, RD and CD, its question as
// sent, an answer or authority section, and OPT when the query had one.
func (q *fastQuery) appendReply(pkt, out []byte, aa bool, rcode, an, ns int, body []byte) []byte {
	flags := 0x80 | pkt[2]&0x01 // QR, RD
	if aa {
		flags |= 0x04
	}
	ar := 0
	if q.edns {
		ar = 1
	}
	out = append(out, pkt[0], pkt[1], flags, pkt[3]&0x10|byte(rcode), 0, 1,
		byte(an>>8), byte(an), byte(ns>>8), byte(ns), byte(ar>>8), byte(ar))
	out = append(out, pkt[headerLen:q.qend]...)
	out = append(out, body...)
	if q.edns {
		var do byte
		if q.do {
			do = 0x80
		}
		out = append(out, 0, 0, byte(dns.TypeOPT), MaxUDPSize>>8, MaxUDPSize&0xFF, 0, 0, do, 0, 0, 0)
	}
	return out
}

// appendNegative appends NXDOMAIN or NODATA with the zone's prepared SOA,
// its compression pointers moved to the origin's place in the query name.
func (q *fastQuery) appendNegative(z *zone, pkt, out []byte, rcode int) ([]byte, fastReply, bool) {
	info := fastReply{qtype: q.qtype, rcode: rcode, zone: z}
	neg := z.neg
	if neg == nil {
		return out, info, false
	}
	name := q.name[:q.nameLen]
	for _, c := range neg.clashes {
		if hasLabelSuffix(name, c) {
			return out, info, false
		}
	}
	body, ns := neg.body[:neg.nodo], neg.nsNoDO
	if q.do {
		body, ns = neg.body, neg.nsDO
	}
	if q.size(len(body)) > q.limit() {
		return out, info, false
	}
	start := len(out) + q.qend
	out = q.appendReply(pkt, out, true, rcode, 0, int(ns), body)
	delta := uint16(q.qend - 4 - headerLen - neg.origin)
	for _, p := range neg.ptrs {
		if int(p) >= len(body) {
			break
		}
		at := out[start+int(p):]
		binary.BigEndian.PutUint16(at, binary.BigEndian.Uint16(at)+delta)
	}
	return out, info, true
}

// appendRouted answers a routed RRset from its candidates' prepared
// records, choosing as the slow path does (routing.go).
func (q *fastQuery) appendRouted(snap *Snapshot, z *zone, rs *rrset, pkt, out []byte) ([]byte, fastReply, bool) {
	info := fastReply{qtype: q.qtype, rcode: dns.RcodeSuccess, zone: z}
	r := rs.route
	if !r.fast || (q.do && len(rs.sigs) > 0) {
		return out, info, false
	}
	b := answerBuilder{snap: snap, health: snap.health, qtype: rs.qtype, scope: -1}
	var (
		body []byte
		an   int
	)
	switch r.policy {
	case policyWeighted, policyFailover:
		var i int
		if r.policy == policyWeighted {
			i, _ = b.pickWeighted(z, rs, 0)
		} else {
			i, _ = b.pickFailover(z, rs, 0)
		}
		if i < 0 {
			return out, info, false
		}
		body, an = r.cands[i].wire, len(r.cands[i].rrs)
		info.setID = r.cands[i].set.SetIdentifier
	case policyMultivalue, policyUnion:
		start := len(out) + q.qend
		out = q.appendReply(pkt, out, true, dns.RcodeSuccess, 0, 0, nil)
		out = out[:start] // the records go here; OPT is appended after them
		if r.policy == policyMultivalue {
			out, an = b.appendMultivalue(z, rs, out, start)
		} else {
			out, an = b.appendUnion(z, rs, out, start)
		}
		if q.size(len(out)-start) > q.limit() {
			return out[:start-q.qend], info, false
		}
		binary.BigEndian.PutUint16(out[start-q.qend+6:], uint16(an))
		if q.edns {
			var do byte
			if q.do {
				do = 0x80
			}
			out = append(out, 0, 0, byte(dns.TypeOPT), MaxUDPSize>>8, MaxUDPSize&0xFF, 0, 0, do, 0, 0, 0)
		}
		return out, info, true
	default:
		return out, info, false
	}
	if q.size(len(body)) > q.limit() {
		return out, info, false
	}
	return q.appendReply(pkt, out, true, dns.RcodeSuccess, an, 0, body), info, true
}

// appendMultivalue is pickMultivalue over prepared records: up to eight
// values drawn at random from the healthy sets (from all when none is).
func (b *answerBuilder) appendMultivalue(z *zone, rs *rrset, out []byte, start int) ([]byte, int) {
	cands := rs.route.cands
	var ib [32]int
	idx := ib[:0]
	for i := range cands {
		if b.healthy(z, &cands[i], rs.qtype, 0) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		for i := range cands {
			idx = append(idx, i)
		}
	}
	an := 0
	for k := 0; k < len(idx) && an < maxMultiValues; k++ {
		j := k + rand.IntN(len(idx)-k)
		idx[k], idx[j] = idx[j], idx[k]
		out, an = appendUniqueRecords(out, start, an, cands[idx[k]].wire, maxMultiValues)
	}
	return out, an
}

// appendUnion is pickUnion over prepared records: the records of every
// healthy set, or the whole RRset when all or none are healthy.
func (b *answerBuilder) appendUnion(z *zone, rs *rrset, out []byte, start int) ([]byte, int) {
	cands := rs.route.cands
	var hb [32]bool
	healthy := hb[:0]
	n := 0
	for i := range cands {
		h := b.healthy(z, &cands[i], rs.qtype, 0)
		healthy = append(healthy, h)
		if h {
			n++
		}
	}
	if n == 0 || n == len(cands) {
		return append(out, rs.wire[:rs.wireLen]...), len(rs.rrs)
	}
	an := 0
	for i := range cands {
		if healthy[i] {
			out, an = appendUniqueRecords(out, start, an, cands[i].wire, 0)
		}
	}
	return out, an
}

// appendUniqueRecords appends the records of the prepared section recs that
// are not yet among the an records at out[start:], up to limit records
// (0: no limit). Records are compared without their TTL, as
// dns.IsDuplicate does.
func appendUniqueRecords(out []byte, start, an int, recs []byte, limit int) ([]byte, int) {
	for len(recs) > 0 {
		if limit > 0 && an >= limit {
			break
		}
		n := recordLen(recs)
		if n <= 0 || n > len(recs) {
			break
		}
		rec := recs[:n]
		recs = recs[n:]
		dup := false
		for have := out[start:]; len(have) > 0; {
			m := recordLen(have)
			if m <= 0 || m > len(have) {
				break
			}
			if sameRecord(have[:m], rec) {
				dup = true
				break
			}
			have = have[m:]
		}
		if !dup {
			out = append(out, rec...)
			an++
		}
	}
	return out, an
}

// recordLen returns the length of the packed record at the start of b (its
// owner a pointer or uncompressed), or 0.
func recordLen(b []byte) int {
	i := recordOwnerLen(b)
	if i+10 > len(b) {
		return 0
	}
	return i + 10 + int(binary.BigEndian.Uint16(b[i+8:]))
}

// recordOwnerLen returns the length of the owner name of the packed record
// at the start of b.
func recordOwnerLen(b []byte) int {
	i := 0
	for i < len(b) {
		c := b[i]
		if c&0xC0 == 0xC0 {
			return i + 2
		}
		i += int(c) + 1
		if c == 0 {
			break
		}
	}
	return i
}

// sameRecord compares two packed records but for their TTLs.
func sameRecord(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	i := recordOwnerLen(a)
	return string(a[:i+4]) == string(b[:i+4]) && string(a[i+8:]) == string(b[i+8:])
}

// hasLabelSuffix reports whether the plain name ends in the label sequence
// s.
func hasLabelSuffix(name []byte, s string) bool {
	if len(name) < len(s) || string(name[len(name)-len(s):]) != s {
		return false
	}
	return len(name) == len(s) || name[len(name)-len(s)-1] == '.'
}

// labelOffsetsBytes is labelOffsets for a plain name (no escapes).
func labelOffsetsBytes(name []byte, offs []int) []int {
	if len(name) <= 1 {
		return offs
	}
	offs = append(offs, 0)
	for i := 0; i < len(name)-1; i++ {
		if name[i] == '.' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// zoneForBytes is zoneFor for a plain name.
func (s *Snapshot) zoneForBytes(name []byte) *zone {
	if len(s.zones) == 0 {
		return nil
	}
	if len(name) > 1 {
		for off := 0; off < len(name); off++ {
			if off == 0 || name[off-1] == '.' {
				if z := s.zones[string(name[off:])]; z != nil {
					return z
				}
			}
		}
	}
	return s.zones["."]
}

// nodeBytes is node for a plain name.
func (z *zone) nodeBytes(name []byte) *node {
	h := uint32(2166136261)
	for _, c := range name {
		h ^= uint32(c)
		h *= 16777619
	}
	sh := z.shards[uint8(h^h>>8^h>>16^h>>24)]
	if sh == nil {
		return nil
	}
	return sh.nodes[string(name)]
}

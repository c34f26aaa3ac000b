package dnsserver

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"

	"github.com/miekg/dns"
)

// Prepared answers. When a snapshot is built, each RRset that answers on
// its own (no in-zone additional records, no chain to follow) is packed to
// wire format once: the sections that follow the question, compressed
// against the question as Pack compresses a reply to the lower-case name
// (see Pack). The fast path (fast.go) then writes a reply by copying the
// query's header and question, these octets and an OPT record. Negative
// answers hold the zone's SOA: those are packed once per zone, against a
// question of the origin itself, and their compression pointers moved to
// where the origin sits in the query's name (so a new serial repacks one
// record, not every name).

const (
	headerLen = 12
	optLen    = 11 // an OPT record without options
)

// prepare packs the answer section of rs for a query of its owner name
// (canonical) and type: its records, then its RRSIGs (sent with DO). It
// leaves rs.wire nil when the RRset cannot be prepared: records that need
// in-zone additional processing, or a reply too large for UDP anyway.
func (rs *rrset) prepare(name, origin string, p *packer) {
	rs.wire, rs.wireLen = nil, 0
	for _, t := range rs.targets {
		if inZone(t, origin) {
			return // additional addresses depend on other names
		}
	}
	if len(rs.rrs) == 0 {
		return
	}
	rrs := ownedBy(rs.rrs, name)
	body, err := p.pack(name, rs.qtype, rrs, nil)
	if err != nil || !fitsUDP(name, len(body)) {
		return
	}
	n := len(body)
	if len(rs.sigs) > 0 {
		// The RRSIGs follow the records and compress only against what
		// precedes them: the octets without them are a prefix.
		full, err := p.pack(name, rs.qtype, rrs, rs.sigs)
		if err == nil && len(full) < 1<<16 && string(full[:n]) == string(p.prefix[:n]) {
			body = full
		} else {
			body = p.prefix[:n]
		}
	}
	rs.wire, rs.wireLen = p.arena.copy(body), uint16(n)
}

// A compact RRset keeps its records only as its prepared octets: plain A
// and AAAA records (no routing, no RRSIGs, nothing for additional
// processing), most of a large zone. Their dns.RR values (~90 bytes a
// record) are rebuilt when the slow path asks (records); the fast path
// never needs them.

// compact reports whether rs may drop rrs: plain A or AAAA records whose
// prepared octets records can read back, one for one.
func (rs *rrset) compact() bool {
	if (rs.qtype != dns.TypeA && rs.qtype != dns.TypeAAAA) || rs.rrsetMore != noMore || rs.wire == nil ||
		len(rs.wire) != int(rs.wireLen) || len(rs.rrs) == 0 || len(rs.rrs) > 0xFFFF {
		return false
	}
	size := 4
	if rs.qtype == dns.TypeAAAA {
		size = 16
	}
	w, k := rs.wire, 0
	for len(w) > 0 {
		if len(w) < 12+size || w[0]&0xC0 != 0xC0 || binary.BigEndian.Uint16(w[2:]) != rs.qtype ||
			int(binary.BigEndian.Uint16(w[10:])) != size {
			return false
		}
		w, k = w[12+size:], k+1
	}
	return k == len(rs.rrs)
}

// count is the number of records in rs.
func (rs *rrset) count() int {
	if rs.rrs != nil {
		return len(rs.rrs)
	}
	return int(rs.n)
}

// records returns rs's records; a compact RRset's are rebuilt from its
// prepared octets, owned by owner (a new slice: the caller may keep it).
func (rs *rrset) records(owner string) []dns.RR {
	if rs.rrs != nil || rs.n == 0 {
		return rs.rrs
	}
	out := make([]dns.RR, 0, rs.n)
	for w := rs.wire[:rs.wireLen]; len(w) >= 12; {
		h := dns.RR_Header{Name: owner, Rrtype: binary.BigEndian.Uint16(w[2:]), Class: binary.BigEndian.Uint16(w[4:]),
			Ttl: binary.BigEndian.Uint32(w[6:])}
		size := int(binary.BigEndian.Uint16(w[10:]))
		if len(w) < 12+size {
			break
		}
		ip := net.IP(slices.Clone(w[12 : 12+size]))
		if h.Rrtype == dns.TypeA {
			out = append(out, &dns.A{Hdr: h, A: ip})
		} else {
			out = append(out, &dns.AAAA{Hdr: h, AAAA: ip})
		}
		w = w[12+size:]
	}
	return out
}

// fitsUDP reports whether a reply of name with an answer body of n octets
// can fit the largest UDP reply sent (with OPT): otherwise it is not worth
// keeping prepared.
func fitsUDP(name string, n int) bool {
	return headerLen+len(name)+1+4+n+optLen <= MaxUDPSize
}

// packer packs prepared answers while a zone is built, reusing its buffers;
// the octets it returns are valid until the next call.
type packer struct {
	arena  wireArena
	buf    []byte
	prefix []byte // a copy of the previous result
	msg    dns.Msg
	rr     []dns.RR
	tmp    []byte // one record
}

// pack returns the octets after the question of a reply to (name, qtype)
// holding answer then extra in its answer section, compressed as Pack
// compresses them.
func (p *packer) pack(name string, qtype uint16, answer, extra []dns.RR) ([]byte, error) {
	p.prefix = append(p.prefix[:0], p.buf...)
	if out, ok := p.packSimple(name, answer, extra); ok {
		p.buf = out
		return out, nil
	}
	m := &p.msg
	*m = dns.Msg{Compress: true}
	m.Question = append(m.Question[:0], dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET})
	p.rr = append(append(p.rr[:0], answer...), extra...)
	m.Answer = p.rr
	out, err := m.PackBuffer(p.buf[:cap(p.buf)])
	if err != nil {
		return nil, err
	}
	q := headerLen + wireNameLen(out[headerLen:]) + 4
	if q > len(out) {
		return nil, errors.New("dnsserver: packed reply shorter than its question")
	}
	p.buf = append(out[:0], out[q:]...)
	return p.buf, nil
}

// packSimple packs records owned by the question's name whose RDATA holds
// no name that Pack compresses: each is a pointer to the question, then
// type, class, TTL and RDATA as dns.PackRR writes them. Without allocating,
// where a Pack builds a compression map. It reports false for anything else.
func (p *packer) packSimple(name string, sets ...[]dns.RR) ([]byte, bool) {
	out := p.buf[:0]
	if p.tmp == nil {
		p.tmp = make([]byte, 512)
	}
	tmp := p.tmp
	for _, rrs := range sets {
		for _, rr := range rrs {
			h := rr.Header()
			if h.Name != name || name == "." || compressesRdata(h.Rrtype) {
				return nil, false
			}
			n, err := dns.PackRR(rr, tmp, 0, nil, false)
			if err != nil {
				return nil, false
			}
			owner := wireNameLen(tmp[:n])
			if owner+10 > n {
				return nil, false
			}
			out = append(out, 0xC0, headerLen)
			out = append(out, tmp[owner:n]...)
		}
	}
	return out, true
}

// compressesRdata reports whether Pack compresses a name in the RDATA of
// the type (miekg/dns v1.1.73, zmsg.go).
func compressesRdata(t uint16) bool {
	switch t {
	case dns.TypeCNAME, dns.TypeMB, dns.TypeMD, dns.TypeMF, dns.TypeMG, dns.TypeMINFO, dns.TypeMR,
		dns.TypeMX, dns.TypeNS, dns.TypePTR, dns.TypeSOA:
		return true
	}
	return false
}

// wireNameLen returns the length of the uncompressed wire name at the start
// of b (len(b)+1 if it does not end).
func wireNameLen(b []byte) int {
	for i := 0; i < len(b); {
		c := int(b[i])
		if c == 0 {
			return i + 1
		}
		i += c + 1
	}
	return len(b) + 1
}

// negWire is a zone's prepared negative answer: the authority section of
// NXDOMAIN and NODATA replies (the SOA with the negative TTL, then its
// RRSIGs), packed after a question of the origin itself.
type negWire struct {
	body    []byte
	nodo    int      // octets without the RRSIGs
	nsNoDO  uint16   // records without the RRSIGs
	nsDO    uint16   // records with them
	ptrs    []uint16 // offsets in body of compression pointers
	origin  int      // wire length of the origin
	clashes []string // names below the origin that a query name must not end in
}

// prepareNegative packs the zone's negative answer. It leaves z.neg nil when
// the zone has no SOA or the SOA does not pack.
func (z *zone) prepareNegative() {
	z.neg = nil
	if z.negSOA == nil {
		return
	}
	soa, ok := z.negSOA.(*dns.SOA)
	if !ok {
		return
	}
	nodo, err := packAuthority(z.origin, []dns.RR{soa}, nil)
	if err != nil {
		return
	}
	body := nodo
	if len(z.sigSOA) > 0 {
		full, err := packAuthority(z.origin, []dns.RR{soa}, z.sigSOA)
		if err != nil || string(full[:len(nodo)]) != string(nodo) {
			return
		}
		body = full
	}
	ptrs, ok := compressionPointers(body)
	if !ok {
		return
	}
	n := &negWire{body: body, nodo: len(nodo), nsNoDO: 1, nsDO: uint16(1 + len(z.sigSOA)), ptrs: ptrs,
		origin: len(z.origin) + 1}
	if z.origin == "." {
		n.origin = 1
	}
	// Pack compresses a name of the SOA's RDATA against the question when
	// the question's name ends in one of its suffixes; those below the
	// origin are not in the prepared form, so such queries take the slow
	// path.
	for _, name := range []string{canonicalName(soa.Ns), canonicalName(soa.Mbox)} {
		for ; name != z.origin && name != "." && inZone(name, z.origin); name = parentName(name) {
			if !contains(n.clashes, name) {
				n.clashes = append(n.clashes, name)
			}
		}
	}
	z.neg = n
}

// packAuthority packs a reply to (origin, SOA) with the records in the
// authority section and returns the octets after the question.
func packAuthority(origin string, ns, extra []dns.RR) ([]byte, error) {
	m := &dns.Msg{Compress: true}
	m.Question = []dns.Question{{Name: origin, Qtype: dns.TypeSOA, Qclass: dns.ClassINET}}
	m.Ns = append(append(make([]dns.RR, 0, len(ns)+len(extra)), ns...), extra...)
	out, err := m.Pack()
	if err != nil {
		return nil, err
	}
	q := headerLen + wireNameLen(out[headerLen:]) + 4
	if q > len(out) || len(out) >= 1<<14 {
		return nil, errors.New("dnsserver: negative answer does not pack")
	}
	return out[q:], nil
}

// compressionPointers returns the offsets of the compression pointers in a
// packed section of SOA and RRSIG records (the only names there: owners, the
// SOA's MNAME and RNAME; an RRSIG's signer is never compressed).
func compressionPointers(body []byte) ([]uint16, bool) {
	var ptrs []uint16
	name := func(off int) (int, bool) {
		for off < len(body) {
			c := body[off]
			switch {
			case c == 0:
				return off + 1, true
			case c&0xC0 == 0xC0:
				ptrs = append(ptrs, uint16(off))
				return off + 2, true
			case c&0xC0 != 0:
				return 0, false
			}
			off += int(c) + 1
		}
		return 0, false
	}
	for off := 0; off < len(body); {
		var ok bool
		if off, ok = name(off); !ok || off+10 > len(body) {
			return nil, false
		}
		typ := binary.BigEndian.Uint16(body[off:])
		rdlen := int(binary.BigEndian.Uint16(body[off+8:]))
		off += 10
		end := off + rdlen
		if end > len(body) {
			return nil, false
		}
		switch typ {
		case dns.TypeSOA:
			p := off
			for range 2 {
				if p, ok = name(p); !ok {
					return nil, false
				}
			}
			if p+20 != end {
				return nil, false
			}
		case dns.TypeRRSIG:
		default:
			return nil, false
		}
		off = end
	}
	return ptrs, true
}

// wireArena hands out small byte slices from shared chunks, so that a zone
// of a million prepared answers is a few hundred allocations, not a
// million. A chunk lives while any answer in it does. Chunks start small
// (an edit of a few names) and double up to arenaChunk.
type wireArena struct {
	chunk []byte
}

const arenaChunk = 32 << 10

func (a *wireArena) copy(b []byte) []byte {
	if len(b) > arenaChunk/8 {
		return append([]byte(nil), b...)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		size := min(max(2*cap(a.chunk), 256), arenaChunk)
		a.chunk = make([]byte, 0, size)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[n:len(a.chunk):len(a.chunk)]
}

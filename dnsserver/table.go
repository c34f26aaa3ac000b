package dnsserver

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// numShards splits each zone's name index so that a change copies one shard,
// not the zone: at 1M record sets a shard holds about 4k names.
const numShards = 256

// Table holds the node's current Snapshot of all hosted zones. Apply builds
// the next snapshot from the current one and publishes it atomically; queries
// call Load once and never lock.
type Table struct {
	mu  sync.Mutex // serialises Apply
	cur atomic.Pointer[Snapshot]
	gen atomic.Uint64
}

// zoneQueries counts one zone's queries in per-loop slots, each on a cache
// line of its own, so that UDP loops on different cores do not contend.
type zoneQueries struct {
	slots [8]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *zoneQueries) inc(slot int) { c.slots[slot&7].n.Add(1) }

func (c *zoneQueries) sum() (n uint64) {
	for i := range c.slots {
		n += c.slots[i].n.Load()
	}
	return n
}

// NewTable returns a table serving no zone.
func NewTable() *Table {
	t := &Table{}
	t.cur.Store(&Snapshot{zones: map[string]*zone{}})
	return t
}

// Load returns the current snapshot. It is immutable: keep it for the whole
// query so that the answer is consistent.
func (t *Table) Load() *Snapshot { return t.cur.Load() }

// Apply applies the deltas in order and publishes the result as one new
// snapshot. It is all or nothing: on error the current snapshot stays and the
// error names each bad zone. Apply is meant for one writer (the syncer);
// concurrent calls are serialised.
func (t *Table) Apply(deltas []zones.ZoneDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	next := &Snapshot{zones: maps.Clone(old.zones), health: old.health, cidr: old.cidr}
	edits := map[string]*zoneEdit{}
	var errs []error
	for i := range deltas {
		d := &deltas[i]
		origin := canonicalName(d.Origin)
		if d.Removed {
			delete(next.zones, origin)
			delete(edits, origin)
			continue
		}
		e := edits[origin]
		switch {
		case d.Build != nil:
			b, ok := d.Build.(*zoneBuild)
			if !ok || b.t != t || b.e.z.origin != origin || !d.Reset {
				errs = append(errs, fmt.Errorf("zone %s: a build of another table or zone, or without Reset", origin))
				continue
			}
			if err := errors.Join(b.errs...); err != nil {
				errs = append(errs, fmt.Errorf("zone %s: %w", origin, err))
				continue
			}
			e = b.e
			edits[origin] = e
		case e == nil || d.Reset:
			var base *zone
			if !d.Reset {
				base = next.zones[origin]
			}
			e = newZoneEdit(base, origin, d.ZoneID, t.gen.Add(1), len(d.Put))
			edits[origin] = e
		}
		if d.ZoneID != "" {
			e.z.id = d.ZoneID
		}
		if err := e.apply(d); err != nil {
			errs = append(errs, fmt.Errorf("zone %s: %w", origin, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("dnsserver: apply: %w", errors.Join(errs...))
	}
	for origin, e := range edits {
		z := e.finish()
		// A zone keeps its query counter across versions; one removed
		// (earlier in this batch or before) starts again at 0.
		if prev := next.zones[origin]; prev != nil {
			z.qc = prev.qc
		} else {
			z.qc = new(zoneQueries)
		}
		next.zones[origin] = z
	}
	t.cur.Store(next)
	return nil
}

// zoneBuild is a zone under construction for a Reset delta (NewBuild).
type zoneBuild struct {
	t    *Table
	e    *zoneEdit
	errs []error
}

// NewBuild starts the next version of a zone, empty, to be filled set by
// set and published by Apply with a delta {Reset: true, Build: b}. Nothing
// is served from it until then. The zones.Set of a plain record set is not
// kept (see tset), so a caller that keeps none either frees it at once.
func (t *Table) NewBuild(zoneID, origin string, sizeHint int) zones.ZoneBuild {
	origin = canonicalName(origin)
	return &zoneBuild{t: t, e: newZoneEdit(nil, origin, zoneID, t.gen.Add(1), sizeHint)}
}

func (b *zoneBuild) Put(s *zones.Set) error {
	err := b.e.put(s)
	if err != nil && len(b.errs) < 10 {
		b.errs = append(b.errs, err)
	}
	return err
}

func (b *zoneBuild) Del(k zones.SetKey) error {
	err := b.e.del(k)
	if err != nil && len(b.errs) < 10 {
		b.errs = append(b.errs, err)
	}
	return err
}

// Snapshot is an immutable view of every hosted zone, with the health and
// CIDR sources routing consults (those answer live: a health change needs no
// new snapshot).
type Snapshot struct {
	zones  map[string]*zone // by canonical origin
	health Health           // nil: every check healthy
	cidr   CIDRSource       // nil: no CIDR block matches
}

// Zones returns the canonical origins of the hosted zones, sorted.
func (s *Snapshot) Zones() []string {
	out := slices.Collect(maps.Keys(s.zones))
	sort.Strings(out)
	return out
}

// zoneFor returns the hosted zone with the longest origin that is a suffix of
// the canonical name, or nil.
func (s *Snapshot) zoneFor(name string) *zone {
	if len(s.zones) == 0 {
		return nil
	}
	var buf [maxLabels]int
	for _, off := range labelOffsets(name, buf[:0]) {
		if z := s.zones[name[off:]]; z != nil {
			return z
		}
	}
	return s.zones["."]
}

// zone is one hosted zone: a name index split into copy-on-write shards.
type zone struct {
	id     string
	origin string
	shards [numShards]*shard
	apex   *node
	soa    dns.RR // the apex SOA
	negSOA dns.RR // the SOA with TTL min(TTL, MINIMUM), for negative answers (RFC 2308)
	sigSOA []dns.RR
	neg    *negWire // prepared negative answer; nil: take the slow path
	signed int      // RRSIG record sets in the zone
	nodes  int
	sets   int
	qc     *zoneQueries // queries answered from this zone (all its versions)
}

type shard struct {
	nodes map[string]*node
}

// node is one name of a zone: an owner of record sets or an empty
// non-terminal (no sets, children > 0). Nodes are immutable once published.
//
// The fields are ordered so that a node takes 96 bytes (a million names:
// 16 MB less than the next size class).
type node struct {
	name      string
	gen       uint64
	sets      []tset  // sorted by type, set identifier
	rrsets    []rrset // derived from sets, sorted by type (values: one allocation, one cache line fewer)
	cname     *rrset
	dname     *rrset
	children  int32 // names exactly one label below
	wildChild bool  // "*." + name exists
	cut       bool  // NS below the apex: a delegation
	dirty     bool
	// compactOnly: every set of the name is a compact RRset (see
	// rrset.compact), so sets is nil and tsets rebuilds it from rrsets
	// (48 bytes a name less).
	compactOnly bool
}

// tsets returns the node's record sets.
func (n *node) tsets() []tset {
	if !n.compactOnly {
		return n.sets
	}
	out := make([]tset, len(n.rrsets))
	for i := range n.rrsets {
		out[i] = tset{qtype: n.rrsets[i].qtype}
	}
	return out
}

// empty reports whether the node holds no record set.
func (n *node) empty() bool { return len(n.sets) == 0 && !n.compactOnly }

// tset is one record set as the Table keeps it: its type, its records, and
// the whole zones.Set only when routing needs it (a routing policy, a
// health check, an alias). Plain sets, most of a large zone, keep nothing
// else, so the caller's zones.Set can be freed: a DNS-only node holds no
// other copy (see etcdstore's lean Mirror).
type tset struct {
	qtype uint16
	rrs   []dns.RR
	full  *zones.Set // nil: a plain set
}

// id is the set identifier.
func (t *tset) id() string {
	if t.full == nil {
		return ""
	}
	return t.full.SetIdentifier
}

// set returns the record set for routing: the whole one, or a plain one
// with the type and records.
func (t *tset) set() *zones.Set {
	if t.full != nil {
		return t.full
	}
	return &zones.Set{Qtype: t.qtype, RRs: t.rrs}
}

// isPlain reports whether a record set answers with its records alone.
func isPlain(s *zones.Set) bool {
	return s.RRs != nil && s.SetIdentifier == "" && s.CheckID == "" && s.Policy() == "" && s.AliasTarget == nil
}

func compareTset(a tset, k tsetKey) int {
	if a.qtype != k.qtype {
		if a.qtype < k.qtype {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id(), k.id)
}

type tsetKey struct {
	qtype uint16
	id    string
}

// rrset is the precomputed answer for one name and type: the union of the
// records of every set of that type (de-duplicated) and their prepared wire
// form; rrsetMore holds what only some RRsets have.
type rrset struct {
	qtype   uint16
	wireLen uint16 // octets of wire without the RRSIGs (DO clear)
	n       uint16 // records of a compact RRset (rrs nil, see compact)
	rrs     []dns.RR
	// wire is the prepared answer section (rrs, then sigs) for a query of
	// the owner and type. nil: the answer needs the slow path.
	wire       []byte
	*rrsetMore // never nil: noMore when the RRset has none of it
}

// rrsetMore is the part of an rrset that most (plain A and AAAA) RRsets do
// not need, kept apart so that a million of those stay small: the RRSIGs
// covering it, the route when routing policies, health checks or aliases
// decide what answers, and names for additional processing.
type rrsetMore struct {
	sigs    []dns.RR
	route   *route   // nil: rrs answers as it is
	targets []string // canonical names for additional processing (NS, MX, SRV)
	target  string   // canonical CNAME or DNAME target; "" when routed
}

// noMore is the shared, empty rrsetMore: never modify it.
var noMore = &rrsetMore{}

func (n *node) get(qtype uint16) *rrset {
	for i := range n.rrsets {
		if n.rrsets[i].qtype == qtype {
			return &n.rrsets[i]
		}
	}
	return nil
}

func (z *zone) node(name string) *node {
	sh := z.shards[shardOf(name)]
	if sh == nil {
		return nil
	}
	return sh.nodes[name]
}

// wildcardOf returns the node "*." + ce.name.
func (z *zone) wildcardOf(ce *node) *node {
	var buf [258]byte
	b := append(buf[:0], "*."...)
	if ce.name != "." {
		b = append(b, ce.name...)
	}
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	sh := z.shards[uint8(h^h>>8^h>>16^h>>24)]
	if sh == nil {
		return nil
	}
	return sh.nodes[string(b)] // no allocation for the lookup
}

// zoneEdit turns one zone into the next version. Nodes and shards it copied
// carry its generation and may be changed in place until finish.
type zoneEdit struct {
	z        *zone
	gen      uint64
	owned    [numShards]bool
	dirty    []*node
	sizeHint int
	packer   packer
}

func newZoneEdit(base *zone, origin, id string, gen uint64, sizeHint int) *zoneEdit {
	z := &zone{origin: origin, id: id}
	if base != nil {
		*z = *base
	}
	return &zoneEdit{z: z, gen: gen, sizeHint: sizeHint}
}

func (e *zoneEdit) apply(d *zones.ZoneDelta) error {
	var errs []error
	for _, k := range d.Del {
		if err := e.del(k); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range d.Put {
		if err := e.put(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *zoneEdit) shardFor(name string) *shard {
	h := shardOf(name)
	if !e.owned[h] {
		old := e.z.shards[h]
		n := 0
		if old != nil {
			n = len(old.nodes)
		}
		if hint := e.sizeHint / numShards; hint > n {
			n = hint
		}
		sh := &shard{nodes: make(map[string]*node, n+1)}
		if old != nil {
			maps.Copy(sh.nodes, old.nodes)
		}
		e.z.shards[h] = sh
		e.owned[h] = true
	}
	return e.z.shards[h]
}

// writable returns a copy of the node that this edit may change, or nil.
func (e *zoneEdit) writable(name string) *node {
	n := e.z.node(name)
	if n == nil || n.gen == e.gen {
		return n
	}
	c := *n
	c.gen, c.dirty = e.gen, false
	e.shardFor(name).nodes[name] = &c
	return &c
}

// ensure returns a writable node for name, creating it and any missing
// ancestors (empty non-terminals) up to the apex.
func (e *zoneEdit) ensure(name string) *node {
	if n := e.writable(name); n != nil {
		return n
	}
	n := &node{name: name, gen: e.gen}
	e.shardFor(name).nodes[name] = n
	e.z.nodes++
	if name != e.z.origin {
		p := e.ensure(parentName(name))
		p.children++
		if isWildcardName(name) {
			p.wildChild = true
		}
	}
	return n
}

func (e *zoneEdit) markDirty(n *node) {
	if !n.dirty {
		n.dirty = true
		e.dirty = append(e.dirty, n)
	}
}

func setQtype(s *zones.Set) (uint16, error) {
	if s.Qtype != 0 {
		return s.Qtype, nil
	}
	if t, ok := typeOf(s.Type); ok {
		return t, nil
	}
	return 0, fmt.Errorf("record set %s %s: unknown type", s.Name, s.Type)
}

func (e *zoneEdit) put(s *zones.Set) error {
	if s == nil {
		return errors.New("nil record set")
	}
	name := canonicalName(s.Name)
	if !inZone(name, e.z.origin) {
		return fmt.Errorf("record set %s %s: not in zone", s.Name, s.Type)
	}
	qt, err := setQtype(s)
	if err != nil {
		return err
	}
	if s.RRs == nil && (s.AliasTarget == nil || s.AliasTarget.DNSName == "") {
		return fmt.Errorf("record set %s %s: no records and no alias target", s.Name, s.Type)
	}
	for _, rr := range s.RRs {
		if rr == nil || rr.Header().Rrtype != qt {
			return fmt.Errorf("record set %s %s: record of another type", s.Name, s.Type)
		}
	}
	n := e.ensure(name)
	ts := tset{qtype: qt, rrs: s.RRs}
	if !isPlain(s) {
		ts.full = s
	}
	cur := n.tsets()
	i, found := slices.BinarySearchFunc(cur, tsetKey{qt, s.SetIdentifier}, compareTset)
	sets := slices.Clone(cur)
	if found {
		sets[i] = ts
	} else {
		sets = slices.Insert(sets, i, ts)
		e.z.sets++
		if qt == dns.TypeRRSIG {
			e.z.signed++
		}
	}
	n.sets, n.compactOnly = sets, false
	e.markDirty(n)
	return nil
}

func (e *zoneEdit) del(k zones.SetKey) error {
	name := canonicalName(k.Name)
	qt, ok := typeOf(k.Type)
	if !ok {
		return fmt.Errorf("delete %s %s: unknown type", k.Name, k.Type)
	}
	n := e.z.node(name)
	if n == nil {
		return nil
	}
	i, found := slices.BinarySearchFunc(n.tsets(), tsetKey{qt, k.SetID}, compareTset)
	if !found {
		return nil
	}
	n = e.writable(name)
	n.sets, n.compactOnly = slices.Delete(slices.Clone(n.tsets()), i, i+1), false
	e.z.sets--
	if qt == dns.TypeRRSIG {
		e.z.signed--
	}
	e.markDirty(n)
	return nil
}

// finish prunes names left without sets or children, recomputes what the
// changed names answer, and returns the new zone.
func (e *zoneEdit) finish() *zone {
	for _, n := range e.dirty {
		if n.empty() {
			e.prune(n)
		}
	}
	for _, n := range e.dirty {
		n.dirty = false
		if e.z.node(n.name) != n {
			continue
		}
		n.derive(e.z.origin, &e.packer)
	}
	e.dirty = nil
	z := e.z
	z.apex = z.node(z.origin)
	z.soa, z.negSOA, z.sigSOA = nil, nil, nil
	if z.apex != nil {
		if rs := z.apex.get(dns.TypeSOA); rs != nil && len(rs.rrs) > 0 {
			z.soa = rs.rrs[0]
			neg := dns.Copy(z.soa)
			if soa, ok := neg.(*dns.SOA); ok && soa.Minttl < soa.Hdr.Ttl {
				soa.Hdr.Ttl = soa.Minttl
			}
			z.negSOA = neg
			z.sigSOA = rs.sigs
		}
	}
	z.prepareNegative()
	return z
}

// prune removes n and then each ancestor left empty, keeping child counts
// (and so empty non-terminals) exact.
func (e *zoneEdit) prune(n *node) {
	for n != nil && n.name != e.z.origin && n.empty() && n.children == 0 {
		if e.z.node(n.name) != n {
			return
		}
		delete(e.shardFor(n.name).nodes, n.name)
		e.z.nodes--
		p := e.writable(parentName(n.name))
		if p == nil {
			return
		}
		p.children--
		if isWildcardName(n.name) {
			p.wildChild = false
		}
		n = p
	}
}

// rrsetCount returns the number of RRsets the sets (sorted by type) make.
func rrsetCount(sets []tset) int {
	groups, last := 0, -1
	for _, s := range sets {
		if int(s.qtype) != last {
			groups, last = groups+1, int(s.qtype)
		}
	}
	return groups
}

// derive recomputes the node's answers from its sets.
func (n *node) derive(origin string, p *packer) {
	if n.compactOnly {
		n.sets, n.compactOnly = n.tsets(), false
	}
	// Plain sets kept only as prepared octets (compact) get their records
	// back for the rebuild. n.sets is this edit's own: only put and del mark
	// a node dirty, and both give it a fresh slice.
	for i := range n.sets {
		ts := &n.sets[i]
		if ts.rrs != nil || ts.full != nil {
			continue
		}
		if old := n.get(ts.qtype); old != nil {
			ts.rrs = old.records(n.name)
		}
	}
	n.rrsets, n.cname, n.dname, n.cut = nil, nil, nil, false
	n.rrsets = make([]rrset, 0, rrsetCount(n.sets))
	var sigs []dns.RR
	for i := 0; i < len(n.sets); {
		qt := n.sets[i].qtype
		j := i + 1
		for j < len(n.sets) && n.sets[j].qtype == qt {
			j++
		}
		rs := buildRRset(qt, n.sets[i:j])
		n.rrsets = append(n.rrsets, rs)
		if qt == dns.TypeRRSIG {
			sigs = rs.rrs
		}
		i = j
	}
	for _, sig := range sigs {
		if s, ok := sig.(*dns.RRSIG); ok {
			if rs := n.get(s.TypeCovered); rs != nil {
				if rs.rrsetMore == noMore {
					rs.rrsetMore = &rrsetMore{}
				}
				rs.sigs = append(rs.sigs, sig)
			}
		}
	}
	for i := range n.rrsets {
		rs := &n.rrsets[i]
		rs.prepare(n.name, origin, p)
		if rs.route != nil {
			rs.route.prepare(rs, n.name, origin, p)
		}
	}
	for i := range n.rrsets {
		rs := &n.rrsets[i]
		if j := n.plainSet(rs.qtype); j >= 0 && rs.compact() {
			rs.n, rs.rrs = uint16(len(rs.rrs)), nil
			n.sets[j].rrs = nil
		}
	}
	n.compactOnly = len(n.sets) > 0
	for i := range n.sets {
		if n.sets[i].rrs != nil || n.sets[i].full != nil {
			n.compactOnly = false
		}
	}
	if n.compactOnly {
		n.sets = nil
	}
	n.cname = n.get(dns.TypeCNAME)
	n.dname = n.get(dns.TypeDNAME)
	n.cut = n.name != origin && n.get(dns.TypeNS) != nil
}

// plainSet returns the index of the node's one record set of type qt when
// it is plain and alone of its type, else -1.
func (n *node) plainSet(qt uint16) int {
	j := -1
	for i := range n.sets {
		if n.sets[i].qtype != qt {
			continue
		}
		if j >= 0 || n.sets[i].full != nil {
			return -1
		}
		j = i
	}
	return j
}

func buildRRset(qt uint16, sets []tset) rrset {
	var more rrsetMore // on the stack: most RRsets share noMore
	if len(sets) > 1 || sets[0].full != nil {
		full := make([]*zones.Set, len(sets))
		for i := range sets {
			full[i] = sets[i].set()
		}
		more.route = buildRoute(qt, full)
	}
	rs := rrset{qtype: qt, rrsetMore: noMore}
	for _, s := range sets {
		if s.rrs == nil {
			continue
		}
		if len(sets) == 1 {
			rs.rrs = s.rrs
			break
		}
		for _, rr := range s.rrs {
			if !slices.ContainsFunc(rs.rrs, func(o dns.RR) bool { return dns.IsDuplicate(o, rr) }) {
				rs.rrs = append(rs.rrs, rr)
			}
		}
	}
	// RFC 2181 5.2: the records of an RRset share one TTL; routing sets may
	// disagree, so use the lowest.
	if len(rs.rrs) > 1 {
		minTTL := rs.rrs[0].Header().Ttl
		same := true
		for _, rr := range rs.rrs[1:] {
			if t := rr.Header().Ttl; t != minTTL {
				same = false
				minTTL = min(minTTL, t)
			}
		}
		if !same && qt != dns.TypeRRSIG {
			out := make([]dns.RR, len(rs.rrs))
			for i, rr := range rs.rrs {
				c := dns.Copy(rr)
				c.Header().Ttl = minTTL
				out[i] = c
			}
			rs.rrs = out
		}
	}
	for _, rr := range rs.rrs {
		switch r := rr.(type) {
		case *dns.NS:
			more.targets = append(more.targets, canonicalName(r.Ns))
		case *dns.MX:
			more.targets = append(more.targets, canonicalName(r.Mx))
		case *dns.SRV:
			more.targets = append(more.targets, canonicalName(r.Target))
		case *dns.CNAME:
			if more.target == "" && more.route == nil {
				more.target = canonicalName(r.Target)
			}
		case *dns.DNAME:
			if more.target == "" {
				more.target = canonicalName(r.Target)
			}
		}
	}
	if more.route != nil || len(more.targets) > 0 || more.target != "" {
		m := new(rrsetMore)
		*m = more
		rs.rrsetMore = m
	}
	return rs
}

package dnsserver

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// slowReply is what the slow path sends for pkt over UDP: Unpack, Answer,
// Pack.
func slowReply(t testing.TB, snap *Snapshot, pkt []byte) []byte {
	t.Helper()
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil {
		t.Fatalf("unpack a query the fast path answered: %v", err)
	}
	out, err := Pack(Answer(snap, req, UDP, netip.MustParseAddrPort("192.0.2.9:5353")), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fastVariant is one way to ask a question.
type fastVariant struct {
	bufsize uint16 // 0: no EDNS
	do      bool
	rd, cd  bool
	mixed   bool // mixed-case name
	cookie  bool // an EDNS cookie option (ignored by both paths)
}

func (v fastVariant) pack(t testing.TB, id uint16, name string, qtype uint16) []byte {
	t.Helper()
	if v.mixed {
		name = mixCase(name)
	}
	m := newQuery(name, qtype, v.bufsize, v.do)
	m.Id = id
	m.RecursionDesired, m.CheckingDisabled = v.rd, v.cd
	if v.cookie && m.IsEdns0() != nil {
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

var fastVariants = []fastVariant{
	{}, {bufsize: 512}, {bufsize: 1232, rd: true}, {bufsize: 4096, do: true, cd: true},
	{bufsize: 1232, mixed: true}, {mixed: true, rd: true}, {bufsize: 1232, do: true, mixed: true, cookie: true},
}

// fastZones are the zones of the NSD differential test (without NSD): this
// package's and the shared third-party ones that zones.ParseZoneFile takes.
func fastZones(t testing.TB) []*diffZone {
	t.Helper()
	var dz []*diffZone
	for origin, text := range ownDiffZones() {
		dz = append(dz, &diffZone{origin: origin, sets: parseZone(t, origin, text)})
	}
	files, _ := filepath.Glob(filepath.Join(thirdPartyZones, "*.zone"))
	for _, f := range files {
		origin := strings.TrimSuffix(filepath.Base(f), ".zone") + "."
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sets, err := zones.ParseZoneFile(r, origin)
		r.Close()
		if err == nil {
			dz = append(dz, &diffZone{origin: origin, sets: sets})
		}
	}
	slices.SortFunc(dz, func(a, b *diffZone) int { return strings.Compare(a.origin, b.origin) })
	return dz
}

// TestFastPathMatchesSlowPath asks every query of the NSD differential test
// and of the answer tests in several forms (EDNS sizes, DO, flags, case) and
// checks that whenever the fast path answers, its octets are the slow
// path's.
func TestFastPathMatchesSlowPath(t *testing.T) {
	dz := fastZones(t)
	tb := NewTable()
	var deltas []zones.ZoneDelta
	for _, z := range dz {
		deltas = append(deltas, zones.ZoneDelta{Origin: z.origin, Reset: true, Put: z.sets})
	}
	if err := tb.Apply(deltas); err != nil {
		t.Fatal(err)
	}
	queries := diffQueries(dz)
	// The answer tests' zones, with routed sets whose choice is certain.
	tb2 := testTable(t)
	addRoutedSets(t, tb2)
	for _, c := range answerCases() {
		queries = append(queries, diffQuery{zone: "tb2", name: c.qname, qtype: c.qtype})
	}
	for _, name := range []string{"w.r.example.org.", "m.r.example.org.", "c.r.example.org.", "tree.r.example.org.", "cn.r.example.org.", "x.r.example.org."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME} {
			queries = append(queries, diffQuery{zone: "tb2", name: name, qtype: qt})
		}
	}
	for _, qt := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeAAAA} {
		queries = append(queries, diffQuery{zone: "tb2", name: "many.big.test.", qtype: qt}, diffQuery{zone: "tb2", name: "txt.big.test.", qtype: qt})
	}

	fast, total := map[int]int{}, 0
	id := uint16(0)
	for _, q := range queries {
		snap := tb.Load()
		if q.zone == "tb2" {
			snap = tb2.Load()
		}
		for _, v := range fastVariants {
			id += 7919
			pkt := v.pack(t, id, q.name, q.qtype)
			total++
			var fq fastQuery
			got, info, ok := appendFast(snap, &fq, pkt, nil)
			if !ok {
				continue
			}
			fast[info.rcode]++
			if want := slowReply(t, snap, pkt); !bytes.Equal(got, want) {
				t.Errorf("%s %s %+v: fast path\n%x\nslow path\n%x\n%s", q.name, dns.TypeToString[q.qtype], v, got, want, unpackString(got))
			}
		}
	}
	t.Logf("%d of %d queries answered by the fast path (by rcode: %v)", fast[0]+fast[dns.RcodeNameError]+fast[dns.RcodeRefused], total, fast)
	if fast[dns.RcodeSuccess] == 0 || fast[dns.RcodeNameError] == 0 {
		t.Errorf("the fast path answered too little: %v", fast)
	}
}

func unpackString(b []byte) string {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return "unpack: " + err.Error()
	}
	return m.String()
}

// TestFastPathAnswers checks which queries the fast path takes and which it
// leaves to the slow path.
func TestFastPathAnswers(t *testing.T) {
	tb := testTable(t)
	addRoutedSets(t, tb)
	snap := tb.Load()
	type fc struct {
		name  string
		qtype uint16
		v     fastVariant
		fast  bool
		rcode int
	}
	for _, c := range []fc{
		{"mail.example.org.", dns.TypeA, fastVariant{}, true, dns.RcodeSuccess},
		{"MAIL.example.org.", dns.TypeAAAA, fastVariant{bufsize: 1232}, true, dns.RcodeSuccess},
		{"nothing.example.org.", dns.TypeA, fastVariant{}, true, dns.RcodeNameError},
		{"mail.example.org.", dns.TypeTXT, fastVariant{}, true, dns.RcodeSuccess},
		{"b.ent.example.org.", dns.TypeA, fastVariant{}, true, dns.RcodeSuccess},
		{"www.example.com.", dns.TypeA, fastVariant{}, true, dns.RcodeRefused},
		{"w.r.example.org.", dns.TypeA, fastVariant{}, true, dns.RcodeSuccess},
		{"m.r.example.org.", dns.TypeA, fastVariant{}, true, dns.RcodeSuccess},
		{"cn.r.example.org.", dns.TypeCNAME, fastVariant{}, true, dns.RcodeSuccess},
		{"www.example.org.", dns.TypeA, fastVariant{}, false, 0},        // CNAME chain
		{"foo.wild.example.org.", dns.TypeA, fastVariant{}, false, 0},   // wildcard
		{"host.deleg.example.org.", dns.TypeA, fastVariant{}, false, 0}, // referral
		{"x.dn.example.org.", dns.TypeA, fastVariant{}, false, 0},       // DNAME
		{"example.org.", dns.TypeMX, fastVariant{}, false, 0},           // additional
		{"example.org.", dns.TypeANY, fastVariant{}, false, 0},
		{"deleg.example.org.", dns.TypeDS, fastVariant{}, false, 0},
		{"many.big.test.", dns.TypeA, fastVariant{}, false, 0}, // TC at 512
		{"many.big.test.", dns.TypeA, fastVariant{bufsize: 1232}, true, dns.RcodeSuccess},
		{"c.r.example.org.", dns.TypeA, fastVariant{}, false, 0},    // CIDR
		{"tree.r.example.org.", dns.TypeA, fastVariant{}, false, 0}, // alias
	} {
		pkt := c.v.pack(t, 1, c.name, c.qtype)
		var q fastQuery
		_, info, ok := appendFast(snap, &q, pkt, nil)
		if ok != c.fast || (ok && info.rcode != c.rcode) {
			t.Errorf("%s %s: fast %v rcode %s, want fast %v rcode %s", c.name, dns.TypeToString[c.qtype], ok,
				dns.RcodeToString[info.rcode], c.fast, dns.RcodeToString[c.rcode])
		}
	}

	// Queries the fast path must leave alone.
	base := newQuery("mail.example.org.", dns.TypeA, 1232, false)
	mod := func(f func(m *dns.Msg)) []byte {
		m := base.Copy()
		f(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecs := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IP{198, 51, 100, 0}}
	plain := mod(func(*dns.Msg) {})
	for name, pkt := range map[string][]byte{
		"response":      mod(func(m *dns.Msg) { m.Response = true }),
		"notify":        mod(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }),
		"TC":            mod(func(m *dns.Msg) { m.Truncated = true }),
		"two questions": mod(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }),
		"ECS":           mod(func(m *dns.Msg) { m.IsEdns0().Option = []dns.EDNS0{ecs} }),
		"EDNS version":  mod(func(m *dns.Msg) { m.IsEdns0().SetVersion(1) }),
		"unknown option": mod(func(m *dns.Msg) {
			m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_LOCAL{Code: 65001, Data: []byte{1}}}
		}),
		"two OPT":      mod(func(m *dns.Msg) { m.Extra = append(m.Extra, m.Extra[0]) }),
		"CHAOS":        mod(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }),
		"escaped name": mod(func(m *dns.Msg) { m.Question[0].Name = `ma\.il.example.org.` }),
		"trailing":     append(slices.Clone(plain), 0),
		"short":        plain[:len(plain)-1],
		"pointer name": func() []byte {
			b := slices.Clone(plain[:headerLen])
			b = append(b, 0xC0, 12, 0, 1, 0, 1)
			b[11] = 0
			return b
		}(),
	} {
		var q fastQuery
		if _, _, ok := appendFast(snap, &q, pkt, nil); ok {
			t.Errorf("%s: the fast path answered", name)
		}
	}
}

// TestFastPathRandomRouting compares fast and slow answers of routing that
// draws at random: the same header, as many records, each one the slow
// path could give.
func TestFastPathRandomRouting(t *testing.T) {
	h := newTestHealth()
	h.set(false, "down")
	var sets []*zones.Set
	for i := range 4 {
		sets = append(sets, rset(t, fmt.Sprintf("w.inc.test. 60 IN A 192.0.2.%d", i+1), weight(fmt.Sprint("w", i), int64(i), "")))
	}
	for i := range 12 {
		check := ""
		if i%4 == 0 {
			check = "down"
		}
		sets = append(sets, rset(t, fmt.Sprintf("m.inc.test. 60 IN AAAA 2001:db8::%d", i+1), multivalue(fmt.Sprint("m", i), check)))
	}
	union := func(id, check string, lines ...string) *zones.Set {
		s := set(t, lines...)
		s.SetIdentifier, s.CheckID = id, check
		return s
	}
	sets = append(sets,
		union("u1", "down", "u.inc.test. 60 IN A 192.0.2.10", "u.inc.test. 60 IN A 192.0.2.11"),
		union("u2", "", "u.inc.test. 30 IN A 192.0.2.11", "u.inc.test. 30 IN A 192.0.2.12"),
		union("u3", "", "u.inc.test. 60 IN A 192.0.2.13"),
	)
	tb := routingTable(t, h, nil, sets...)
	snap := tb.Load()
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"w.inc.test.", dns.TypeA}, {"m.inc.test.", dns.TypeAAAA}, {"u.inc.test.", dns.TypeA}} {
		possible := map[string]bool{}
		for range 200 {
			r := new(dns.Msg)
			if err := r.Unpack(slowReply(t, snap, fastVariants[2].pack(t, 1, q.name, q.qtype))); err != nil {
				t.Fatal(err)
			}
			for _, rr := range r.Answer {
				possible[rr.String()] = true
			}
		}
		for range 200 {
			pkt := fastVariants[2].pack(t, 1, q.name, q.qtype)
			var fq fastQuery
			got, _, ok := appendFast(snap, &fq, pkt, nil)
			if !ok {
				t.Fatalf("%s: slow path", q.name)
			}
			fr, sr := new(dns.Msg), new(dns.Msg)
			if err := fr.Unpack(got); err != nil {
				t.Fatal(err)
			}
			if err := sr.Unpack(slowReply(t, snap, pkt)); err != nil {
				t.Fatal(err)
			}
			if fr.MsgHdr != sr.MsgHdr || len(fr.Answer) != len(sr.Answer) || len(fr.Ns) != 0 || len(fr.Extra) != len(sr.Extra) {
				t.Fatalf("%s: fast\n%v\nslow\n%v", q.name, fr, sr)
			}
			seen := map[string]bool{}
			for _, rr := range fr.Answer {
				if !possible[rr.String()] || seen[rr.String()] {
					t.Fatalf("%s: fast path answered %v (duplicate or never seen from the slow path)", q.name, rr)
				}
				seen[rr.String()] = true
			}
		}
	}
}

// TestNegativeAfterSOAChange checks that a new serial reaches the prepared
// negative answers without the zone being rebuilt.
func TestNegativeAfterSOAChange(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{
		set(t, "inc.test. 300 IN SOA ns1.inc.test. hostmaster.inc.test. 2 7200 3600 1209600 60"),
	}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nx.inc.test.", "a.b.c.nx.inc.test.", "x.ns1.inc.test.", "ns1.inc.test."} {
		pkt := fastVariants[2].pack(t, 9, name, dns.TypeTXT)
		var q fastQuery
		got, _, ok := appendFast(tb.Load(), &q, pkt, nil)
		want := slowReply(t, tb.Load(), pkt)
		if ok && !bytes.Equal(got, want) {
			t.Errorf("%s: fast %x, slow %x", name, got, want)
		}
		r := new(dns.Msg)
		if err := r.Unpack(want); err != nil || len(r.Ns) != 1 || r.Ns[0].(*dns.SOA).Serial != 2 || r.Ns[0].Header().Ttl != 60 {
			t.Errorf("%s: %v %v", name, r, err)
		}
	}
}

// TestFastPathAllocatesNothing: the answers the fast path prepares, and the
// UDP loop around it (metrics, latency), allocate nothing per query.
func TestFastPathAllocatesNothing(t *testing.T) {
	tb := testTable(t)
	h := newTestHealth()
	h.set(false, "hc-down")
	tb.SetHealth(h)
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "example.org.", Put: []*zones.Set{
		rset(t, "w.example.org. 60 IN A 192.0.2.1", weight("a", 3, "hc-down")),
		rset(t, "w.example.org. 60 IN A 192.0.2.2", weight("b", 1, "hc-up")),
		rset(t, "f.example.org. 60 IN A 192.0.2.4", failover("p", zones.FailoverPrimary, "hc-down")),
		rset(t, "f.example.org. 60 IN A 192.0.2.5", failover("s", zones.FailoverSecondary, "hc-up")),
		rset(t, "m.example.org. 60 IN A 192.0.2.6", multivalue("m1", "hc-down")),
		rset(t, "m.example.org. 60 IN A 192.0.2.7", multivalue("m2", "")),
	}}}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Addr: "127.0.0.1:0", Table: tb})
	if err != nil {
		t.Fatal(err)
	}
	l := s.newUDPLoop(nil, 0)
	from := netip.MustParseAddrPort("192.0.2.1:5353")
	buf := make([]byte, 0, udpReadSize)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"mail.example.org.", dns.TypeA}, {"nothing.example.org.", dns.TypeA}, {"mail.example.org.", dns.TypeTXT},
		{"w.example.org.", dns.TypeA}, {"f.example.org.", dns.TypeA}, {"m.example.org.", dns.TypeA}} {
		pkt := fastVariant{bufsize: 1232}.pack(t, 1, q.name, q.qtype)
		var fq fastQuery
		if _, _, ok := appendFast(tb.Load(), &fq, pkt, buf[:0]); !ok {
			t.Fatalf("%s %d: not on the fast path", q.name, q.qtype)
		}
		now := time.Now()
		if n := testing.AllocsPerRun(200, func() { l.serve(pkt, from, buf, now) }); n != 0 {
			t.Errorf("%s %s: %v allocations per query", q.name, dns.TypeToString[q.qtype], n)
		}
	}
}

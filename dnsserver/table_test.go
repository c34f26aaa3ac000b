package dnsserver

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

type (
	zonesDelta = zones.ZoneDelta
	zonesKey   = zones.SetKey
)

// set builds a record set from zone-file lines of one name and type.
func set(t testing.TB, lines ...string) *zones.Set {
	t.Helper()
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		rr.Header().Name = canonicalName(rr.Header().Name)
		rrs = append(rrs, rr)
	}
	s := &zones.Set{Qtype: rrs[0].Header().Rrtype, RRs: rrs}
	s.Name = rrs[0].Header().Name
	s.Type = dns.TypeToString[s.Qtype]
	ttl := int64(rrs[0].Header().Ttl)
	s.TTL = &ttl
	return s
}

func aliasSet(name, typ, target, setID string) *zones.Set {
	s := &zones.Set{}
	s.Name, s.Type, s.SetIdentifier = name, typ, setID
	s.Qtype, _ = typeOf(typ)
	s.AliasTarget = &zones.AliasTarget{DNSName: target}
	return s
}

const smallZone = `$ORIGIN inc.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.1
`

func ask(tb *Table, name string, qtype uint16) *dns.Msg {
	return answerDirect(tb, newQuery(name, qtype, 1232, false), UDP)
}

func expectRcode(t *testing.T, r *dns.Msg, rcode, answers int) {
	t.Helper()
	if r.Rcode != rcode || len(r.Answer) != answers {
		t.Errorf("%s %s: rcode %s answers %d, want %s %d\n%v", r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype],
			dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[rcode], answers, r)
	}
}

func TestApplyIncremental(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	put := func(sets ...*zones.Set) {
		t.Helper()
		if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: sets}}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(keys ...zones.SetKey) {
		t.Helper()
		if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Del: keys}}); err != nil {
			t.Fatal(err)
		}
	}
	before := tb.Load()

	// A deep name creates empty non-terminals.
	put(set(t, "a.b.c.inc.test. 300 IN A 192.0.2.10"))
	expectRcode(t, ask(tb, "a.b.c.inc.test.", dns.TypeA), dns.RcodeSuccess, 1)
	expectRcode(t, ask(tb, "b.c.inc.test.", dns.TypeA), dns.RcodeSuccess, 0)
	expectRcode(t, ask(tb, "c.inc.test.", dns.TypeA), dns.RcodeSuccess, 0)
	expectRcode(t, ask(tb, "x.c.inc.test.", dns.TypeA), dns.RcodeNameError, 0)

	// The old snapshot is untouched.
	if r := Answer(before, newQuery("a.b.c.inc.test.", dns.TypeA, 0, false), UDP, netipZero); r.Rcode != dns.RcodeNameError {
		t.Errorf("old snapshot changed: %v", r)
	}

	// A wildcard under the ENT: the ENT b.c still blocks it, new names match.
	put(set(t, "*.c.inc.test. 300 IN TXT \"w\""))
	expectRcode(t, ask(tb, "x.c.inc.test.", dns.TypeTXT), dns.RcodeSuccess, 1)
	expectRcode(t, ask(tb, "b.c.inc.test.", dns.TypeTXT), dns.RcodeSuccess, 0)

	// A sibling keeps c alive when a.b.c goes; b.c disappears with it.
	put(set(t, "d.c.inc.test. 300 IN A 192.0.2.11"))
	del(zones.SetKey{Name: "a.b.c.inc.test.", Type: "A"})
	expectRcode(t, ask(tb, "a.b.c.inc.test.", dns.TypeA), dns.RcodeSuccess, 0) // now wildcard NODATA
	expectRcode(t, ask(tb, "b.c.inc.test.", dns.TypeTXT), dns.RcodeSuccess, 1) // wildcard, no longer blocked
	expectRcode(t, ask(tb, "c.inc.test.", dns.TypeA), dns.RcodeSuccess, 0)

	// Removing the wildcard and the sibling removes the ENT c too.
	del(zones.SetKey{Name: "*.c.inc.test.", Type: "TXT"}, zones.SetKey{Name: "d.c.inc.test.", Type: "A"})
	expectRcode(t, ask(tb, "c.inc.test.", dns.TypeA), dns.RcodeNameError, 0)
	expectRcode(t, ask(tb, "b.c.inc.test.", dns.TypeTXT), dns.RcodeNameError, 0)
	z := tb.Load().zones["inc.test."]
	if z.nodes != 2 || z.sets != 3 {
		t.Errorf("zone holds %d names and %d sets, want 2 and 3", z.nodes, z.sets)
	}

	// Upsert replaces; deleting what is absent is a no-op.
	put(set(t, "ns1.inc.test. 60 IN A 192.0.2.99"))
	r := ask(tb, "ns1.inc.test.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.99" {
		t.Errorf("upsert: %v", r.Answer)
	}
	del(zones.SetKey{Name: "nothing.inc.test.", Type: "A"}, zones.SetKey{Name: "ns1.inc.test.", Type: "TXT"})

	// A delegation added and removed incrementally.
	put(set(t, "sub.inc.test. 300 IN NS ns.sub.inc.test."), set(t, "ns.sub.inc.test. 300 IN A 192.0.2.53"))
	if r := ask(tb, "www.sub.inc.test.", dns.TypeA); r.Authoritative || len(r.Ns) != 1 || len(r.Extra) != 2 {
		t.Errorf("referral: %v", r)
	}
	del(zones.SetKey{Name: "sub.inc.test.", Type: "NS"})
	expectRcode(t, ask(tb, "www.sub.inc.test.", dns.TypeA), dns.RcodeNameError, 0)
	expectRcode(t, ask(tb, "ns.sub.inc.test.", dns.TypeA), dns.RcodeSuccess, 1)

	// The zone removed: REFUSED.
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Removed: true}}); err != nil {
		t.Fatal(err)
	}
	expectRcode(t, ask(tb, "ns1.inc.test.", dns.TypeA), dns.RcodeRefused, 0)
	if got := tb.Load().Zones(); len(got) != 0 {
		t.Errorf("zones %v", got)
	}
}

func TestApplyReset(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "old.inc.test. 300 IN A 192.0.2.1")}}}); err != nil {
		t.Fatal(err)
	}
	sets := parseZone(t, "inc.test.", smallZone+"new A 192.0.2.2\n")
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Reset: true, Put: sets}}); err != nil {
		t.Fatal(err)
	}
	expectRcode(t, ask(tb, "old.inc.test.", dns.TypeA), dns.RcodeNameError, 0)
	expectRcode(t, ask(tb, "new.inc.test.", dns.TypeA), dns.RcodeSuccess, 1)
}

func TestApplyRejects(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	before := tb.Load()
	for _, d := range []zones.ZoneDelta{
		{Origin: "inc.test.", Put: []*zones.Set{set(t, "www.other.test. 300 IN A 192.0.2.1")}},
		{Origin: "inc.test.", Put: []*zones.Set{{RecordSet: zones.RecordSet{Name: "x.inc.test.", Type: "A"}, Qtype: dns.TypeA}}},
		{Origin: "inc.test.", Del: []zones.SetKey{{Name: "x.inc.test.", Type: "NOSUCHTYPE"}}},
	} {
		// A good zone in the same batch is not applied either.
		good := zones.ZoneDelta{Origin: "good.test.", Reset: true, Put: parseZone(t, "good.test.", strings.ReplaceAll(smallZone, "inc.test.", "good.test."))}
		if err := tb.Apply([]zones.ZoneDelta{good, d}); err == nil {
			t.Errorf("delta %+v accepted", d)
		}
		if tb.Load() != before {
			t.Errorf("snapshot changed after a failed Apply")
		}
	}
}

// TestZoneQueryCounter: a zone's query counter lives as long as the zone,
// through new versions, and a failed Apply changes it no more than it
// changes the snapshot.
func TestZoneQueryCounter(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	count := func() uint64 { return tb.Load().zones["inc.test."].qc.sum() }
	tb.Load().zones["inc.test."].qc.inc(0)
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "a.inc.test. 300 IN A 192.0.2.1")}}}); err != nil {
		t.Fatal(err)
	}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Reset: true, Put: parseZone(t, "inc.test.", smallZone)}}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 1 {
		t.Fatalf("after an edit and a reset: %d queries counted, want 1", got)
	}
	bad := zones.ZoneDelta{Origin: "inc.test.", Del: []zones.SetKey{{Name: "x.inc.test.", Type: "NOSUCHTYPE"}}}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Removed: true}, bad}); err == nil {
		t.Fatal("a bad delta was accepted")
	}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "b.inc.test. 300 IN A 192.0.2.2")}}}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 1 {
		t.Errorf("after a failed removal: %d queries counted, want 1", got)
	}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Removed: true}, {Origin: "inc.test.", Reset: true, Put: parseZone(t, "inc.test.", smallZone)}}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 0 {
		t.Errorf("removed and added again: %d queries counted, want 0", got)
	}
}

func TestApplyRoutingSetsUnion(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	a := set(t, "w.inc.test. 60 IN A 192.0.2.1", "w.inc.test. 60 IN A 192.0.2.2")
	a.SetIdentifier = "one"
	b := set(t, "w.inc.test. 30 IN A 192.0.2.2", "w.inc.test. 30 IN A 192.0.2.3")
	b.SetIdentifier = "two"
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{a, b}}}); err != nil {
		t.Fatal(err)
	}
	got := rrStrings(ask(tb, "w.inc.test.", dns.TypeA).Answer)
	want := wantRRs(t, "w.inc.test. 30 IN A 192.0.2.1", "w.inc.test. 30 IN A 192.0.2.2", "w.inc.test. 30 IN A 192.0.2.3")
	if !slices.Equal(got, want) {
		t.Errorf("union\n got %q\nwant %q", got, want)
	}
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Del: []zones.SetKey{{Name: "w.inc.test.", Type: "A", SetID: "two"}}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(ask(tb, "w.inc.test.", dns.TypeA).Answer); n != 2 {
		t.Errorf("after deleting one set: %d records, want 2", n)
	}
}

func TestAlias(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{
		set(t, "target.inc.test. 120 IN A 192.0.2.7"),
		set(t, "target.inc.test. 120 IN AAAA 2001:db8::7"),
		aliasSet("inc.test.", "A", "target.inc.test.", ""),
		aliasSet("www.inc.test.", "A", "Target.Inc.Test", ""),
		aliasSet("chain.inc.test.", "A", "www.inc.test.", ""),
		aliasSet("dangling.inc.test.", "A", "nothing.inc.test.", ""),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"inc.test.", "www.inc.test.", "chain.inc.test."} {
		got := rrStrings(ask(tb, name, dns.TypeA).Answer)
		if want := wantRRs(t, name+" 120 IN A 192.0.2.7"); !slices.Equal(got, want) {
			t.Errorf("alias %s\n got %q\nwant %q", name, got, want)
		}
	}
	// Alias of type A answers nothing for AAAA; a dangling alias is NODATA.
	expectRcode(t, ask(tb, "www.inc.test.", dns.TypeAAAA), dns.RcodeSuccess, 0)
	expectRcode(t, ask(tb, "dangling.inc.test.", dns.TypeA), dns.RcodeSuccess, 0)
	// The apex keeps its SOA and NS.
	expectRcode(t, ask(tb, "inc.test.", dns.TypeSOA), dns.RcodeSuccess, 1)
	// Target changes are seen without touching the alias.
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "target.inc.test. 120 IN A 192.0.2.8")}}}); err != nil {
		t.Fatal(err)
	}
	if r := ask(tb, "www.inc.test.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.8" {
		t.Errorf("alias after target change: %v", r.Answer)
	}
}

// TestApplyLargeZoneIncremental checks that a change to a big zone copies
// only the shards it touches.
func TestApplyLargeZoneIncremental(t *testing.T) {
	const n = 20000
	sets := parseZone(t, "inc.test.", smallZone)
	for i := range n {
		sets = append(sets, set(t, fmt.Sprintf("h%d.inc.test. 300 IN A 192.0.2.1", i)))
	}
	tb := NewTable()
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Reset: true, Put: sets}}); err != nil {
		t.Fatal(err)
	}
	before := tb.Load().zones["inc.test."]
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "h5.inc.test. 300 IN A 192.0.2.5")}}}); err != nil {
		t.Fatal(err)
	}
	after := tb.Load().zones["inc.test."]
	shared := 0
	for i := range after.shards {
		if after.shards[i] == before.shards[i] {
			shared++
		}
	}
	if shared != numShards-1 {
		t.Errorf("%d of %d shards shared after a one-name change, want %d", shared, numShards, numShards-1)
	}
	expectRcode(t, ask(tb, "h5.inc.test.", dns.TypeA), dns.RcodeSuccess, 1)
	expectRcode(t, ask(tb, "h19999.inc.test.", dns.TypeA), dns.RcodeSuccess, 1)
}

// TestApplyWhileAnswering races queries against a writer (run with -race).
func TestApplyWhileAnswering(t *testing.T) {
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, name := range []string{"a.b.inc.test.", "b.inc.test.", "x.w.inc.test.", "ns1.inc.test."} {
					r := ask(tb, name, dns.TypeA)
					if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
						t.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
						return
					}
				}
			}
		}()
	}
	for i := range 300 {
		var d zones.ZoneDelta
		d.Origin = "inc.test."
		if i%2 == 0 {
			d.Put = []*zones.Set{
				set(t, fmt.Sprintf("a.b.inc.test. 300 IN A 192.0.2.%d", i%250+1)),
				set(t, "*.w.inc.test. 300 IN A 192.0.2.1"),
			}
		} else {
			d.Del = []zones.SetKey{{Name: "a.b.inc.test.", Type: "A"}, {Name: "*.w.inc.test.", Type: "A"}}
		}
		if err := tb.Apply([]zones.ZoneDelta{d}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if z := tb.Load().zones["inc.test."]; z.nodes != 2 {
		t.Errorf("%d names left, want 2", z.nodes)
	}
}

// TestNodeSize: a node stays in the 96-byte size class (see node).
func TestNodeSize(t *testing.T) {
	if n := unsafe.Sizeof(node{}); n > 96 {
		t.Errorf("node is %d bytes, want at most 96", n)
	}
}

// TestCompactRRsets: plain A and AAAA RRsets keep only their prepared
// octets; the slow path, ANY, exports and later edits of the same name get
// the records back.
func TestCompactRRsets(t *testing.T) {
	tb := tableOf(t, map[string]string{"example.org.": exampleZone})
	apply := func(d zonesDelta) {
		t.Helper()
		if err := tb.Apply([]zonesDelta{d}); err != nil {
			t.Fatal(err)
		}
	}
	apply(zonesDelta{Origin: "example.org.", Put: []*zones.Set{
		set(t, "c.example.org. 300 IN A 192.0.2.1", "c.example.org. 300 IN A 192.0.2.2"),
		set(t, "c.example.org. 300 IN AAAA 2001:db8::1"),
	}})
	node := func() *node { return tb.Load().zones["example.org."].node("c.example.org.") }
	check := func(step string, want ...string) {
		t.Helper()
		a := node().get(dns.TypeA)
		if a == nil || a.rrs != nil || a.n != 2 {
			t.Fatalf("%s: A RRset not compact: %+v", step, a)
		}
		r := answerDirect(tb, newQuery("c.example.org.", dns.TypeA, 0, false), UDP)
		if got := rrStrings(r.Answer); !slicesEqual(got, wantRRs(t, "c.example.org. 300 IN A 192.0.2.1", "c.example.org. 300 IN A 192.0.2.2")) {
			t.Errorf("%s: slow path A: %v", step, got)
		}
		var q fastQuery
		pkt := fastVariant{}.pack(t, 7, "C.example.org.", dns.TypeA)
		out, _, ok := appendFast(tb.Load(), &q, pkt, nil)
		var m dns.Msg
		if !ok || m.Unpack(out) != nil || len(m.Answer) != 2 {
			t.Errorf("%s: fast path A: ok %v, %v", step, ok, &m)
		}
		any := answerDirect(tb, newQuery("c.example.org.", dns.TypeANY, 0, false), TCP)
		if len(any.Answer) < 1 {
			t.Errorf("%s: ANY: %v", step, any)
		}
		var exported []string
		tb.EachRecordSet("example.org.", func(rs *zones.RecordSet) error {
			if rs.Name == "c.example.org." {
				exported = append(exported, rs.Type+" "+strings.Join(rs.Values, ","))
			}
			return nil
		})
		slices.Sort(exported)
		if !slicesEqual(exported, want) {
			t.Errorf("%s: exported %v, want %v", step, exported, want)
		}
	}
	check("put", "A 192.0.2.1,192.0.2.2", "AAAA 2001:db8::1")
	// Another type at the name: the node is rebuilt from the compact A.
	apply(zonesDelta{Origin: "example.org.", Put: []*zones.Set{set(t, `c.example.org. 300 IN TXT "x"`)}})
	check("put TXT", "A 192.0.2.1,192.0.2.2", "AAAA 2001:db8::1", `TXT "x"`)
	apply(zonesDelta{Origin: "example.org.", Del: []zonesKey{{Name: "c.example.org.", Type: "TXT"}, {Name: "c.example.org.", Type: "AAAA"}}})
	check("delete TXT and AAAA", "A 192.0.2.1,192.0.2.2")
	if node().get(dns.TypeAAAA) != nil {
		t.Error("AAAA still there")
	}
	if n := node(); !n.compactOnly || n.sets != nil {
		t.Errorf("a name with one compact RRset keeps its set slice: compactOnly %v, sets %v", n.compactOnly, n.sets)
	}
	// A routed set of another type at the name keeps the A compact and answers.
	w1 := rset(t, "c.example.org. 60 IN AAAA 2001:db8::2", weight("w1", 1, ""))
	w2 := rset(t, "c.example.org. 60 IN AAAA 2001:db8::3", weight("w2", 1, ""))
	w1.Values, w2.Values = []string{"2001:db8::2"}, []string{"2001:db8::3"} // as the store keeps them
	apply(zonesDelta{Origin: "example.org.", Put: []*zones.Set{w1, w2}})
	check("weighted AAAA beside", "A 192.0.2.1,192.0.2.2", "AAAA 2001:db8::2", "AAAA 2001:db8::3")
	if n := node(); n.compactOnly || len(n.sets) != 3 {
		t.Errorf("with routed sets beside: compactOnly %v, %d sets", n.compactOnly, len(n.sets))
	}
	// Deleting the compact A leaves the routed sets.
	apply(zonesDelta{Origin: "example.org.", Del: []zonesKey{{Name: "c.example.org.", Type: "A"}}})
	if n := node(); n == nil || n.get(dns.TypeA) != nil || len(n.sets) != 2 {
		t.Errorf("after deleting A: %+v", n)
	}
}

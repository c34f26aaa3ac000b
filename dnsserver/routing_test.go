package dnsserver

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// testHealth is a Health whose checks a test turns up and down.
type testHealth struct {
	mu   sync.RWMutex
	down map[string]bool
}

func newTestHealth() *testHealth { return &testHealth{down: map[string]bool{}} }

func (h *testHealth) Healthy(id string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return !h.down[id]
}

// set marks the checks healthy or not.
func (h *testHealth) set(healthy bool, ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		h.down[id] = !healthy
	}
}

// memCIDR is an in-memory CIDRSource: collection -> location -> blocks.
type memCIDR map[string]map[string][]string

func (m memCIDR) Lookup(coll string, addr netip.Addr) (string, int, bool) {
	loc, bits := "", -1
	for l, blocks := range m[coll] {
		for _, b := range blocks {
			p := netip.MustParsePrefix(b)
			if p.Contains(addr) && p.Bits() > bits {
				loc, bits = l, p.Bits()
			}
		}
	}
	return loc, bits, bits >= 0
}

var _ Health = (*testHealth)(nil)
var _ CIDRSource = memCIDR(nil)

// rset builds a record set of one line and sets its routing fields.
func rset(t testing.TB, line string, route func(s *zones.Set)) *zones.Set {
	t.Helper()
	s := set(t, line)
	route(s)
	return s
}

func weight(id string, w int64, check string) func(*zones.Set) {
	return func(s *zones.Set) { s.SetIdentifier, s.Weight, s.HealthCheckID, s.CheckID = id, &w, check, check }
}

func failover(id, role, check string) func(*zones.Set) {
	return func(s *zones.Set) { s.SetIdentifier, s.Failover, s.HealthCheckID, s.CheckID = id, role, check, check }
}

func multivalue(id, check string) func(*zones.Set) {
	yes := true
	return func(s *zones.Set) {
		s.SetIdentifier, s.MultiValueAnswer, s.HealthCheckID, s.CheckID = id, &yes, check, check
	}
}

func cidr(id, coll, loc, check string) func(*zones.Set) {
	return func(s *zones.Set) {
		s.SetIdentifier, s.HealthCheckID, s.CheckID = id, check, check
		s.CidrRouting = &zones.CidrRouting{CollectionID: coll, LocationName: loc}
	}
}

// routedAlias is an alias set with evaluateTargetHealth and routing.
func routedAlias(name, typ, target string, evaluate bool, route func(s *zones.Set)) *zones.Set {
	s := aliasSet(name, typ, target, "")
	s.AliasTarget.EvaluateTargetHealth = evaluate
	if route != nil {
		route(s)
	}
	return s
}

// routingTable serves smallZone plus sets, with health h and CIDR source c.
func routingTable(t testing.TB, h Health, c CIDRSource, sets ...*zones.Set) *Table {
	t.Helper()
	tb := tableOf(t, map[string]string{"inc.test.": smallZone})
	tb.SetHealth(h)
	tb.SetCIDRSource(c)
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: sets}}); err != nil {
		t.Fatal(err)
	}
	return tb
}

// dnsClient queries one server over UDP from a chosen local address,
// reusing one socket.
type dnsClient struct {
	c    *dns.Client
	conn *dns.Conn
}

func newDNSClient(t testing.TB, server string, local netip.Addr) *dnsClient {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: local.AsSlice()}
	}
	c := &dns.Client{Net: "udp", Timeout: 3 * time.Second, UDPSize: 4096, Dialer: d}
	conn, err := c.Dial(server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &dnsClient{c: c, conn: conn}
}

func (d *dnsClient) ask(t testing.TB, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, _, err := d.c.ExchangeWithConn(m, d.conn)
	if err != nil {
		t.Fatalf("%s: %v", m.Question[0].Name, err)
	}
	return r
}

// tally asks n times and counts the A addresses answered.
func (d *dnsClient) tally(t testing.TB, name string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		r := d.ask(t, newQuery(name, dns.TypeA, 1232, false))
		if r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s: %v", name, r)
		}
		for _, rr := range r.Answer {
			got[rr.(*dns.A).A.String()]++
		}
	}
	return got
}

// share checks that part/total is within 5 percentage points of want.
func share(t *testing.T, what string, part, total int, want float64) {
	t.Helper()
	if got := float64(part) / float64(total); math.Abs(got-want) > 0.05 {
		t.Errorf("%s: share %.3f (%d of %d), want %.2f +- 0.05", what, got, part, total, want)
	}
}

func onlyKeys(t *testing.T, what string, got map[string]int, want ...string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("%s: answers %v, want exactly %v", what, got, want)
	}
}

func TestWeightedRouting(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, nil,
		rset(t, "w.inc.test. 60 IN A 192.0.2.1", weight("three", 3, "hc-a")),
		rset(t, "w.inc.test. 60 IN A 192.0.2.2", weight("one", 1, "hc-b")),
		rset(t, "w.inc.test. 60 IN A 192.0.2.3", weight("zero", 0, "hc-z")),
	)
	s := startServer(t, tb, Options{})
	c := newDNSClient(t, s.Addr(), netip.Addr{})

	const n = 4000
	got := c.tally(t, "w.inc.test.", n)
	onlyKeys(t, "all healthy", got, "192.0.2.1", "192.0.2.2")
	share(t, "weight 3 of 3:1", got["192.0.2.1"], n, 0.75)
	share(t, "weight 1 of 3:1", got["192.0.2.2"], n, 0.25)

	h.set(false, "hc-a")
	onlyKeys(t, "weight 3 down", c.tally(t, "w.inc.test.", 200), "192.0.2.2")

	// Weight 0 answers only when every set of weight > 0 is unhealthy.
	h.set(false, "hc-b")
	onlyKeys(t, "weights 3 and 1 down", c.tally(t, "w.inc.test.", 200), "192.0.2.3")

	// All three down: all count as healthy, and as every set of weight > 0
	// is down the weight-0 set answers too, with the share of weight 1:
	// 3:1:1.
	h.set(false, "hc-z")
	got = c.tally(t, "w.inc.test.", n)
	onlyKeys(t, "all down", got, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	share(t, "all down, weight 3", got["192.0.2.1"], n, 0.60)
	share(t, "all down, weight 0", got["192.0.2.3"], n, 0.20)

	h.set(true, "hc-a", "hc-b", "hc-z")
	onlyKeys(t, "all up again", c.tally(t, "w.inc.test.", 200), "192.0.2.1", "192.0.2.2")
}

func TestWeightedAllZero(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, nil,
		rset(t, "z.inc.test. 60 IN A 192.0.2.1", weight("a", 0, "hc-a")),
		rset(t, "z.inc.test. 60 IN A 192.0.2.2", weight("b", 0, "")),
		rset(t, "z.inc.test. 60 IN A 192.0.2.3", weight("c", 0, "hc-c")),
	)
	got := map[string]int{}
	for range 6000 {
		r := ask(tb, "z.inc.test.", dns.TypeA)
		expectRcode(t, r, dns.RcodeSuccess, 1)
		got[r.Answer[0].(*dns.A).A.String()]++
	}
	onlyKeys(t, "all weights 0", got, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	for a, k := range got {
		share(t, "all weights 0: "+a, k, 6000, 1.0/3)
	}
	// A set without a health check is always healthy.
	h.set(false, "hc-a", "hc-c")
	for range 50 {
		if r := ask(tb, "z.inc.test.", dns.TypeA); r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
			t.Fatalf("checks down: %v", r.Answer)
		}
	}
}

func TestFailoverRouting(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, nil,
		rset(t, "f.inc.test. 60 IN A 192.0.2.1", failover("p", zones.FailoverPrimary, "hc-p")),
		rset(t, "f.inc.test. 60 IN A 192.0.2.2", failover("s", zones.FailoverSecondary, "hc-s")),
		rset(t, "g.inc.test. 60 IN A 192.0.2.3", failover("p", zones.FailoverPrimary, "hc-p")),
		rset(t, "g.inc.test. 60 IN A 192.0.2.4", failover("s", zones.FailoverSecondary, "")),
	)
	s := startServer(t, tb, Options{})
	c := newDNSClient(t, s.Addr(), netip.Addr{})
	want := func(what, name, addr string) {
		t.Helper()
		onlyKeys(t, what, c.tally(t, name, 20), addr)
	}
	want("both up", "f.inc.test.", "192.0.2.1")
	h.set(false, "hc-p")
	want("primary down", "f.inc.test.", "192.0.2.2")
	want("primary down, secondary without check", "g.inc.test.", "192.0.2.4")
	h.set(true, "hc-p")
	want("primary back", "f.inc.test.", "192.0.2.1")
	h.set(false, "hc-p", "hc-s")
	want("both down", "f.inc.test.", "192.0.2.1")
	h.set(true, "hc-s")
	want("secondary back", "f.inc.test.", "192.0.2.2")
}

func TestMultivalueRouting(t *testing.T) {
	h := newTestHealth()
	var sets []*zones.Set
	var all []string
	for i := range 10 {
		addr := fmt.Sprintf("192.0.2.%d", 10+i)
		all = append(all, addr)
		ttl := "60"
		if i == 3 {
			ttl = "30"
		}
		sets = append(sets, rset(t, "m.inc.test. "+ttl+" IN A "+addr, multivalue(fmt.Sprint("m", i), fmt.Sprint("hc-", i))))
	}
	tb := routingTable(t, h, nil, sets...)
	s := startServer(t, tb, Options{})
	c := newDNSClient(t, s.Addr(), netip.Addr{})
	check := func(what string, queries, wantLen int, allowed []string) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for range queries {
			r := c.ask(t, newQuery("m.inc.test.", dns.TypeA, 1232, false))
			if len(r.Answer) != wantLen {
				t.Fatalf("%s: %d values, want %d: %v", what, len(r.Answer), wantLen, r.Answer)
			}
			distinct := map[string]bool{}
			for _, rr := range r.Answer {
				a := rr.(*dns.A).A.String()
				if !slices.Contains(allowed, a) || distinct[a] {
					t.Fatalf("%s: unexpected or repeated %s in %v", what, a, r.Answer)
				}
				if rr.Header().Ttl != 30 {
					t.Fatalf("%s: TTL %d, want the group's lowest, 30", what, rr.Header().Ttl)
				}
				distinct[a] = true
				seen[a]++
			}
		}
		return seen
	}
	// All healthy: 8 of 10, at random, so over 100 queries each shows up.
	onlyKeys(t, "all healthy", check("all healthy", 100, 8, all), all...)
	h.set(false, "hc-0", "hc-1", "hc-2", "hc-3", "hc-4", "hc-5", "hc-6")
	onlyKeys(t, "7 down", check("7 down", 20, 3, all[7:]), all[7:]...)
	h.set(false, "hc-7", "hc-8", "hc-9")
	onlyKeys(t, "all down", check("all down", 100, 8, all), all...)
}

func TestCIDRRouting(t *testing.T) {
	h := newTestHealth()
	cs := memCIDR{"col": {
		"east":  {"198.51.100.0/24"},
		"west":  {"203.0.113.0/24", "10.0.0.0/8"},
		"lo2":   {"127.0.0.2/32"},
		"north": {"198.18.0.0/24"},
		"bare":  {"192.0.2.128/25"}, // no record set answers it
	}}
	tb := routingTable(t, h, cs,
		rset(t, "c.inc.test. 60 IN A 192.0.2.1", cidr("e", "col", "east", "hc-east")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.2", cidr("w", "col", "west", "")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.3", cidr("l", "col", "lo2", "")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.4", cidr("n", "col", "north", "")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.9", cidr("d", "col", "*", "")),
		rset(t, "nodef.inc.test. 60 IN A 192.0.2.1", cidr("e", "col", "east", "")),
		rset(t, "nodef.inc.test. 60 IN A 192.0.2.3", cidr("l", "col", "lo2", "")),
	)
	s := startServer(t, tb, Options{})
	c1 := newDNSClient(t, s.Addr(), netip.MustParseAddr("127.0.0.1"))

	withECS := func(name, subnet string) *dns.Msg {
		m := newQuery(name, dns.TypeA, 1232, false)
		p := netip.MustParsePrefix(subnet)
		e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
		if p.Addr().Is6() {
			e.Family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, e)
		return m
	}
	expect := func(what string, r *dns.Msg, addr string, scope int) {
		t.Helper()
		var got []string
		for _, rr := range r.Answer {
			got = append(got, rr.(*dns.A).A.String())
		}
		if want := []string{addr}; addr == "" && len(got) != 0 || addr != "" && !slices.Equal(got, want) || r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s: rcode %s answers %v, want %q", what, dns.RcodeToString[r.Rcode], got, addr)
		}
		var ecs *dns.EDNS0_SUBNET
		if o := r.IsEdns0(); o != nil {
			for _, opt := range o.Option {
				if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
					ecs = e
				}
			}
		}
		switch {
		case scope < 0 && ecs != nil:
			t.Errorf("%s: ECS in a reply to a query without: %v", what, ecs)
		case scope >= 0 && ecs == nil:
			t.Errorf("%s: no ECS in the reply", what)
		case scope >= 0 && int(ecs.SourceScope) != scope:
			t.Errorf("%s: ECS scope /%d, want /%d (%v)", what, ecs.SourceScope, scope, ecs)
		}
	}

	// ECS decides, and the scope is the matched block's length.
	r := c1.ask(t, withECS("c.inc.test.", "198.51.100.0/24"))
	expect("ECS 198.51.100.0/24", r, "192.0.2.1", 24)
	if e := r.IsEdns0().Option[0].(*dns.EDNS0_SUBNET); e.SourceNetmask != 24 || e.Family != 1 || !e.Address.Equal(net.ParseIP("198.51.100.0")) {
		t.Errorf("ECS not echoed: %v", e)
	}
	expect("ECS 203.0.113.0/24", c1.ask(t, withECS("c.inc.test.", "203.0.113.0/24")), "192.0.2.2", 24)
	expect("ECS in a /8 block", c1.ask(t, withECS("c.inc.test.", "10.1.2.0/24")), "192.0.2.2", 8)
	// No block holds it: the default, for just that subnet.
	expect("ECS 192.0.2.0/24", c1.ask(t, withECS("c.inc.test.", "192.0.2.0/24")), "192.0.2.9", 24)
	// A source prefix shorter than the block does not match it (Route 53).
	expect("ECS in north", c1.ask(t, withECS("c.inc.test.", "198.18.0.0/24")), "192.0.2.4", 24)
	expect("ECS /16 around north's /24", c1.ask(t, withECS("c.inc.test.", "198.18.0.0/16")), "192.0.2.9", 16)
	// A location no set answers falls to the default.
	expect("location without a set", c1.ask(t, withECS("c.inc.test.", "192.0.2.128/25")), "192.0.2.9", 25)
	// Names without IP-based routing echo ECS with scope 0.
	expect("ECS, simple name", c1.ask(t, withECS("ns1.inc.test.", "198.51.100.0/24")), "192.0.2.1", 0)
	// SOURCE PREFIX-LENGTH 0: the resolver's address decides; scope 0.
	expect("ECS /0", c1.ask(t, withECS("c.inc.test.", "0.0.0.0/0")), "192.0.2.9", 0)

	// Without ECS the resolver's address decides.
	c2 := newDNSClient(t, s.Addr(), netip.MustParseAddr("127.0.0.2"))
	c3 := newDNSClient(t, s.Addr(), netip.MustParseAddr("127.0.0.3"))
	expect("from 127.0.0.2", c2.ask(t, newQuery("c.inc.test.", dns.TypeA, 1232, false)), "192.0.2.3", -1)
	expect("from 127.0.0.3", c3.ask(t, newQuery("c.inc.test.", dns.TypeA, 1232, false)), "192.0.2.9", -1)
	expect("from 127.0.0.2, no EDNS", c2.ask(t, newQuery("c.inc.test.", dns.TypeA, 0, false)), "192.0.2.3", -1)
	// No match and no "*": NODATA with the SOA.
	r = c3.ask(t, newQuery("nodef.inc.test.", dns.TypeA, 1232, false))
	expect("no match, no default", r, "", -1)
	if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Errorf("NODATA without SOA: %v", r)
	}
	expect("nodef from 127.0.0.2", c2.ask(t, newQuery("nodef.inc.test.", dns.TypeA, 1232, false)), "192.0.2.3", -1)

	// An unhealthy location falls to a healthy "*".
	h.set(false, "hc-east")
	expect("east unhealthy", c1.ask(t, withECS("c.inc.test.", "198.51.100.0/24")), "192.0.2.9", 24)
	h.set(true, "hc-east")
	expect("east back", c1.ask(t, withECS("c.inc.test.", "198.51.100.0/24")), "192.0.2.1", 24)

	// RFC 7871: address bits beyond the source prefix are FORMERR. miekg
	// masks them when packing, so patch the packet.
	wire, err := withECS("c.inc.test.", "198.51.96.0/20").Pack()
	if err != nil {
		t.Fatal(err)
	}
	opt := []byte{0, 8, 0, 7, 0, 1, 20, 0, 198, 51, 96}
	i := bytes.Index(wire, opt)
	if i < 0 {
		t.Fatalf("no ECS option in %x", wire)
	}
	wire[i+len(opt)-1] = 100 // 198.51.100.0 has bits set beyond /20
	if r := rawExchange(t, s.Addr(), wire); r.Rcode != dns.RcodeFormatError {
		t.Errorf("ECS with host bits: %v", r)
	}
	// IPv6 ECS to an IPv4-only collection: the default.
	expect("ECS IPv6", c1.ask(t, withECS("c.inc.test.", "2001:db8::/56")), "192.0.2.9", 56)
}

func TestAliasTree(t *testing.T) {
	h := newTestHealth()
	primary := routedAlias("www.inc.test.", "A", "pool-a.inc.test.", true, failover("p", zones.FailoverPrimary, ""))
	tb := routingTable(t, h, nil,
		rset(t, "pool-a.inc.test. 60 IN A 192.0.2.1", weight("a1", 1, "hc-a1")),
		rset(t, "pool-a.inc.test. 60 IN A 192.0.2.2", weight("a2", 1, "hc-a2")),
		rset(t, "pool-b.inc.test. 60 IN A 192.0.2.3", weight("b1", 1, "hc-b1")),
		primary,
		routedAlias("www.inc.test.", "A", "pool-b.inc.test.", true, failover("s", zones.FailoverSecondary, "")),
		// The same tree without evaluateTargetHealth on the primary.
		routedAlias("blind.inc.test.", "A", "pool-a.inc.test.", false, failover("p", zones.FailoverPrimary, "")),
		routedAlias("blind.inc.test.", "A", "pool-b.inc.test.", true, failover("s", zones.FailoverSecondary, "")),
		// A simple alias at the apex to the tree, and an alias loop.
		routedAlias("inc.test.", "A", "www.inc.test.", true, nil),
		routedAlias("loop1.inc.test.", "A", "loop2.inc.test.", true, weight("x", 1, "")),
		routedAlias("loop2.inc.test.", "A", "loop1.inc.test.", true, nil),
	)
	s := startServer(t, tb, Options{})
	c := newDNSClient(t, s.Addr(), netip.Addr{})
	want := func(what, name string, addrs ...string) {
		t.Helper()
		onlyKeys(t, what, c.tally(t, name, 60), addrs...)
	}
	want("all healthy", "www.inc.test.", "192.0.2.1", "192.0.2.2")
	r := c.ask(t, newQuery("www.inc.test.", dns.TypeA, 1232, false))
	if len(r.Answer) != 1 || r.Answer[0].Header().Name != "www.inc.test." {
		t.Errorf("alias answer not owned by the alias: %v", r.Answer)
	}
	want("apex alias", "inc.test.", "192.0.2.1", "192.0.2.2")

	h.set(false, "hc-a1")
	want("a1 down", "www.inc.test.", "192.0.2.2")
	h.set(false, "hc-a2")
	want("pool a down", "www.inc.test.", "192.0.2.3")
	want("pool a down, apex", "inc.test.", "192.0.2.3")
	want("pool a down, primary ignores target health", "blind.inc.test.", "192.0.2.1", "192.0.2.2")

	// Everything down: the primary answers, and pool a by weight.
	h.set(false, "hc-b1")
	want("all down", "www.inc.test.", "192.0.2.1", "192.0.2.2")
	h.set(true, "hc-a2")
	want("a2 back", "www.inc.test.", "192.0.2.2")
	h.set(true, "hc-a1", "hc-b1")
	want("all back", "www.inc.test.", "192.0.2.1", "192.0.2.2")

	// A health check on the alias record counts too.
	withCheck := *primary
	withCheck.HealthCheckID, withCheck.CheckID = "hc-alias", "hc-alias"
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{&withCheck}}}); err != nil {
		t.Fatal(err)
	}
	h.set(false, "hc-alias")
	want("alias's own check down", "www.inc.test.", "192.0.2.3")
	h.set(true, "hc-alias")
	want("alias's own check up", "www.inc.test.", "192.0.2.1", "192.0.2.2")

	// A loop answers NODATA, promptly.
	r = c.ask(t, newQuery("loop1.inc.test.", dns.TypeA, 1232, false))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("alias loop: %v", r)
	}
}

func TestUnionOfHealthySets(t *testing.T) {
	h := newTestHealth()
	geo := func(id, check string) func(*zones.Set) {
		return func(s *zones.Set) {
			s.SetIdentifier, s.HealthCheckID, s.CheckID = id, check, check
			s.GeoLocation = &zones.GeoLocation{CountryCode: id}
		}
	}
	tb := routingTable(t, h, nil,
		rset(t, "geo.inc.test. 60 IN A 192.0.2.1", geo("DE", "hc-de")),
		rset(t, "geo.inc.test. 30 IN A 192.0.2.2", geo("FR", "hc-fr")),
	)
	got := rrStrings(ask(tb, "geo.inc.test.", dns.TypeA).Answer)
	if want := wantRRs(t, "geo.inc.test. 30 IN A 192.0.2.1", "geo.inc.test. 30 IN A 192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("geolocation union\n got %q\nwant %q", got, want)
	}
	h.set(false, "hc-de")
	got = rrStrings(ask(tb, "geo.inc.test.", dns.TypeA).Answer)
	if want := wantRRs(t, "geo.inc.test. 30 IN A 192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("one unhealthy\n got %q\nwant %q", got, want)
	}
	h.set(false, "hc-fr")
	if n := len(ask(tb, "geo.inc.test.", dns.TypeA).Answer); n != 2 {
		t.Errorf("all unhealthy: %d records, want both", n)
	}
}

func TestRoutedCNAMEAndAdditional(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, nil,
		rset(t, "alias.inc.test. 60 IN CNAME a.inc.test.", failover("p", zones.FailoverPrimary, "hc-p")),
		rset(t, "alias.inc.test. 60 IN CNAME b.inc.test.", failover("s", zones.FailoverSecondary, "")),
		set(t, "a.inc.test. 60 IN A 192.0.2.1"),
		set(t, "b.inc.test. 60 IN A 192.0.2.2"),
		rset(t, "mx.inc.test. 60 IN MX 10 a.inc.test.", failover("p", zones.FailoverPrimary, "hc-p")),
		rset(t, "mx.inc.test. 60 IN MX 10 b.inc.test.", failover("s", zones.FailoverSecondary, "")),
	)
	r := ask(tb, "alias.inc.test.", dns.TypeA)
	if got, want := rrStrings(r.Answer), wantRRs(t, "alias.inc.test. 60 IN CNAME a.inc.test.", "a.inc.test. 60 IN A 192.0.2.1"); !slices.Equal(got, want) {
		t.Errorf("routed CNAME\n got %q\nwant %q", got, want)
	}
	h.set(false, "hc-p")
	r = ask(tb, "alias.inc.test.", dns.TypeA)
	if got, want := rrStrings(r.Answer), wantRRs(t, "alias.inc.test. 60 IN CNAME b.inc.test.", "b.inc.test. 60 IN A 192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("routed CNAME, primary down\n got %q\nwant %q", got, want)
	}
	r = ask(tb, "mx.inc.test.", dns.TypeMX)
	if got, want := rrStrings(r.Extra), wantRRs(t, "b.inc.test. 60 IN A 192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("additional of a routed MX\n got %q\nwant %q", got, want)
	}
}

func TestExplain(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, memCIDR{"col": {"east": {"198.51.100.0/24"}}},
		rset(t, "pool.inc.test. 60 IN A 192.0.2.1", weight("a1", 3, "hc-a1")),
		rset(t, "pool.inc.test. 60 IN A 192.0.2.2", weight("a2", 1, "hc-a2")),
		rset(t, "pool.inc.test. 60 IN A 192.0.2.3", weight("zero", 0, "")),
		routedAlias("www.inc.test.", "A", "pool.inc.test.", true, failover("p", zones.FailoverPrimary, "")),
		rset(t, "www.inc.test. 60 IN A 192.0.2.9", failover("s", zones.FailoverSecondary, "")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.5", cidr("e", "col", "east", "")),
		rset(t, "c.inc.test. 60 IN A 192.0.2.6", cidr("d", "col", "*", "")),
	)
	h.set(false, "hc-a1")
	m, ex := Explain(tb.Load(), "WWW.inc.test", dns.TypeA, netip.MustParseAddr("192.0.2.53"), netip.Prefix{})
	if got := rrStrings(m.Answer); !slices.Equal(got, wantRRs(t, "www.inc.test. 60 IN A 192.0.2.2")) {
		t.Errorf("answer %q", got)
	}
	if len(ex.Steps) != 2 {
		t.Fatalf("steps %+v", ex.Steps)
	}
	fo, w := ex.Steps[0], ex.Steps[1]
	if fo.Policy != "failover" || fo.Depth != 0 || !slices.Equal(fo.Chosen, []string{"p"}) || !strings.Contains(fo.Rule, "PRIMARY is healthy") {
		t.Errorf("failover step %+v", fo)
	}
	if len(fo.Candidates) != 2 || fo.Candidates[0].AliasTarget != "pool.inc.test." || !fo.Candidates[0].EvaluateTargetHealth || !fo.Candidates[0].Healthy {
		t.Errorf("failover candidates %+v", fo.Candidates)
	}
	if w.Policy != "weighted" || w.Name != "pool.inc.test." || w.Depth != 1 || !slices.Equal(w.Chosen, []string{"a2"}) ||
		!strings.Contains(w.Rule, "healthy sets of weight > 0") {
		t.Errorf("weighted step %+v", w)
	}
	type cand struct {
		id      string
		weight  int64
		healthy bool
	}
	var cands []cand
	for _, c := range w.Candidates {
		cands = append(cands, cand{c.SetIdentifier, *c.Weight, c.Healthy})
	}
	if want := []cand{{"a1", 3, false}, {"a2", 1, true}, {"zero", 0, true}}; !slices.Equal(cands, want) {
		t.Errorf("weighted candidates %v, want %v", cands, want)
	}
	if ex.Client != "192.0.2.53" || ex.ClientSource != "resolver" || ex.ScopePrefixLength != nil {
		t.Errorf("client %+v", ex)
	}

	_, ex = Explain(tb.Load(), "c.inc.test.", dns.TypeA, netip.MustParseAddr("192.0.2.53"), netip.MustParsePrefix("198.51.100.0/24"))
	if len(ex.Steps) != 1 || ex.Steps[0].Location != "east" || !slices.Equal(ex.Steps[0].Chosen, []string{"e"}) ||
		ex.ClientSource != "ecs" || ex.ScopePrefixLength == nil || *ex.ScopePrefixLength != 24 {
		t.Errorf("cidr explanation %+v", ex)
	}

	res, err := tb.TestDNSAnswer(AnswerRequest{Zone: "inc.test", Name: "pool.inc.test", Qtype: dns.TypeA})
	if err != nil || res.Nameserver != "ns1.inc.test." || res.Reply.Rcode != dns.RcodeSuccess || len(res.Reply.Answer) != 1 {
		t.Errorf("TestDNSAnswer: %+v, %v", res, err)
	}
	var ze *zones.Error
	if _, err := tb.TestDNSAnswer(AnswerRequest{Zone: "other.test.", Name: "x.other.test."}); !errors.As(err, &ze) || ze.Code != zones.CodeNoSuchHostedZone {
		t.Errorf("unknown zone: %v", err)
	}
	if _, err := tb.TestDNSAnswer(AnswerRequest{Zone: "inc.test.", Name: "x.other.test."}); !errors.As(err, &ze) || ze.Code != zones.CodeInvalidInput {
		t.Errorf("name outside the zone: %v", err)
	}
}

// TestRoutingSurvivesApply checks that health and CIDR sources stay with
// the table across snapshots.
func TestRoutingSurvivesApply(t *testing.T) {
	h := newTestHealth()
	tb := routingTable(t, h, nil,
		rset(t, "f.inc.test. 60 IN A 192.0.2.1", failover("p", zones.FailoverPrimary, "hc-p")),
		rset(t, "f.inc.test. 60 IN A 192.0.2.2", failover("s", zones.FailoverSecondary, "")),
	)
	h.set(false, "hc-p")
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "inc.test.", Put: []*zones.Set{set(t, "other.inc.test. 60 IN A 192.0.2.7")}}}); err != nil {
		t.Fatal(err)
	}
	if r := ask(tb, "f.inc.test.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
		t.Errorf("after Apply: %v", r.Answer)
	}
	tb.SetHealth(nil)
	if r := ask(tb, "f.inc.test.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("without a health source: %v", r.Answer)
	}
}

// rawExchange sends a packed query over UDP and unpacks the reply.
func rawExchange(t *testing.T, addr string, wire []byte) *dns.Msg {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(wire); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestClientSubnetFormerr(t *testing.T) {
	tb := routingTable(t, nil, nil)
	q := func(opts ...dns.EDNS0) *dns.Msg {
		m := newQuery("ns1.inc.test.", dns.TypeA, 1232, false)
		m.IsEdns0().Option = opts
		return m
	}
	v4 := func(bits uint8, a ...byte) *dns.EDNS0_SUBNET {
		return &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: bits, Address: net.IP(a)}
	}
	for _, c := range []struct {
		name  string
		req   *dns.Msg
		rcode int
	}{
		{"valid", q(v4(24, 198, 51, 100, 0)), dns.RcodeSuccess},
		{"family 0, prefix 0", q(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET}), dns.RcodeSuccess},
		{"two options", q(v4(24, 198, 51, 100, 0), v4(24, 203, 0, 113, 0)), dns.RcodeFormatError},
		{"host bits", q(v4(24, 198, 51, 100, 1)), dns.RcodeFormatError},
		{"prefix too long", q(v4(33, 198, 51, 100, 0)), dns.RcodeFormatError},
		{"unknown family", q(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 3, SourceNetmask: 8, Address: net.IP{10, 0, 0, 0}}), dns.RcodeFormatError},
		{"family 0 with a prefix", q(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: 8}), dns.RcodeFormatError},
		{"IPv6 with a short address", q(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: 8, Address: net.IP{0x20, 0, 0, 0}}), dns.RcodeFormatError},
	} {
		r := answerDirect(tb, c.req, UDP)
		if r.Rcode != c.rcode {
			t.Errorf("%s: rcode %s, want %s", c.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
		}
		if _, err := Pack(r, nil); err != nil {
			t.Errorf("%s: pack reply: %v", c.name, err)
		}
	}
}

// TestWideAliasTree checks that a zone of wide alias trees evaluating
// target health cannot make a query take (width ^ depth) steps.
func TestWideAliasTree(t *testing.T) {
	h := newTestHealth()
	var sets []*zones.Set
	const width, levels = 10, 9
	for l := range levels {
		for i := range width {
			name, target := fmt.Sprintf("l%d.inc.test.", l), fmt.Sprintf("l%d.inc.test.", l+1)
			sets = append(sets, routedAlias(name, "A", target, true, weight(fmt.Sprint(i), 1, fmt.Sprint("hc-", l, "-", i))))
		}
	}
	sets = append(sets, set(t, fmt.Sprintf("l%d.inc.test. 60 IN A 192.0.2.1", levels)))
	tb := routingTable(t, h, nil, sets...)
	// Checks down at the last alias level make every target evaluation
	// walk the tree.
	for i := range width {
		h.set(false, fmt.Sprint("hc-", levels-1, "-", i))
	}
	r := ask(tb, "l0.inc.test.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("%v", r)
	}
}

package dnsserver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const exampleZone = `$ORIGIN example.org.
$TTL 300
@           3600 IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 600
@           NS    ns1
@           NS    ns.other.test.
@           MX    10 mail
@           MX    20 mx.wild
@           A     192.0.2.1
ns1         A     192.0.2.53
mail        A     192.0.2.25
mail        AAAA  2001:db8::25
www         CNAME @
chain       CNAME www
loop1       CNAME loop2
loop2       CNAME loop1
dangling    CNAME nothing
out         CNAME www.elsewhere.invalid.
*.wild      A     192.0.2.100
*.wild      TXT   "wild"
sub.wild    A     192.0.2.101
a.b.ent     A     192.0.2.102
*.ent       TXT   "ent-wild"
wc          CNAME x.wild
deleg       NS    ns.deleg
deleg       NS    ns.other.test.
deleg       DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.deleg    A     192.0.2.200
tocut       CNAME host.deleg
dn          DNAME tgt
tgt         A     192.0.2.150
x.tgt       A     192.0.2.151
dnloop      DNAME x.dnloop
_sip._tcp   SRV   0 5 5060 mail
big         TXT   "big"
`

const parentZone = `$ORIGIN test.
$TTL 300
@      SOA ns1.test. hostmaster.test. 1 7200 3600 1209600 300
@      NS  ns1.test.
ns1    A   192.0.2.2
child  NS  ns1.child.test.
child  DS  54321 13 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
ns1.child A 192.0.2.3
`

const childZone = `$ORIGIN child.test.
$TTL 300
@      SOA ns1 hostmaster 1 7200 3600 1209600 300
@      NS  ns1
ns1    A   192.0.2.3
www    A   192.0.2.4
`

// bigZone has RRsets that need TCP or a large EDNS buffer.
func bigZone() string {
	var b strings.Builder
	b.WriteString(`$ORIGIN big.test.
$TTL 300
@     SOA ns1 hostmaster 1 7200 3600 1209600 300
@     NS  ns1
ns1   A   192.0.2.2
`)
	for i := range 40 {
		fmt.Fprintf(&b, "txt TXT \"%s-%02d\"\n", strings.Repeat("x", 60), i)
	}
	// 32 A records: 12+20+32*16 = 544 octets -> TC at 512, fits 1232.
	for i := range 32 {
		fmt.Fprintf(&b, "many A 192.0.2.%d\n", i+1)
	}
	b.WriteString("first CNAME txt\n")
	return b.String()
}

func testTable(t testing.TB) *Table {
	return tableOf(t, map[string]string{
		"example.org.": exampleZone,
		"test.":        parentZone,
		"child.test.":  childZone,
		"big.test.":    bigZone(),
	})
}

type answerCase struct {
	name   string
	qname  string
	qtype  uint16
	rcode  int
	aa     bool
	answer []string
	ns     []string
	extra  []string // nil: not checked
}

const soaNeg = "example.org. 600 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 600"

func answerCases() []answerCase {
	return []answerCase{
		{name: "apex A", qname: "example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"example.org. 300 IN A 192.0.2.1"}},
		{name: "CNAME followed in zone", qname: "www.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.example.org. 300 IN CNAME example.org.", "example.org. 300 IN A 192.0.2.1"}},
		{name: "CNAME chain", qname: "chain.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"chain.example.org. 300 IN CNAME www.example.org.", "www.example.org. 300 IN CNAME example.org.", "example.org. 300 IN A 192.0.2.1"}},
		{name: "CNAME query is not followed", qname: "www.example.org.", qtype: dns.TypeCNAME, aa: true,
			answer: []string{"www.example.org. 300 IN CNAME example.org."}},
		{name: "CNAME loop stops", qname: "loop1.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"loop1.example.org. 300 IN CNAME loop2.example.org.", "loop2.example.org. 300 IN CNAME loop1.example.org."}},
		{name: "dangling CNAME is NXDOMAIN", qname: "dangling.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError,
			answer: []string{"dangling.example.org. 300 IN CNAME nothing.example.org."}, ns: []string{soaNeg}},
		{name: "CNAME out of zone", qname: "out.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"out.example.org. 300 IN CNAME www.elsewhere.invalid."}},
		{name: "CNAME into a delegation", qname: "tocut.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"tocut.example.org. 300 IN CNAME host.deleg.example.org."},
			ns:     []string{"deleg.example.org. 300 IN NS ns.deleg.example.org.", "deleg.example.org. 300 IN NS ns.other.test."},
			extra:  []string{"ns.deleg.example.org. 300 IN A 192.0.2.200"}},
		{name: "CNAME to a wildcard", qname: "wc.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"wc.example.org. 300 IN CNAME x.wild.example.org.", "x.wild.example.org. 300 IN A 192.0.2.100"}},
		{name: "NXDOMAIN with SOA min TTL", qname: "nothing.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError,
			ns: []string{soaNeg}},
		{name: "NODATA", qname: "mail.example.org.", qtype: dns.TypeTXT, aa: true, ns: []string{soaNeg}},
		{name: "ENT is NODATA", qname: "b.ent.example.org.", qtype: dns.TypeA, aa: true, ns: []string{soaNeg}},
		{name: "ENT blocks wildcard", qname: "b.ent.example.org.", qtype: dns.TypeTXT, aa: true, ns: []string{soaNeg}},
		{name: "ENT parent is NODATA", qname: "ent.example.org.", qtype: dns.TypeA, aa: true, ns: []string{soaNeg}},
		{name: "wildcard below ENT", qname: "c.ent.example.org.", qtype: dns.TypeTXT, aa: true,
			answer: []string{`c.ent.example.org. 300 IN TXT "ent-wild"`}},
		{name: "wildcard synthesis", qname: "foo.wild.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"foo.wild.example.org. 300 IN A 192.0.2.100"}},
		{name: "wildcard deeper", qname: "a.b.c.wild.example.org.", qtype: dns.TypeTXT, aa: true,
			answer: []string{`a.b.c.wild.example.org. 300 IN TXT "wild"`}},
		{name: "wildcard NODATA", qname: "foo.wild.example.org.", qtype: dns.TypeAAAA, aa: true, ns: []string{soaNeg}},
		{name: "existing closer name blocks wildcard", qname: "x.sub.wild.example.org.", qtype: dns.TypeA, aa: true,
			rcode: dns.RcodeNameError, ns: []string{soaNeg}},
		{name: "wildcard owner literal", qname: "*.wild.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"*.wild.example.org. 300 IN A 192.0.2.100"}},
		{name: "referral", qname: "host.deleg.example.org.", qtype: dns.TypeA, aa: false,
			ns:    []string{"deleg.example.org. 300 IN NS ns.deleg.example.org.", "deleg.example.org. 300 IN NS ns.other.test."},
			extra: []string{"ns.deleg.example.org. 300 IN A 192.0.2.200"}},
		{name: "referral at the cut", qname: "deleg.example.org.", qtype: dns.TypeNS, aa: false,
			ns:    []string{"deleg.example.org. 300 IN NS ns.deleg.example.org.", "deleg.example.org. 300 IN NS ns.other.test."},
			extra: []string{"ns.deleg.example.org. 300 IN A 192.0.2.200"}},
		{name: "glue is not authoritative", qname: "ns.deleg.example.org.", qtype: dns.TypeA, aa: false,
			ns:    []string{"deleg.example.org. 300 IN NS ns.deleg.example.org.", "deleg.example.org. 300 IN NS ns.other.test."},
			extra: []string{"ns.deleg.example.org. 300 IN A 192.0.2.200"}},
		{name: "DS at the cut from the parent", qname: "deleg.example.org.", qtype: dns.TypeDS, aa: true,
			answer: []string{"deleg.example.org. 300 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
		{name: "DS below the cut is a referral", qname: "x.deleg.example.org.", qtype: dns.TypeDS, aa: false,
			ns:    []string{"deleg.example.org. 300 IN NS ns.deleg.example.org.", "deleg.example.org. 300 IN NS ns.other.test."},
			extra: []string{"ns.deleg.example.org. 300 IN A 192.0.2.200"}},
		{name: "DS at hosted child apex from parent", qname: "child.test.", qtype: dns.TypeDS, aa: true,
			answer: []string{"child.test. 300 IN DS 54321 13 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}},
		{name: "hosted child answers its apex", qname: "child.test.", qtype: dns.TypeNS, aa: true,
			answer: []string{"child.test. 300 IN NS ns1.child.test."}, extra: []string{"ns1.child.test. 300 IN A 192.0.2.3"}},
		{name: "hosted child answers below", qname: "www.child.test.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.child.test. 300 IN A 192.0.2.4"}},
		{name: "DNAME synthesis", qname: "x.dn.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"dn.example.org. 300 IN DNAME tgt.example.org.", "x.dn.example.org. 300 IN CNAME x.tgt.example.org.", "x.tgt.example.org. 300 IN A 192.0.2.151"}},
		{name: "DNAME to nothing", qname: "y.dn.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError,
			answer: []string{"dn.example.org. 300 IN DNAME tgt.example.org.", "y.dn.example.org. 300 IN CNAME y.tgt.example.org."}, ns: []string{soaNeg}},
		{name: "DNAME owner itself", qname: "dn.example.org.", qtype: dns.TypeDNAME, aa: true,
			answer: []string{"dn.example.org. 300 IN DNAME tgt.example.org."}},
		{name: "DNAME owner other type", qname: "dn.example.org.", qtype: dns.TypeA, aa: true, ns: []string{soaNeg}},
		{name: "DNAME loop", qname: "a.dnloop.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"dnloop.example.org. 300 IN DNAME x.dnloop.example.org.", "a.dnloop.example.org. 300 IN CNAME a.x.dnloop.example.org."}},
		{name: "MX additional", qname: "example.org.", qtype: dns.TypeMX, aa: true,
			answer: []string{"example.org. 300 IN MX 10 mail.example.org.", "example.org. 300 IN MX 20 mx.wild.example.org."},
			extra:  []string{"mail.example.org. 300 IN A 192.0.2.25", "mail.example.org. 300 IN AAAA 2001:db8::25", "mx.wild.example.org. 300 IN A 192.0.2.100"}},
		{name: "SRV additional", qname: "_sip._tcp.example.org.", qtype: dns.TypeSRV, aa: true,
			answer: []string{"_sip._tcp.example.org. 300 IN SRV 0 5 5060 mail.example.org."},
			extra:  []string{"mail.example.org. 300 IN A 192.0.2.25", "mail.example.org. 300 IN AAAA 2001:db8::25"}},
		{name: "NS additional", qname: "example.org.", qtype: dns.TypeNS, aa: true,
			answer: []string{"example.org. 300 IN NS ns1.example.org.", "example.org. 300 IN NS ns.other.test."},
			extra:  []string{"ns1.example.org. 300 IN A 192.0.2.53"}},
		{name: "ANY answers one RRset", qname: "mail.example.org.", qtype: dns.TypeANY, aa: true,
			answer: []string{"mail.example.org. 300 IN A 192.0.2.25"}},
		{name: "ANY at apex", qname: "example.org.", qtype: dns.TypeANY, aa: true,
			answer: []string{"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 600"}},
		{name: "ANY on ENT", qname: "ent.example.org.", qtype: dns.TypeANY, aa: true, ns: []string{soaNeg}},
		{name: "outside every zone", qname: "www.example.com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "suffix that is not a label", qname: "xexample.org.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
	}
}

func checkReply(t *testing.T, c answerCase, r *dns.Msg) {
	t.Helper()
	if r.Rcode != c.rcode {
		t.Errorf("rcode %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode], r)
	}
	if r.Authoritative != c.aa {
		t.Errorf("AA %v, want %v", r.Authoritative, c.aa)
	}
	if r.Truncated {
		t.Errorf("TC set")
	}
	if got, want := rrStrings(r.Answer), wantRRs(t, c.answer...); !slices.Equal(got, want) {
		t.Errorf("answer\n got %q\nwant %q", got, want)
	}
	if got, want := rrStrings(r.Ns), wantRRs(t, c.ns...); !slices.Equal(got, want) {
		t.Errorf("authority\n got %q\nwant %q", got, want)
	}
	if c.extra != nil {
		if got, want := rrStrings(r.Extra), wantRRs(t, c.extra...); !slices.Equal(got, want) {
			t.Errorf("additional\n got %q\nwant %q", got, want)
		}
	}
}

// TestAnswer runs every case over real UDP and TCP sockets.
func TestAnswer(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})
	for _, c := range answerCases() {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(c.name+"/"+network, func(t *testing.T) {
				q := newQuery(c.qname, c.qtype, 1232, false)
				r := exchange(t, network, s.Addr(), q)
				if r.Id != q.Id || !r.Response {
					t.Fatalf("bad header %v", r.MsgHdr)
				}
				if len(r.Question) != 1 || r.Question[0] != q.Question[0] {
					t.Fatalf("question %v, want %v", r.Question, q.Question)
				}
				if o := r.IsEdns0(); o == nil || o.UDPSize() != MaxUDPSize || o.Version() != 0 {
					t.Fatalf("OPT %v", o)
				}
				checkReply(t, c, r)
			})
		}
	}
}

func TestAnswerCaseEchoed(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})
	for _, c := range []struct{ qname, owner string }{
		{"FoO.WiLd.Example.ORG.", "FoO.WiLd.Example.ORG."}, // wildcard: owner is the qname
		{"MAIL.example.ORG.", "MAIL.example.ORG."},         // exact: compressed against the question
		{"NoThInG.example.org.", ""},                       // NXDOMAIN
		{"X.DN.example.org.", "DN.example.org."},           // DNAME owner is a suffix of the qname
	} {
		r := exchange(t, "udp", s.Addr(), newQuery(c.qname, dns.TypeA, 0, false))
		if r.Question[0].Name != c.qname {
			t.Errorf("question %q not echoed as sent %q", r.Question[0].Name, c.qname)
		}
		if c.owner != "" && (len(r.Answer) == 0 || r.Answer[0].Header().Name != c.owner) {
			t.Errorf("%s: answer %v, want owner %q", c.qname, r.Answer, c.owner)
		}
		if !r.Authoritative {
			t.Errorf("%s: not authoritative", c.qname)
		}
	}
}

func TestAnswerTruncation(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})
	type tcase struct {
		name    string
		qname   string
		qtype   uint16
		bufsize uint16
		network string
		tc      bool
		answers int
	}
	for _, c := range []tcase{
		{"512 without EDNS", "many.big.test.", dns.TypeA, 0, "udp", true, 0},
		{"fits 1232", "many.big.test.", dns.TypeA, 1232, "udp", false, 32},
		{"client 600", "many.big.test.", dns.TypeA, 600, "udp", false, 32},
		{"client 400 means 512", "many.big.test.", dns.TypeA, 400, "udp", true, 0},
		{"too big for 1232", "txt.big.test.", dns.TypeTXT, 1232, "udp", true, 0},
		{"4096 capped at 1232", "txt.big.test.", dns.TypeTXT, 4096, "udp", true, 0},
		{"TCP gets all", "txt.big.test.", dns.TypeTXT, 0, "tcp", false, 40},
		{"partial CNAME chain kept", "first.big.test.", dns.TypeTXT, 1232, "udp", true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := exchange(t, c.network, s.Addr(), newQuery(c.qname, c.qtype, c.bufsize, false))
			if r.Truncated != c.tc || len(r.Answer) != c.answers {
				t.Errorf("TC=%v answers=%d, want TC=%v answers=%d", r.Truncated, len(r.Answer), c.tc, c.answers)
			}
			if !r.Authoritative || r.Rcode != dns.RcodeSuccess {
				t.Errorf("flags %v", r.MsgHdr)
			}
		})
	}
}

func TestAnswerMalformed(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})

	noQuestion := new(dns.Msg)
	noQuestion.Id = 1
	noQuestion.SetEdns0(1232, false)
	twoQuestions := newQuery("example.org.", dns.TypeA, 1232, false)
	twoQuestions.Question = append(twoQuestions.Question, twoQuestions.Question[0])
	twoOPT := newQuery("example.org.", dns.TypeA, 1232, false)
	twoOPT.Extra = append(twoOPT.Extra, twoOPT.Extra[0])
	badVers := newQuery("example.org.", dns.TypeA, 1232, false)
	badVers.IsEdns0().SetVersion(1)
	notify := newQuery("example.org.", dns.TypeSOA, 1232, false)
	notify.Opcode = dns.OpcodeNotify
	update := newQuery("example.org.", dns.TypeSOA, 0, false)
	update.Opcode = dns.OpcodeUpdate
	withAnswer := newQuery("example.org.", dns.TypeA, 1232, false)
	withAnswer.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET}}}
	chaos := newQuery("version.bind.", dns.TypeTXT, 1232, false)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	axfr := newQuery("example.org.", dns.TypeAXFR, 0, false)
	manyExtra := newQuery("example.org.", dns.TypeA, 1232, false)
	for range 3 {
		manyExtra.Extra = append(manyExtra.Extra, &dns.TXT{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"x"}})
	}

	for _, c := range []struct {
		name  string
		q     *dns.Msg
		rcode int
		opt   bool
	}{
		{"no question", noQuestion, dns.RcodeFormatError, true},
		{"two questions", twoQuestions, dns.RcodeFormatError, true},
		{"two OPT", twoOPT, dns.RcodeFormatError, true},
		{"EDNS version 1", badVers, dns.RcodeBadVers, true},
		{"NOTIFY", notify, dns.RcodeNotImplemented, true},
		{"UPDATE", update, dns.RcodeNotImplemented, false},
		{"answer section in query", withAnswer, dns.RcodeFormatError, true},
		{"CHAOS class", chaos, dns.RcodeRefused, true},
		{"AXFR", axfr, dns.RcodeRefused, false},
		{"ARCOUNT 4 is fine", manyExtra, dns.RcodeSuccess, true},
	} {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(c.name+"/"+network, func(t *testing.T) {
				r := exchange(t, network, s.Addr(), c.q)
				if r.Rcode != c.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
				}
				if got := r.IsEdns0() != nil; got != c.opt {
					t.Errorf("OPT present %v, want %v", got, c.opt)
				}
				if r.Id != c.q.Id {
					t.Errorf("id %d, want %d", r.Id, c.q.Id)
				}
			})
		}
	}
}

func TestAnswerResponseIgnored(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})
	q := newQuery("example.org.", dns.TypeA, 0, false)
	q.Response = true
	c := &dns.Client{Net: "udp", Timeout: 300 * 1e6}
	if r, _, err := c.Exchange(q, s.Addr()); err == nil {
		t.Fatalf("a response got a reply: %v", r)
	}
}

func TestAnswerDNSSEC(t *testing.T) {
	// Signatures are opaque here: only which RRSIGs come with which RRset matters.
	const signed = `$ORIGIN signed.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    RRSIG SOA 13 2 300 20300101000000 20200101000000 1 signed.test. AAAA
@    NS  ns1
@    RRSIG NS 13 2 300 20300101000000 20200101000000 1 signed.test. AAAA
ns1  A   192.0.2.2
ns1  RRSIG A 13 3 300 20300101000000 20200101000000 1 signed.test. AAAA
*    A   192.0.2.9
*    RRSIG A 13 2 300 20300101000000 20200101000000 1 signed.test. BBBB
`
	tb := tableOf(t, map[string]string{"signed.test.": signed})
	count := func(rrs []dns.RR, t uint16) int {
		n := 0
		for _, rr := range rrs {
			if rr.Header().Rrtype == t {
				n++
			}
		}
		return n
	}
	r := answerDirect(tb, newQuery("ns1.signed.test.", dns.TypeA, 1232, true), UDP)
	if count(r.Answer, dns.TypeA) != 1 || count(r.Answer, dns.TypeRRSIG) != 1 || !r.IsEdns0().Do() {
		t.Errorf("DO answer: %v", r)
	}
	r = answerDirect(tb, newQuery("ns1.signed.test.", dns.TypeA, 1232, false), UDP)
	if count(r.Answer, dns.TypeRRSIG) != 0 {
		t.Errorf("RRSIG without DO: %v", r)
	}
	r = answerDirect(tb, newQuery("ns1.signed.test.", dns.TypeTXT, 1232, true), UDP)
	if count(r.Ns, dns.TypeSOA) != 1 || count(r.Ns, dns.TypeRRSIG) != 1 {
		t.Errorf("DO NODATA: %v", r)
	}
	r = answerDirect(tb, newQuery("x.signed.test.", dns.TypeA, 1232, true), UDP)
	if count(r.Answer, dns.TypeRRSIG) != 1 || r.Answer[1].Header().Name != "x.signed.test." {
		t.Errorf("DO wildcard: %v", r)
	}
	r = answerDirect(tb, newQuery("ns1.signed.test.", dns.TypeRRSIG, 1232, false), UDP)
	if count(r.Answer, dns.TypeRRSIG) != 1 {
		t.Errorf("RRSIG query: %v", r)
	}
}

func TestAnswerYXDOMAIN(t *testing.T) {
	long := strings.Repeat("a", 63)
	zone := fmt.Sprintf(`$ORIGIN yx.test.
$TTL 300
@   SOA ns1 hostmaster 1 7200 3600 1209600 300
@   NS  ns1
ns1 A 192.0.2.1
d   DNAME %s.%s.%s.yx.test.
`, long, long, long)
	tb := tableOf(t, map[string]string{"yx.test.": zone})
	q := newQuery(strings.Repeat("b", 60)+"."+strings.Repeat("c", 10)+".d.yx.test.", dns.TypeA, 0, false)
	r := answerDirect(tb, q, UDP)
	if r.Rcode != dns.RcodeYXDomain || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeDNAME {
		t.Errorf("YXDOMAIN: %v", r)
	}
}

func TestAnswerZoneWithoutSOA(t *testing.T) {
	tb := tableOf(t, map[string]string{"example.org.": exampleZone})
	if err := tb.Apply(nil); err != nil {
		t.Fatal(err)
	}
	// Remove the SOA set through a delta: the zone then answers SERVFAIL.
	if err := tb.Apply([]zonesDelta{{Origin: "example.org.", Del: []zonesKey{{Name: "example.org.", Type: "SOA"}}}}); err != nil {
		t.Fatal(err)
	}
	r := answerDirect(tb, newQuery("example.org.", dns.TypeA, 0, false), UDP)
	if r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

// TestPackMixedCase checks that the question keeps the client's spelling on
// the wire and that the packed reply is as large as for the lower-case query.
func TestPackMixedCase(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{})
	for _, name := range []string{"MaIl.ExAmPlE.oRg.", "FOO.WILD.EXAMPLE.ORG.", "NoThInG.eXaMpLe.OrG.", "X.Dn.ExAmPlE.oRg."} {
		r := exchange(t, "udp", s.Addr(), newQuery(name, dns.TypeA, 1232, false))
		if r.Question[0].Name != name {
			t.Errorf("question %q, sent %q", r.Question[0].Name, name)
		}
		upper, err := Pack(answerDirect(tb, newQuery(name, dns.TypeA, 1232, false), UDP), nil)
		if err != nil {
			t.Fatal(err)
		}
		lower, err := Pack(answerDirect(tb, newQuery(strings.ToLower(name), dns.TypeA, 1232, false), UDP), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(upper) != len(lower) {
			t.Errorf("%s: %d octets, lower case %d", name, len(upper), len(lower))
		}
		if !bytes.Contains(upper, []byte(strings.Split(name, ".")[0])) {
			t.Errorf("%s: client spelling not on the wire", name)
		}
	}
}

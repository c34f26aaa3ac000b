package etcdstore_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// leanAnswer asks the table for name and type and returns the answer's
// record data, sorted by the order of the reply.
func leanAnswer(tb *dnsserver.Table, name string, qtype uint16) string {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r := dnsserver.Answer(tb.Load(), m, dnsserver.UDP, netip.MustParseAddrPort("192.0.2.1:53"))
	var out []string
	for _, rr := range r.Answer {
		out = append(out, zones.RdataString(rr))
	}
	return dns.RcodeToString[r.Rcode] + " " + strings.Join(out, ",")
}

const leanApex = "$ORIGIN lean.test.\n@ 300 IN SOA ns1.lean.test. hostmaster.lean.test. 1 7200 3600 1209600 300\n@ 300 IN NS ns1.lean.test.\n"

// TestLeanMirrorNode: a node whose Mirror keeps no record sets (a DNS node)
// answers a zone built by an import, then changes, deletes, a replacing
// import and a weighted set; its local copy, written from the answer table,
// brings up a second lean node with the same answers while etcd is down.
func TestLeanMirrorNode(t *testing.T) {
	cluster, cli := etcdtest.Start(t)
	writer := startNode(t, cli, "writer", etcdstore.Options{})
	cache := t.TempDir() + "/cache/zones.json"
	table := dnsserver.NewTable()
	mirror := etcdstore.NewLeanMirror(table)
	ctx, cancel := context.WithCancel(context.Background())
	sy := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror, CachePath: cache, CacheInterval: 20 * time.Millisecond,
		OnDelta: func(_ int64, d []zones.ZoneDelta) {
			if err := table.Apply(d); err != nil {
				t.Errorf("apply: %v", err)
			}
		}})
	done := make(chan struct{})
	go func() { defer close(done); sy.Run(ctx) }()
	waitUntil(t, mirror.Synced)

	z := mustCreate(t, writer.store, "lean.test")
	var file strings.Builder
	file.WriteString(leanApex)
	for _, h := range []string{"a", "b", "c", "gone"} {
		file.WriteString(h + " 300 IN A 192.0.2.10\n")
	}
	file.WriteString("txt 300 IN TXT \"hello world\" \"two\"\n")
	if _, err := writer.store.ImportZoneFile(ctx, z.ID, strings.NewReader(file.String()), ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return leanAnswer(table, "a.lean.test.", dns.TypeA) == "NOERROR 192.0.2.10" })
	w1, w2 := int64(1), int64(1)
	b := zones.ChangeBatch{Changes: []zones.Change{
		upsert("b.lean.test", "A", "192.0.2.20", "192.0.2.21"),
		{Action: zones.ActionDelete, RecordSet: zones.RecordSet{Name: "gone.lean.test", Type: "A", TTL: ttl(300), Values: []string{"192.0.2.10"}}},
		{Action: zones.ActionCreate, RecordSet: zones.RecordSet{Name: "w.lean.test", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.30"}, SetIdentifier: "one", Weight: &w1}},
		{Action: zones.ActionCreate, RecordSet: zones.RecordSet{Name: "w.lean.test", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.31"}, SetIdentifier: "two", Weight: &w2}},
	}}
	if _, err := writer.store.ChangeRecordSets(ctx, z.ID, b, ""); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a.lean.test. A":     "NOERROR 192.0.2.10",
		"b.lean.test. A":     "NOERROR 192.0.2.20,192.0.2.21",
		"gone.lean.test. A":  "NXDOMAIN ",
		"txt.lean.test. TXT": `NOERROR "hello world" "two"`,
	}
	check := func(tb *dnsserver.Table) bool {
		for q, w := range want {
			name, typ, _ := strings.Cut(q, " ")
			if leanAnswer(tb, name, dns.StringToType[typ]) != w {
				return false
			}
		}
		w := leanAnswer(tb, "w.lean.test.", dns.TypeA)
		return w == "NOERROR 192.0.2.30" || w == "NOERROR 192.0.2.31"
	}
	waitUntil(t, func() bool { return check(table) })
	if n := table.RecordSetCount("lean.test."); n != 8 { // SOA, NS, a, b, c, txt, w x2
		t.Errorf("table holds %d record sets, want 8", n)
	}
	// The lean Mirror holds none itself, but counts the table's.
	leanStore := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror})
	p, err := leanStore.ListRecordSets(ctx, z.ID, zones.ListRecordSetsInput{MaxItems: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RecordSets) != 0 {
		t.Errorf("lean mirror lists %d record sets", len(p.RecordSets))
	}
	if zz, err := leanStore.GetZone(ctx, z.ID); err != nil || zz.RecordSetCount != 8 {
		t.Errorf("lean mirror's zone: %+v, %v (want 8 record sets)", zz, err)
	}
	// A replacing import: the old names go, the new ones come.
	if _, err := writer.store.ImportZoneFile(ctx, z.ID, strings.NewReader(leanApex+"new 300 IN AAAA 2001:db8::1\n"), ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		return leanAnswer(table, "new.lean.test.", dns.TypeAAAA) == "NOERROR 2001:db8::1" && leanAnswer(table, "a.lean.test.", dns.TypeA) == "NXDOMAIN "
	})
	cancel() // the syncer saves its copy on the way out
	<-done
	cluster.Stop()

	// A second lean node, started while etcd is down, answers from the copy.
	table2 := dnsserver.NewTable()
	m2 := etcdstore.NewLeanMirror(table2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	sy2 := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: m2, CachePath: cache,
		OnDelta: func(_ int64, d []zones.ZoneDelta) {
			if err := table2.Apply(d); err != nil {
				t.Errorf("apply: %v", err)
			}
		}})
	done2 := make(chan struct{})
	go func() { defer close(done2); sy2.Run(ctx2) }()
	defer func() { cancel2(); <-done2 }()
	waitUntil(t, m2.Synced)
	if got := leanAnswer(table2, "new.lean.test.", dns.TypeAAAA); got != "NOERROR 2001:db8::1" {
		t.Errorf("from the local copy: %s", got)
	}
	if table2.RecordSetCount("lean.test.") != table.RecordSetCount("lean.test.") {
		t.Errorf("local copy holds %d record sets, the first node %d", table2.RecordSetCount("lean.test."), table.RecordSetCount("lean.test."))
	}
	// etcd returns: the full sync streams the zone into a new build, and
	// later changes apply on top of it.
	cluster.Restart(t)
	waitUntil(t, func() bool { return !m2.FromCache() })
	if got := leanAnswer(table2, "new.lean.test.", dns.TypeAAAA); got != "NOERROR 2001:db8::1" {
		t.Errorf("after the full sync: %s", got)
	}
	if _, err := writer.store.ChangeRecordSets(ctx2, z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("later.lean.test", "A", "192.0.2.99")}}, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return leanAnswer(table2, "later.lean.test.", dns.TypeA) == "NOERROR 192.0.2.99" })
	if got := leanAnswer(table2, "new.lean.test.", dns.TypeAAAA); got != "NOERROR 2001:db8::1" {
		t.Errorf("after a change: %s", got)
	}
}

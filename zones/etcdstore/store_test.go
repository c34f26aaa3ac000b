package etcdstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

type node struct {
	store  *etcdstore.Store
	mirror *etcdstore.Mirror
	mu     sync.Mutex
	deltas []zones.ZoneDelta
}

// startNode runs a Mirror, Syncer, Node and Store on cli until the test ends.
func startNode(t *testing.T, cli *clientv3.Client, id string, o etcdstore.Options) *node {
	t.Helper()
	n := &node{mirror: etcdstore.NewMirror()}
	ctx, cancel := context.WithCancel(context.Background())
	reg := etcdstore.NewNode(etcdstore.NodeOptions{Client: cli, NodeID: id})
	sy := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: n.mirror,
		OnDelta: func(rev int64, d []zones.ZoneDelta) {
			n.mu.Lock()
			n.deltas = append(n.deltas, d...)
			n.mu.Unlock()
		},
		OnRevision: reg.Serving})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sy.Run(ctx) }()
	go func() { defer wg.Done(); reg.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	o.Client, o.Mirror = cli, n.mirror
	n.store = etcdstore.New(o)
	deadline := time.Now().Add(10 * time.Second)
	for !n.mirror.Synced() {
		if time.Now().After(deadline) {
			t.Fatal("mirror never synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

func ttl(n int64) *int64 { return &n }

func upsert(name, typ string, values ...string) zones.Change {
	return zones.Change{Action: zones.ActionUpsert, RecordSet: zones.RecordSet{Name: name, Type: typ, TTL: ttl(300), Values: values}}
}

func mustCreate(t *testing.T, s *etcdstore.Store, name string) zones.Zone {
	t.Helper()
	z, _, err := s.CreateZone(context.Background(), zones.CreateZoneRequest{Name: name})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return z
}

func allSets(t *testing.T, s *etcdstore.Store, zid string) []zones.RecordSet {
	t.Helper()
	var out []zones.RecordSet
	in := zones.ListRecordSetsInput{MaxItems: 300}
	for {
		p, err := s.ListRecordSets(context.Background(), zid, in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.RecordSets...)
		if !p.IsTruncated {
			return out
		}
		in.Name, in.Type, in.Identifier = p.NextName, p.NextType, p.NextIdentifier
	}
}

func TestZoneLifecycle(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{NameServers: []string{"ns1.example.net", "ns2.example.net"}})
	ctx := context.Background()
	z, ci, err := n.store.CreateZone(ctx, zones.CreateZoneRequest{Name: "Example.TEST", CallerReference: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "example.test." || z.RecordSetCount != 2 || !strings.HasPrefix(z.ID, "Z") || !strings.HasPrefix(ci.ID, "C") {
		t.Fatalf("zone %+v change %+v", z, ci)
	}
	if _, _, err := n.store.CreateZone(ctx, zones.CreateZoneRequest{Name: "example.test."}); zones.CodeOf(err) != zones.CodeHostedZoneAlreadyExists {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := n.store.CreateZone(ctx, zones.CreateZoneRequest{Name: "other.test", CallerReference: "r1"}); zones.CodeOf(err) != zones.CodeHostedZoneAlreadyExists {
		t.Fatalf("reused caller reference: %v", err)
	}
	if _, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("www.example.test", "A", "192.0.2.1")}}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.DeleteZone(ctx, z.ID); zones.CodeOf(err) != zones.CodeHostedZoneNotEmpty {
		t.Fatalf("delete non-empty: %v", err)
	}
	www := zones.Change{Action: zones.ActionDelete, RecordSet: zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: ttl(300), Values: []string{"192.0.2.1"}}}
	if _, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{www}}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.DeleteZone(ctx, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.GetZone(ctx, z.ID); zones.CodeOf(err) != zones.CodeNoSuchHostedZone {
		t.Fatalf("get deleted: %v", err)
	}
	// The name and the caller reference are free again.
	mustCreate(t, n.store, "example.test")
	n.mu.Lock()
	defer n.mu.Unlock()
	var removed bool
	for _, d := range n.deltas {
		removed = removed || (d.Removed && d.ZoneID == z.ID)
	}
	if !removed {
		t.Fatal("the responder was never told the zone was removed")
	}
}

func TestSerialIncreasesWithEveryChange(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "serial.test")
	serial := func() string {
		for _, rs := range allSets(t, n.store, z.ID) {
			if rs.Type == "SOA" {
				return strings.Fields(rs.Values[0])[2]
			}
		}
		t.Fatal("no SOA")
		return ""
	}
	if got := serial(); got != "1" {
		t.Fatalf("new zone serial %s", got)
	}
	for i := 0; i < 3; i++ {
		if _, err := n.store.ChangeRecordSets(context.Background(), z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("a.serial.test", "TXT", fmt.Sprintf(`"%d"`, i))}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := serial(); got != "4" {
		t.Fatalf("serial after 3 changes: %s", got)
	}
	zf := "$ORIGIN serial.test.\n@ 300 IN SOA ns1 host 2024010101 7200 900 1209600 300\n@ 300 NS ns1\nns1 300 A 192.0.2.53\n"
	if _, err := n.store.ImportZoneFile(context.Background(), z.ID, strings.NewReader(zf), ""); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != "2024010101" {
		t.Fatalf("import must keep the file's serial, got %s", got)
	}
}

func TestBadBatchChangesNothing(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "bad.test")
	var b zones.ChangeBatch
	for i := 0; i < 100; i++ {
		b.Changes = append(b.Changes, upsert(fmt.Sprintf("h%d.bad.test", i), "A", fmt.Sprintf("192.0.2.%d", i)))
	}
	b.Changes[42].RecordSet.Values = []string{"192.0.2.300"}
	rev := n.mirror.Revision()
	_, err := n.store.ChangeRecordSets(context.Background(), z.ID, b, "")
	var ze *zones.Error
	if zones.CodeOf(err) != zones.CodeInvalidChangeBatch {
		t.Fatalf("want InvalidChangeBatch, got %v", err)
	}
	ze = err.(*zones.Error)
	if len(ze.Messages) != 1 || !strings.Contains(ze.Messages[0], "change 43") || !strings.Contains(ze.Messages[0], "192.0.2.300") {
		t.Fatalf("messages must name exactly the bad change: %q", ze.Messages)
	}
	if got := len(allSets(t, n.store, z.ID)); got != 2 {
		t.Fatalf("zone holds %d sets after a refused batch", got)
	}
	if n.mirror.Revision() != rev {
		t.Fatal("a refused batch wrote to etcd")
	}
}

func TestBigBatchAndImportWithinDefaultLimits(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{ChunkBytes: 64 << 10})
	z := mustCreate(t, n.store, "big.test")
	// 1,000 values in one batch: far beyond 128 operations per transaction.
	var b zones.ChangeBatch
	for i := 0; i < 1000; i++ {
		b.Changes = append(b.Changes, zones.Change{Action: zones.ActionCreate, RecordSet: zones.RecordSet{
			Name: fmt.Sprintf("h%d.big.test", i), Type: "A", TTL: ttl(60), Values: []string{fmt.Sprintf("10.0.%d.%d", i/256, i%256)}}})
	}
	if _, err := n.store.ChangeRecordSets(context.Background(), z.ID, b, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(allSets(t, n.store, z.ID)); got != 1002 {
		t.Fatalf("%d sets after a 1000-change batch", got)
	}
	// A zone file of several MiB: many chunks, one commit.
	var zf bytes.Buffer
	zf.WriteString("$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 host 7 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&zf, "host%d A 10.%d.%d.%d\n", i, i>>16, (i>>8)&255, i&255)
	}
	if _, err := n.store.ImportZoneFile(context.Background(), z.ID, &zf, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(allSets(t, n.store, z.ID)); got != 50003 {
		t.Fatalf("%d sets after import", got)
	}
	// A second node syncing from scratch sees the same zone.
	n2 := startNode(t, cli, "n2", etcdstore.Options{})
	zz, err := n2.store.GetZone(context.Background(), z.ID)
	if err != nil || zz.RecordSetCount != 50003 {
		t.Fatalf("second node: %+v %v", zz, err)
	}
	var out bytes.Buffer
	if err := n2.store.ExportZoneFile(context.Background(), z.ID, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.store.ImportZoneFile(context.Background(), z.ID, &out, ""); err != nil {
		t.Fatalf("re-import of export: %v", err)
	}
	if got := len(allSets(t, n.store, z.ID)); got != 50003 {
		t.Fatalf("%d sets after re-import", got)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n1 := startNode(t, cli, "n1", etcdstore.Options{FoldEntries: 16})
	n2 := startNode(t, cli, "n2", etcdstore.Options{FoldEntries: 16})
	z := mustCreate(t, n1.store, "race.test")
	const clients, batches = 20, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			st := n1.store
			if c%2 == 1 {
				st = n2.store
			}
			for i := 0; i < batches; i++ {
				name := fmt.Sprintf("c%d-b%d.race.test.", c, i)
				b := zones.ChangeBatch{Changes: []zones.Change{upsert(name, "A", "192.0.2.1"), upsert(name, "TXT", `"x"`)}}
				if _, err := st.ChangeRecordSets(context.Background(), z.ID, b, ""); err == nil {
					mu.Lock()
					ok[name] = true
					mu.Unlock()
				} else if zones.CodeOf(err) != zones.CodePriorRequestNotComplete {
					t.Errorf("batch %s: %v", name, err)
				}
			}
		}(c)
	}
	wg.Wait()
	if len(ok) < clients*batches/2 {
		t.Fatalf("only %d batches succeeded", len(ok))
	}
	// Sync a fresh node from etcd and count.
	n3 := startNode(t, cli, "n3", etcdstore.Options{})
	types := map[string]int{}
	for _, rs := range allSets(t, n3.store, z.ID) {
		types[rs.Name]++
	}
	for name := range ok {
		if types[name] != 2 {
			t.Errorf("accepted batch %s has %d of its 2 sets", name, types[name])
		}
	}
	for name, c := range types {
		if c != 2 && !strings.HasPrefix(name, "race.test") {
			t.Errorf("%s half applied (%d sets)", name, c)
		}
	}
}

func TestChangeInsyncFollowsNodes(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "sync.test")
	ci, err := n.store.ChangeRecordSets(context.Background(), z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("a.sync.test", "A", "192.0.2.9")}}, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := n.store.GetChange(context.Background(), ci.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == zones.StatusInsync {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("change never INSYNC")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A registered node that does not serve the change keeps it PENDING.
	lease, err := cli.Grant(context.Background(), 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(context.Background(), etcdstore.NodesPrefix+"stuck", `{"nodeId":"stuck","revision":1}`, clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.store.GetChange(context.Background(), ci.ID); got.Status != zones.StatusPending {
		t.Fatalf("status with a lagging node: %s", got.Status)
	}
	if _, err := cli.Revoke(context.Background(), lease.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.store.GetChange(context.Background(), ci.ID); got.Status != zones.StatusInsync {
		t.Fatalf("status after the lagging node's lease ended: %s", got.Status)
	}
	if _, err := n.store.GetChange(context.Background(), "CNOSUCHCHANGE0000000"); zones.CodeOf(err) != zones.CodeNoSuchChange {
		t.Fatalf("unknown change: %v", err)
	}
}

func TestZoneCommentAndTags(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "tags.test")
	ctx := context.Background()
	got, err := n.store.UpdateZoneComment(ctx, z.ID, "hello")
	if err != nil || got.Comment != "hello" {
		t.Fatalf("%+v %v", got, err)
	}
	got, err = n.store.ChangeZoneTags(ctx, z.ID, map[string]string{"env": "prod", "team": "dns"}, nil)
	if err != nil || len(got.Tags) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	got, err = n.store.ChangeZoneTags(ctx, z.ID, nil, []string{"env"})
	if err != nil || len(got.Tags) != 1 || got.Tags["team"] != "dns" || got.Comment != "hello" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := n.store.ChangeZoneTags(ctx, z.ID, map[string]string{"": "x"}, nil); zones.CodeOf(err) != zones.CodeInvalidInput {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := n.store.UpdateZoneComment(ctx, "ZNOSUCHZONE000000000", "x"); zones.CodeOf(err) != zones.CodeNoSuchHostedZone {
		t.Fatalf("missing zone: %v", err)
	}
}

func TestLocalCopyServesWhileEtcdIsAway(t *testing.T) {
	cluster, cli := etcdtest.Start(t)
	cache := t.TempDir() + "/cache/zones.json"
	mirror := etcdstore.NewMirror()
	ctx, cancel := context.WithCancel(context.Background())
	sy := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror, CachePath: cache, CacheInterval: 20 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); sy.Run(ctx) }()
	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror})
	waitUntil(t, mirror.Synced)
	z := mustCreate(t, store, "static.test")
	if _, err := store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("www.static.test", "A", "192.0.2.1")}}, ""); err != nil {
		t.Fatal(err)
	}
	cancel() // the syncer saves its copy on the way out
	<-done
	cluster.Stop()

	// A node starting while etcd is down serves the local copy.
	var mu sync.Mutex
	var got []zones.ZoneDelta
	m2 := etcdstore.NewMirror()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	sy2 := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: m2, CachePath: cache,
		OnDelta: func(_ int64, d []zones.ZoneDelta) { mu.Lock(); got = append(got, d...); mu.Unlock() }})
	done2 := make(chan struct{})
	go func() { defer close(done2); sy2.Run(ctx2) }()
	defer func() { cancel2(); <-done2 }()
	waitUntil(t, m2.Synced)
	if !m2.FromCache() {
		t.Fatal("mirror should say it serves the local copy")
	}
	if st := sy2.Status(); st.State != etcdstore.StateLocalCopy {
		t.Fatalf("state %q", st.State)
	}
	s2 := etcdstore.New(etcdstore.Options{Client: cli, Mirror: m2, Reachable: sy2.Reachable})
	if zz, err := s2.GetZone(ctx2, z.ID); err != nil || zz.RecordSetCount != 3 {
		t.Fatalf("zone from the local copy: %+v %v", zz, err)
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d deltas from the local copy, want 1", n)
	}
	// Writes fail fast with ServiceUnavailable while etcd is away.
	waitUntil(t, func() bool { return !sy2.Reachable() })
	if _, err := s2.ChangeRecordSets(ctx2, z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("x.static.test", "A", "192.0.2.2")}}, ""); zones.CodeOf(err) != zones.CodeServiceUnavailable {
		t.Fatalf("write with etcd away: %v", err)
	}
	// etcd returns: the node resyncs without a restart.
	cluster.Restart(t)
	waitUntil(t, func() bool { return !m2.FromCache() && sy2.Status().State == etcdstore.StateInSync })
	waitUntil(t, sy2.Reachable)
	if _, err := s2.ChangeRecordSets(ctx2, z.ID, zones.ChangeBatch{Changes: []zones.Change{upsert("x.static.test", "A", "192.0.2.2")}}, ""); err != nil {
		t.Fatalf("write after etcd returned: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInlineHealthChecksLiveAndDieWithTheirSet(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "inline.test")
	ctx := context.Background()
	w := int64(1)
	set := zones.RecordSet{Name: "www.inline.test", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.1"}, SetIdentifier: "a", Weight: &w,
		HealthCheck: &zones.HealthCheckConfig{Type: "HTTP", IPAddress: "192.0.2.1", Port: 8080, RequestInterval: 10}}
	id := zones.InlineCheckID("inline.test.", zones.SetKey{Name: "www.inline.test.", Type: "A", SetID: "a"})
	exists := func() bool {
		resp, err := cli.Get(ctx, "/healthdns/hc/checks/"+id)
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Kvs) == 1
	}
	if _, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionCreate, RecordSet: set}}}, ""); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Fatal("the inline check was not created with its set")
	}
	if user, _ := n.store.CheckUsers(ctx, id); !strings.Contains(user, "www.inline.test.") {
		t.Fatalf("CheckUsers = %q", user)
	}
	// DELETE then CREATE of the set with a changed check, in one batch.
	edited := set
	edited.HealthCheck = &zones.HealthCheckConfig{Type: "TCP", IPAddress: "192.0.2.1", Port: 22}
	if _, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionDelete, RecordSet: set}, {Action: zones.ActionCreate, RecordSet: edited}}}, ""); err != nil {
		t.Fatal(err)
	}
	resp, _ := cli.Get(ctx, "/healthdns/hc/checks/"+id)
	if len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), `"TCP"`) {
		t.Fatalf("check after the edit: %s", resp.Kvs)
	}
	bad := edited
	bad.HealthCheck = &zones.HealthCheckConfig{Type: "HTTP", Port: 80}
	_, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionUpsert, RecordSet: bad}}}, "")
	if zones.CodeOf(err) != zones.CodeInvalidChangeBatch || !strings.Contains(err.Error(), "healthCheck") {
		t.Fatalf("bad inline check: %v", err)
	}
	if _, err := n.store.ChangeRecordSets(ctx, z.ID, zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionDelete, RecordSet: edited}}}, ""); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatal("the inline check outlived its set")
	}
}

func TestListTenThousandInRoute53Order(t *testing.T) {
	_, cli := etcdtest.Start(t)
	n := startNode(t, cli, "n1", etcdstore.Options{})
	z := mustCreate(t, n.store, "list.test")
	var zf bytes.Buffer
	zf.WriteString("$ORIGIN list.test.\n$TTL 300\n@ SOA ns1 host 1 7200 900 1209600 300\n@ NS ns1\n")
	want := map[string]bool{"list.test. SOA": true, "list.test. NS": true}
	for i := 0; i < 9998; i++ {
		// Names at several depths and types, so the reversed-label order matters.
		name := fmt.Sprintf("h%d.g%d", i, i%7)
		typ := []string{"A", "AAAA", "TXT"}[i%3]
		val := map[string]string{"A": "192.0.2.1", "AAAA": "2001:db8::1", "TXT": `"t"`}[typ]
		fmt.Fprintf(&zf, "%s %s %s\n", name, typ, val)
		want[name+".list.test. "+typ] = true
	}
	if _, err := n.store.ImportZoneFile(context.Background(), z.ID, &zf, ""); err != nil {
		t.Fatal(err)
	}
	var got []zones.RecordSet
	in := zones.ListRecordSetsInput{MaxItems: 137}
	pages := 0
	for {
		p, err := n.store.ListRecordSets(context.Background(), z.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, p.RecordSets...)
		if !p.IsTruncated {
			break
		}
		in.Name, in.Type, in.Identifier = p.NextName, p.NextType, p.NextIdentifier
	}
	if len(got) != 10000 || pages != (10000+136)/137 {
		t.Fatalf("%d sets in %d pages", len(got), pages)
	}
	seen := map[string]bool{}
	for i, rs := range got {
		k := rs.Name + " " + rs.Type
		if seen[k] || !want[k] {
			t.Fatalf("set %d (%s) repeated or unknown", i, k)
		}
		seen[k] = true
		if i > 0 {
			a, b := got[i-1], rs
			ka, kb := zones.ListKey(a.Name), zones.ListKey(b.Name)
			if ka > kb || (ka == kb && a.Type >= b.Type) {
				t.Fatalf("out of order at %d: %s %s before %s %s", i, a.Name, a.Type, b.Name, b.Type)
			}
		}
	}
	// Route 53's start rules: a type without a name is refused.
	if _, err := n.store.ListRecordSets(context.Background(), z.ID, zones.ListRecordSetsInput{Type: "A"}); zones.CodeOf(err) != zones.CodeInvalidInput {
		t.Fatalf("type without name: %v", err)
	}
}

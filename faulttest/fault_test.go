package faulttest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/clustertest"
	"github.com/healthdns/healthdns/zones"
)

// TestEtcdMemberKilled kills the etcd leader, brings it back, then kills a
// follower, under a DNS query loop against both nodes and a loop of change
// batches through both APIs. DNS clients see no error; API clients see no
// error that one retry does not cure; every batch answered 200 is in the
// data afterwards, on both nodes.
func TestEtcdMemberKilled(t *testing.T) {
	f := setup(t, 2)
	a, b := f.nodes[0], f.nodes[1]
	queries := wwwLoop(a, b)
	batches := startBatchLoop(f.zoneID, a, b)
	waitBatches := func(n int, what string) {
		t.Helper()
		want := batches.count() + n
		clustertest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d more change batches answered 200 (%s)", n, what), func() bool { return batches.count() >= want })
	}
	waitBatches(5, "before any kill")

	var last *clustertest.Member
	for _, pick := range []string{"leader", "follower"} {
		victim := f.etcd.Leader(t)
		if pick == "follower" {
			// Not the member just restarted: one whose clients are settled.
			for _, m := range f.etcd.Followers(t) {
				if victim = m; m != last {
					break
				}
			}
		}
		last = victim
		t.Logf("killing etcd %s %s (%s)", pick, victim.Name, victim.ClientURL)
		victim.Kill()
		killed := time.Now()
		// Batches go on: the survivors elect a leader (if needed) and the
		// clients move to them.
		waitBatches(10, "with "+victim.Name+" dead")
		for time.Since(killed) < 3*time.Second {
			waitBatches(1, "with "+victim.Name+" dead")
		}
		victim.Start(t)
		f.etcd.WaitHealthy(t, 30*time.Second)
		waitBatches(3, "after "+victim.Name+" returned")
	}
	batches.stop()
	requireNoFailedQueries(t, queries.Stop(), a, b)

	t.Logf("change batches: %d answered 200, %d cured by a retry, %d failed", len(batches.ok), len(batches.retries), len(batches.failed))
	for _, r := range batches.retries {
		t.Logf("retried: %s", r)
	}
	for _, e := range batches.failed {
		t.Errorf("a change batch failed even after a retry: %s", e)
	}
	// Every batch answered 200 is in the data: listed by both APIs and
	// answered by both DNS nodes.
	for _, n := range []*clustertest.Node{a, b} {
		listed := listedTXT(t, n, f.zoneID)
		for _, name := range batches.ok {
			label, _, _ := strings.Cut(name, ".")
			if got := listed[name]; got != `"`+label+`"` {
				t.Errorf("%s: %s answered 200 but the API lists %q", n.Name, name, got)
			}
		}
	}
	newest := batches.ok[len(batches.ok)-1]
	label, _, _ := strings.Cut(newest, ".")
	waitServed(t, 10*time.Second, newest, label, a, b)
	for _, name := range batches.ok {
		label, _, _ := strings.Cut(name, ".")
		for _, n := range []*clustertest.Node{a, b} {
			if !hasTXT(n, name, label) {
				t.Errorf("%s: %s answered 200 but DNS does not answer it", n.Name, name)
			}
		}
	}
}

// TestEtcdMajorityLost kills two of three etcd members. DNS answers on with
// no failed query, API writes answer 503 ServiceUnavailable (JSON error),
// /readyz stays 200 and /healthz says etcd is unreachable. When the members
// return, the API works again, a new change is served by both nodes within
// a second or two, and nothing written before is lost.
func TestEtcdMajorityLost(t *testing.T) {
	f := setup(t, 2)
	a, b := f.nodes[0], f.nodes[1]
	var before []string
	for i := range 5 {
		name := fmt.Sprintf("pre%d.%s", i, zoneName)
		mustUpsertTXT(t, f.nodes[i%2].Client, f.zoneID, name, "pre", 10*time.Second)
		before = append(before, name)
	}
	waitServed(t, 10*time.Second, before[len(before)-1], "pre", a, b)

	queries := wwwLoop(a, b)
	ready := startReadyLoop(a, b)
	leader := f.etcd.Leader(t)
	follower := f.etcd.Followers(t)[0]
	t.Logf("killing etcd %s (leader) and %s", leader.Name, follower.Name)
	leader.Kill()
	follower.Kill()
	lost := time.Now()

	// A write sent at once is in flight when etcd goes away; it must still
	// get an answer, 503, in bounded time.
	type first struct {
		node string
		r    rawReply
	}
	firsts := make(chan first, 2)
	for _, n := range []*clustertest.Node{a, b} {
		go func() {
			firsts <- first{n.Name, rawWrite(t, n, "", f.zoneID, "inflight."+zoneName, "x", 40*time.Second)}
		}()
	}
	for range 2 {
		fw := <-firsts
		t.Logf("%s: the write in flight when etcd went away answered %d after %s: %s", fw.node, fw.r.status, fw.r.took.Round(time.Millisecond), fw.r.body)
		if err := checkUnavailable(fw.r); err != nil {
			t.Errorf("%s: the write in flight when etcd went away: %v", fw.node, err)
		} else if fw.r.took > 10*time.Second {
			t.Errorf("%s: the write in flight when etcd went away took %s to answer 503; want within 10s (one etcd request timeout plus the probe)", fw.node, fw.r.took.Round(time.Millisecond))
		}
	}
	for _, n := range []*clustertest.Node{a, b} {
		r := waitUnavailable(t, n, "", f.zoneID, 30*time.Second)
		t.Logf("%s: writes answer 503 (%s) %.1fs after the majority was lost: %s", n.Name, r.took.Round(time.Millisecond), time.Since(lost).Seconds(), r.body)
		h := waitHealth(t, n, 30*time.Second, "etcd unreachable", func(h clustertest.Health) bool {
			return !h.Sync.EtcdReachable && h.Sync.State == "etcd unreachable"
		})
		t.Logf("%s /healthz: state %q since %s, etcdReachable %v, lastError %q", n.Name, h.Sync.State, h.Sync.Since.Format(time.StampMilli), h.Sync.EtcdReachable, h.Sync.LastError)
	}
	// Several seconds more of the outage: DNS answers, /readyz stays 200,
	// writes fail fast with 503.
	for until := time.Now().Add(4 * time.Second); time.Now().Before(until); {
		for _, n := range []*clustertest.Node{a, b} {
			r := rawWrite(t, n, "", f.zoneID, "during."+zoneName, "x", 20*time.Second)
			if err := checkUnavailable(r); err != nil {
				t.Errorf("%s: write during the outage: %v", n.Name, err)
			}
			if r.took > 3*time.Second {
				t.Errorf("%s: a write during the outage took %s to answer 503; want it to fail fast (under 3s)", n.Name, r.took.Round(time.Millisecond))
			}
		}
	}
	requireNoFailedQueries(t, queries.Stop(), a, b)
	ready.stop(t)
	for _, n := range []*clustertest.Node{a, b} {
		if strings.Contains(n.Logs(), "local copy unusable") {
			t.Errorf("%s logs the ERROR \"local copy unusable ... already synced from etcd\" on an outage after a sync", n.Name)
		}
	}

	t.Logf("restarting etcd %s and %s after %.1fs", leader.Name, follower.Name, time.Since(lost).Seconds())
	leader.Start(t)
	follower.Start(t)
	f.etcd.WaitHealthy(t, 30*time.Second)
	back := time.Now()
	// The API works again (clients retry 503s meanwhile) ...
	mustUpsertTXT(t, a.Client, f.zoneID, "first-after."+zoneName, "after", 30*time.Second)
	t.Logf("API writes work %.1fs after etcd is healthy", time.Since(back).Seconds())
	// ... and the next change is served by both nodes within a second or two.
	mustUpsertTXT(t, b.Client, f.zoneID, "new."+zoneName, "new", 10*time.Second)
	took := waitServed(t, 30*time.Second, "new."+zoneName, "new", a, b)
	t.Logf("a new change was served by both nodes %s after its write answered 200", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("a new change took %s to be served by both nodes after etcd returned; want within a second or two", took)
	}
	for _, n := range []*clustertest.Node{a, b} {
		waitHealth(t, n, 30*time.Second, "in sync", func(h clustertest.Health) bool { return h.Sync.EtcdReachable && h.Sync.State == "in sync" })
		listed := listedTXT(t, n, f.zoneID)
		for _, name := range append(before, "first-after."+zoneName, "new."+zoneName) {
			if _, ok := listed[name]; !ok {
				t.Errorf("%s: %s was lost", n.Name, name)
			}
		}
		for _, name := range before {
			if !hasTXT(n, name, "pre") {
				t.Errorf("%s: DNS no longer answers %s", n.Name, name)
			}
		}
	}
}

// TestCompactionResync compacts etcd past what a node's watch has seen and
// then breaks the watch by killing the member it runs on: the watch cannot
// resume (its revision is compacted), so the node lists everything again
// and serves new changes, without a restart.
func TestCompactionResync(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests start etcd clusters and healthdns processes; not in -short")
	}
	e := clustertest.StartEtcd(t, clustertest.EtcdOptions{})
	a := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-a", Endpoints: e.Endpoints()})
	// Node a's watch is the only one: the member serving a watch stream is
	// the one it is connected to.
	var host *clustertest.Member
	clustertest.WaitFor(t, 10*time.Second, "the etcd member serving dns-a's watch", func() bool {
		hs := e.WatchHosts()
		if len(hs) == 1 {
			host = hs[0]
		}
		return host != nil
	})
	b := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-b", Endpoints: e.Endpoints()})
	zoneID := createZone(t, a.Client, a, b)
	for i := range 5 {
		mustUpsertTXT(t, a.Client, zoneID, fmt.Sprintf("c%d.%s", i, zoneName), "before", 10*time.Second)
	}
	waitServed(t, 10*time.Second, "c4."+zoneName, "before", a, b)

	// A write outside the watched prefix moves etcd's revision past the last
	// event the watch saw; compacting to it leaves the watch nothing to
	// resume from.
	cli := e.Client(t)
	ctx := t.Context()
	resp, err := cli.Put(ctx, "/clustertest/bump", "x")
	if err != nil {
		t.Fatal(err)
	}
	e.Compact(t, cli, resp.Header.Revision)
	fullSyncs, err := a.Metric("healthdns_sync_full_syncs_total")
	if err != nil {
		t.Fatal(err)
	}
	pid := a.PID()
	t.Logf("compacted to revision %d; killing %s, which serves dns-a's watch", resp.Header.Revision, host.Name)
	host.Kill()

	clustertest.WaitFor(t, 30*time.Second, "dns-a to list again after the compaction", func() bool {
		v, err := a.Metric("healthdns_sync_full_syncs_total")
		return err == nil && v > fullSyncs
	})
	// The zone sync (part=sync) must have met the compaction; the health
	// check sync (part=health) watches too and usually meets it as well.
	compacted := false
	for _, line := range strings.Split(a.Logs(), "\n") {
		if strings.Contains(line, "compacted") {
			t.Logf("dns-a: %s", line)
			compacted = compacted || strings.Contains(line, "part=sync")
		}
	}
	if !compacted {
		t.Errorf("dns-a's zone sync log does not mention the compaction; the resync had another cause")
	}
	mustUpsertTXT(t, a.Client, zoneID, "after."+zoneName, "after", 30*time.Second)
	mustUpsertTXT(t, b.Client, zoneID, "after2."+zoneName, "after", 30*time.Second)
	waitServed(t, 10*time.Second, "after."+zoneName, "after", a, b)
	waitServed(t, 10*time.Second, "after2."+zoneName, "after", a, b)
	for i := range 5 {
		if !hasTXT(a, fmt.Sprintf("c%d.%s", i, zoneName), "before") {
			t.Errorf("dns-a lost c%d after the resync", i)
		}
	}
	if !a.Running() || a.PID() != pid {
		t.Errorf("dns-a was restarted (pid %d, was %d)", a.PID(), pid)
	}
	waitHealth(t, a, 10*time.Second, "in sync", func(h clustertest.Health) bool { return h.Sync.State == "in sync" })
}

// TestDNSNodeKilled kills one of two DNS nodes with SIGKILL under load: the
// other answers every query, and changes turn INSYNC once the dead node's
// registration expires.
func TestDNSNodeKilled(t *testing.T) {
	f := setup(t, 2)
	a, b := f.nodes[0], f.nodes[1]
	queries := wwwLoop(a, b)
	clustertest.WaitFor(t, 10*time.Second, "queries answered by both nodes", func() bool {
		st := queries.Stats()
		return st[a.DNSAddr].OK >= 200 && st[b.DNSAddr].OK >= 200
	})
	b.Kill()
	killedAt := queries.Stats()[a.DNSAddr].OK
	clustertest.WaitFor(t, 30*time.Second, "dns-a to answer on after dns-b died", func() bool {
		return queries.Stats()[a.DNSAddr].OK >= killedAt+1000
	})
	// A change made now is served by a, and INSYNC once b's lease (2s)
	// has expired.
	ci := mustUpsertTXT(t, a.Client, f.zoneID, "later."+zoneName, "later", 10*time.Second)
	waitServed(t, 5*time.Second, "later."+zoneName, "later", a)
	ctx := t.Context()
	clustertest.WaitFor(t, 30*time.Second, "the change INSYNC without the dead node", func() bool {
		got, err := a.Client.GetChange(ctx, ci.ID)
		return err == nil && got.Status == "INSYNC"
	})
	stats := queries.Stop()
	requireNoFailedQueries(t, stats, a)
	t.Logf("dns-b (killed): %s", stats[b.DNSAddr])

	// Restarted, b serves what it missed.
	b.Restart(t)
	waitServed(t, 10*time.Second, "later."+zoneName, "later", b)
}

// TestNodeStartsWhileEtcdDown: a node whose etcd is entirely down at start
// serves its last data from the local copy in --data-dir, and says so in
// /healthz, its metrics and its log; when etcd returns it resyncs.
func TestNodeStartsWhileEtcdDown(t *testing.T) {
	f := setup(t, 1)
	a := f.nodes[0]
	mustUpsertTXT(t, a.Client, f.zoneID, "kept."+zoneName, "kept", 10*time.Second)
	waitServed(t, 10*time.Second, "kept."+zoneName, "kept", a)
	// The local copy is saved at most every 5s; wait until it holds the
	// change, then crash the node and take all of etcd away.
	cache := filepath.Join(a.DataDir, "cache", "zones.json")
	clustertest.WaitFor(t, 30*time.Second, "the local copy to hold the change", func() bool {
		b, err := os.ReadFile(cache)
		return err == nil && strings.Contains(string(b), "kept.example.test.")
	})
	a.Kill()
	for _, m := range f.etcd.Members {
		m.Kill()
	}

	a.Restart(t)
	if !hasTXT(a, "kept."+zoneName, "kept") {
		t.Errorf("started while etcd is down, the node does not answer kept.%s", zoneName)
	}
	queries := wwwLoop(a)
	h := waitHealth(t, a, 10*time.Second, "serving local copy", func(h clustertest.Health) bool {
		return h.Sync.State == "serving local copy" && !h.Sync.EtcdReachable
	})
	t.Logf("/healthz: state %q, revision %d, lastError %q", h.Sync.State, h.Sync.Revision, h.Sync.LastError)
	if v, err := a.Metric("healthdns_sync_serving_local_copy"); err != nil || v != 1 {
		t.Errorf("healthdns_sync_serving_local_copy = %v (%v), want 1", v, err)
	}
	if !strings.Contains(a.Logs(), "serving the local copy") {
		t.Errorf("the log does not say the node serves its local copy")
	}
	if err := checkUnavailable(waitUnavailable(t, a, "", f.zoneID, 30*time.Second)); err != nil {
		t.Error(err)
	}
	clustertest.WaitFor(t, 10*time.Second, "a second of queries", func() bool { return queries.Stats()[a.DNSAddr].OK >= 500 })

	for _, m := range f.etcd.Members {
		m.Start(t)
	}
	f.etcd.WaitHealthy(t, 30*time.Second)
	waitHealth(t, a, 30*time.Second, "in sync", func(h clustertest.Health) bool { return h.Sync.State == "in sync" && h.Sync.EtcdReachable })
	if v, err := a.Metric("healthdns_sync_serving_local_copy"); err != nil || v != 0 {
		t.Errorf("after the resync healthdns_sync_serving_local_copy = %v (%v), want 0", v, err)
	}
	mustUpsertTXT(t, a.Client, f.zoneID, "fresh."+zoneName, "fresh", 30*time.Second)
	waitServed(t, 10*time.Second, "fresh."+zoneName, "fresh", a)
	requireNoFailedQueries(t, queries.Stop(), a)
}

// TestNetworkCut runs one node in a network namespace and cuts its link to
// etcd (packets dropped, as in a partition), while a second node on the
// host keeps its etcd. The cut node answers DNS from its snapshot and its
// API answers 503; the other node takes writes. When the link returns the
// cut node catches up and takes writes again.
func TestNetworkCut(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests start etcd clusters and healthdns processes; not in -short")
	}
	ns := clustertest.NewNetNS(t)
	e := clustertest.StartEtcd(t, clustertest.EtcdOptions{ExtraClientHosts: []string{ns.EtcdHost}})
	const token = "cut-test-token"
	host := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-host", Endpoints: e.Endpoints()})
	cut := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-cut", Endpoints: ns.EtcdEndpoints(e), NetNS: ns, Token: token})
	zoneID := createZone(t, host.Client, host, cut)
	mustUpsertTXT(t, cut.Client, zoneID, "before."+zoneName, "before", 10*time.Second)
	waitServed(t, 10*time.Second, "before."+zoneName, "before", host, cut)

	queries := wwwLoop(host, cut)
	ns.Cut(t)
	cutAt := time.Now()
	r := waitUnavailable(t, cut, token, zoneID, 40*time.Second)
	t.Logf("dns-cut: writes answer 503 %.1fs after the cut: %s", time.Since(cutAt).Seconds(), r.body)
	h := waitHealth(t, cut, 30*time.Second, "etcd unreachable", func(h clustertest.Health) bool { return !h.Sync.EtcdReachable })
	if h.Sync.State != "etcd unreachable" {
		t.Errorf("dns-cut: /healthz says state %q (etcdReachable false) during the cut; want \"etcd unreachable\"", h.Sync.State)
	}
	if r := rawWrite(t, cut, token, zoneID, "cutwrite."+zoneName, "x", 20*time.Second); checkUnavailable(r) != nil {
		t.Errorf("dns-cut: a write during the cut: %v", checkUnavailable(r))
	} else if r.took > 3*time.Second {
		t.Errorf("dns-cut: a write during the cut took %s to answer 503; want it to fail fast (under 3s)", r.took.Round(time.Millisecond))
	}
	if !cut.Ready() {
		t.Errorf("dns-cut: /readyz is not 200 while it serves its snapshot")
	}
	// The rest of the system goes on.
	mustUpsertTXT(t, host.Client, zoneID, "during."+zoneName, "during", 10*time.Second)
	waitServed(t, 5*time.Second, "during."+zoneName, "during", host)
	if hasTXT(cut, "during."+zoneName, "during") {
		t.Errorf("dns-cut answers a change made after its link to etcd was cut")
	}
	if !hasTXT(cut, "before."+zoneName, "before") {
		t.Errorf("dns-cut no longer answers from its snapshot")
	}
	clustertest.WaitFor(t, 10*time.Second, "3s of queries during the cut", func() bool { return time.Since(cutAt) > 3*time.Second })

	ns.Restore(t)
	restored := time.Now()
	took := waitServed(t, 60*time.Second, "during."+zoneName, "during", cut)
	t.Logf("dns-cut caught up %s after the link returned", took.Round(time.Millisecond))
	mustUpsertTXT(t, cut.Client, zoneID, "after."+zoneName, "after", 60*time.Second)
	waitServed(t, 10*time.Second, "after."+zoneName, "after", host, cut)
	t.Logf("dns-cut takes writes %.1fs after the link returned", time.Since(restored).Seconds())
	requireNoFailedQueries(t, queries.Stop(), host, cut)
}

// TestPartitionFromOneMember cuts a node off from the one etcd member its
// watch runs on (packets dropped both ways), while the other two members
// stay reachable. The node must notice the dead connection and carry on
// through the others: changes made elsewhere reach it, and its API takes
// writes.
func TestPartitionFromOneMember(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests start etcd clusters and healthdns processes; not in -short")
	}
	ns := clustertest.NewNetNS(t)
	e := clustertest.StartEtcd(t, clustertest.EtcdOptions{ExtraClientHosts: []string{ns.EtcdHost}})
	const token = "partition-test-token"
	cut := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-cut", Endpoints: ns.EtcdEndpoints(e), NetNS: ns, Token: token})
	var member *clustertest.Member
	clustertest.WaitFor(t, 10*time.Second, "the etcd member serving dns-cut's watch", func() bool {
		hs := e.WatchHosts()
		if len(hs) == 1 {
			member = hs[0]
		}
		return member != nil
	})
	host := clustertest.StartNode(t, clustertest.NodeOptions{Name: "dns-host", Endpoints: e.Endpoints()})
	zoneID := createZone(t, host.Client, host, cut)
	queries := wwwLoop(host, cut)

	t.Logf("cutting dns-cut off from %s (port %d), which serves its watch", member.Name, member.Port())
	ns.CutPort(t, member.Port())
	cutAt := time.Now()
	mustUpsertTXT(t, host.Client, zoneID, "p1."+zoneName, "p1", 10*time.Second)
	// gRPC pings an idle connection after 10s at the earliest, and gives
	// it a few seconds to answer: 20s is a generous bound.
	if !waitServedWithin(20*time.Second, "p1."+zoneName, "p1", cut) {
		t.Errorf("dns-cut did not get a change made elsewhere within 20s of being cut off from one etcd member of three; its watch hangs on the dead connection")
	} else {
		t.Logf("dns-cut served a change made elsewhere %.1fs after the cut", time.Since(cutAt).Seconds())
	}
	if _, err := upsertTXT(cut.Client, zoneID, "p2."+zoneName, "p2", 15*time.Second); err != nil {
		t.Errorf("dns-cut's API did not take a write with one etcd member of three cut off: %v", err)
	}

	ns.RestorePorts(t)
	restored := time.Now()
	mustUpsertTXT(t, cut.Client, zoneID, "p3."+zoneName, "p3", 60*time.Second)
	waitServed(t, 60*time.Second, "p3."+zoneName, "p3", host, cut)
	waitServed(t, 10*time.Second, "p1."+zoneName, "p1", cut)
	t.Logf("after the cut was lifted, dns-cut took a write and served it %.1fs later", time.Since(restored).Seconds())
	requireNoFailedQueries(t, queries.Stop(), host, cut)
}

// TestCheckerNodeKilled runs two checker nodes (regions r1, r2) probing one
// HTTP target that a failover PRIMARY depends on, and kills one checker:
// its observations expire with its lease, the check stays HEALTHY and DNS
// never flips to the SECONDARY; the surviving checker carries on alone, as
// a later failure of the target shows.
func TestCheckerNodeKilled(t *testing.T) {
	f := setup(t, 1)
	a := f.nodes[0]
	var targetDown atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if targetDown.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer target.Close()
	var checkers []*clustertest.Node
	for i, region := range []string{"r1", "r2"} {
		checkers = append(checkers, clustertest.StartNode(t, clustertest.NodeOptions{
			Name: fmt.Sprintf("chk-%d", i+1), Roles: "checker", Endpoints: f.etcd.Endpoints(), NoWait: true,
			Args: []string{"--checker-region", region},
		}))
	}
	ctx := t.Context()
	_, port, _ := strings.Cut(strings.TrimPrefix(target.URL, "http://"), ":")
	p, _ := strconv.Atoi(port)
	hc, err := a.Client.CreateHealthCheck(ctx, "faulttest-checker", zones.HealthCheckConfig{
		Type: "HTTP", IPAddress: "127.0.0.1", Port: p, ResourcePath: "/", RequestInterval: 1, FailureThreshold: 1})
	if err != nil {
		t.Fatalf("create health check: %v", err)
	}
	svc := "svc." + zoneName
	failover := func(role, ip, check string) zones.Change {
		return zones.Change{Action: zones.ActionUpsert, RecordSet: zones.RecordSet{Name: svc, Type: "A", TTL: &ttl60,
			Values: []string{ip}, SetIdentifier: strings.ToLower(role), Failover: role, HealthCheckID: check}}
	}
	if _, err := a.Client.ChangeRecordSets(ctx, f.zoneID, zones.ChangeBatch{Changes: []zones.Change{
		failover("PRIMARY", "192.0.2.10", hc.ID), failover("SECONDARY", "192.0.2.20", ""),
	}}); err != nil {
		t.Fatalf("failover records: %v", err)
	}
	status := func() (*client.HealthCheckStatus, map[string]bool) {
		st, err := a.Client.HealthCheckStatus(ctx, hc.ID)
		if err != nil {
			return nil, nil
		}
		by := map[string]bool{}
		for _, o := range st.Observations {
			by[o.Checker] = o.Healthy
		}
		return st, by
	}
	clustertest.WaitFor(t, 30*time.Second, "both checkers to observe the target healthy", func() bool {
		st, by := status()
		return st != nil && st.Status == "HEALTHY" && len(by) == 2 && by["chk-1"] && by["chk-2"]
	})
	answers := func(ip string) func(*dns.Msg) error {
		return func(r *dns.Msg) error {
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				return fmt.Errorf("svc: %s with %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
			if got := r.Answer[0].(*dns.A).A.String(); got != ip {
				return fmt.Errorf("svc: answered %s, want %s", got, ip)
			}
			return nil
		}
	}
	clustertest.WaitFor(t, 10*time.Second, "svc to answer the PRIMARY", func() bool {
		r, err := clustertest.Query(a.DNSAddr, svc, dns.TypeA, time.Second)
		return err == nil && answers("192.0.2.10")(r) == nil
	})
	queries := clustertest.StartQueryLoop(clustertest.QueryLoopOptions{Addrs: []string{a.DNSAddr}, Name: svc, Type: dns.TypeA, Check: answers("192.0.2.10")})

	checkers[1].Kill()
	killed := time.Now()
	clustertest.WaitFor(t, 40*time.Second, "chk-2's observation to expire with its lease", func() bool {
		st, by := status()
		_, has2 := by["chk-2"]
		return st != nil && !has2 && by["chk-1"]
	})
	t.Logf("chk-2's observation expired %.1fs after it was killed", time.Since(killed).Seconds())
	if st, _ := status(); st == nil || st.Status != "HEALTHY" {
		t.Errorf("with one checker left the check is %+v, want HEALTHY", st)
	}
	expired := time.Now()
	clustertest.WaitFor(t, 10*time.Second, "2s more of queries", func() bool { return time.Since(expired) > 2*time.Second })
	requireNoFailedQueries(t, queries.Stop(), a)

	// chk-1 carries on alone: the target failing flips the answer.
	targetDown.Store(true)
	clustertest.WaitFor(t, 30*time.Second, "chk-1 alone to find the target down and DNS to answer the SECONDARY", func() bool {
		r, err := clustertest.Query(a.DNSAddr, svc, dns.TypeA, time.Second)
		return err == nil && answers("192.0.2.20")(r) == nil
	})
	if st, by := status(); st == nil || st.Status != "UNHEALTHY" || by["chk-1"] {
		t.Errorf("after the target failed: %+v", st)
	}
}

package loadtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/syncbuf"
	"github.com/healthdns/healthdns/loadtest/stacktest"
)

// TestPropagation times changes through a real stack: the API over the etcd
// store on an embedded etcd, and two DNS nodes, each syncing on its own.
func TestPropagation(t *testing.T) {
	st := stacktest.Start(t, 2)
	api := client.New(st.APIURL, "", nil)
	ctx := context.Background()

	var progress syncbuf.Buffer
	res, err := Propagation(ctx, PropagationOptions{API: api, DNS: st.DNS, Changes: 10, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ToAll) != 10 || len(res.PerNode) != 2 {
		t.Fatalf("timed %d changes on %d nodes, want 10 on 2", len(res.ToAll), len(res.PerNode))
	}
	for i, d := range res.ToAll {
		var last time.Duration
		for _, addr := range st.DNS {
			node := res.PerNode[addr]
			if len(node) != 10 || node[i] < 0 {
				t.Fatalf("node %s: %v", addr, node)
			}
			last = max(last, node[i])
		}
		if d != last {
			t.Errorf("change %d: %v to every node, but the slowest node took %v", i, d, last)
		}
	}
	s := Summarize(res.ToAll)
	if s.P50 > s.P99 || s.P99 > s.Max || s.Max <= 0 {
		t.Errorf("summary %+v", s)
	}
	t.Logf("zone %s: to every node %+v", res.Zone, s)

	// It cleaned up: the zone is gone.
	zs, err := api.AllZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != 0 {
		t.Errorf("zones left behind: %+v", zs)
	}
}

// TestPropagationCleansUpOnError: a DNS address that never answers fails the
// run, and the zone is deleted all the same.
func TestPropagationCleansUpOnError(t *testing.T) {
	st := stacktest.Start(t, 1)
	api := client.New(st.APIURL, "", nil)
	ctx := context.Background()
	dead := startDNS(t, "udp") // answers, but not for the zone: never AA
	_, err := Propagation(ctx, PropagationOptions{
		API: api, DNS: []string{st.DNS[0], dead}, Changes: 3, ChangeTimeout: 300 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), dead) {
		t.Fatalf("error %v, want one naming %s", err, dead)
	}
	zs, err := api.AllZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != 0 {
		t.Errorf("zones left behind: %+v", zs)
	}

	// Interrupted while it waits for the new zone: cleans up too.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Propagation(cctx, PropagationOptions{API: api, DNS: []string{dead}, Changes: 3})
		done <- err
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		zs, err := api.AllZones(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(zs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the temporary zone did not appear")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("no error from an interrupted run")
	}
	if zs, _ := api.AllZones(ctx); len(zs) != 0 {
		t.Errorf("zones left behind after an interrupt: %+v", zs)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(ds)
	if s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Errorf("%+v", s)
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("empty sample")
	}
	if s := Summarize([]time.Duration{7}); s.P50 != 7 || s.P99 != 7 || s.Max != 7 {
		t.Errorf("one value: %+v", s)
	}
}

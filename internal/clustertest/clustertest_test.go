package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) {
	os.Exit(Main(m))
}

func TestScrapeMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP x\netcd_server_is_leader 1\netcd_server_is_leader_total 7\nhealthdns_sync_state{state=\"in sync\"} 1\n")
	}))
	defer srv.Close()
	for name, want := range map[string]float64{"etcd_server_is_leader": 1, "etcd_server_is_leader_total": 7, `healthdns_sync_state{state="in sync"}`: 1} {
		if got, err := scrapeMetric(srv.URL, name); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := scrapeMetric(srv.URL, "etcd_server"); err == nil {
		t.Error("a prefix of a metric name matched")
	}
}

func TestLogBufferTail(t *testing.T) {
	var b logBuffer
	for i := range 100 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	tail := b.tail(30)
	if !strings.HasPrefix(tail, "...\nline 9") || !strings.HasSuffix(tail, "line 99\n") || len(tail) > 34 {
		t.Errorf("tail: %q", tail)
	}
}

// TestEtcdKillAndRestart checks the harness itself: a 3-member cluster
// elects a new leader when its leader is killed, keeps taking writes, and
// takes the member back with everything written meanwhile.
func TestEtcdKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd cluster")
	}
	e := StartEtcd(t, EtcdOptions{})
	if len(e.Members) != 3 {
		t.Fatalf("%d members", len(e.Members))
	}
	cli := e.Client(t)
	put := func(k string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := cli.Put(ctx, k, "v"); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	put("/clustertest/before")
	leader := e.Leader(t)
	leader.Kill()
	if leader.Running() {
		t.Fatal("killed member still running")
	}
	if l := e.Leader(t); l == leader {
		t.Fatal("the killed member still leads")
	}
	put("/clustertest/during")
	leader.Start(t)
	e.WaitHealthy(t, 30*time.Second)
	// Read through the restarted member alone.
	one, err := clientv3.New(clientv3.Config{Endpoints: []string{leader.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	WaitFor(t, 10*time.Second, "the restarted member to hold both keys", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := one.Get(ctx, "/clustertest/", clientv3.WithPrefix(), clientv3.WithSerializable())
		return err == nil && resp.Count == 2
	})
	if !strings.Contains(leader.Logs(), "--name "+leader.Name) {
		t.Error("member logs do not show its command line")
	}
}

package etcdstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// TestApplyEventsZoneAndImportInOneBatch: a watch response may carry a
// zone's creation and its replacing import together. The import's record
// sets are decoded before the Mirror's lock, so their origin must come
// from the metadata event earlier in the same batch, which the Mirror does
// not know yet.
func TestApplyEventsZoneAndImportInOneBatch(t *testing.T) {
	_, cli := etcdtest.Start(t)
	ctx := context.Background()
	w := startNode(t, cli, "writer", etcdstore.Options{}) // an API node, synced
	start, err := cli.Get(ctx, etcdstore.DataPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	z := mustCreate(t, w.store, "batch.test")
	file := "$ORIGIN batch.test.\n@ 300 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 300 IN NS ns1\n" +
		"www 300 IN A 192.0.2.1\nmail 300 IN A 192.0.2.2\n"
	if _, err := w.store.ImportZoneFile(ctx, z.ID, strings.NewReader(file), ""); err != nil {
		t.Fatal(err)
	}
	end, err := cli.Get(ctx, etcdstore.DataPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}

	// Every data event from the creation to the import, in one batch.
	var events []*clientv3.Event
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for wr := range cli.Watch(wctx, etcdstore.DataPrefix, clientv3.WithPrefix(), clientv3.WithRev(start.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		events = append(events, wr.Events...)
		if n := len(events); n > 0 && events[n-1].Kv.ModRevision >= end.Header.Revision {
			break
		}
	}
	if wctx.Err() != nil {
		t.Fatalf("the watch did not reach revision %d within 10s", end.Header.Revision)
	}
	wcancel()
	replace, meta := -1, -1
	for i, ev := range events {
		k := string(ev.Kv.Key)
		if strings.HasPrefix(k, etcdstore.MetaPrefix) && meta < 0 {
			meta = i
		}
		if strings.HasPrefix(k, etcdstore.LogPrefix) && strings.Contains(string(ev.Kv.Value), `"replace"`) {
			replace = i
		}
	}
	if meta < 0 || replace < meta {
		t.Fatalf("want the zone's metadata before the replacing import among %d events (meta %d, replace %d)", len(events), meta, replace)
	}

	m := etcdstore.NewMirror()
	sy := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: m})
	if err := sy.ApplyEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	st := etcdstore.New(etcdstore.Options{Client: cli, Mirror: m})
	zz, err := st.GetZone(ctx, z.ID)
	if err != nil || zz.Name != "batch.test." {
		t.Fatalf("zone %s after the batch: %+v, %v", z.ID, zz, err)
	}
	var names []string
	for _, rs := range allSets(t, st, z.ID) {
		names = append(names, rs.Name+" "+rs.Type)
	}
	// Route 53's listing order: by name with its labels reversed, then type.
	if got, want := strings.Join(names, ","), "batch.test. NS,batch.test. SOA,mail.batch.test. A,www.batch.test. A"; got != want {
		t.Errorf("record sets after the batch: %s, want %s", got, want)
	}
}

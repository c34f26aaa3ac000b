package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// The tests in this file run the API over the real store on a real embedded
// etcd, through a real HTTP server on 127.0.0.1:0.

var _ Store = (*etcdstore.Store)(nil)

const integrationToken = "integration-token"

// startStack starts etcd, a Mirror kept by a Syncer, a Node (for INSYNC),
// the etcdstore.Store and the API, all stopped when the test ends.
func startStack(t *testing.T) *testServer {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	mirror := etcdstore.NewMirror()
	ctx, cancel := context.WithCancel(context.Background())
	node := etcdstore.NewNode(etcdstore.NodeOptions{Client: cli, NodeID: "api-test"})
	syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror, OnRevision: node.Serving})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); syncer.Run(ctx) }()
	go func() { defer wg.Done(); node.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	poll(t, "the mirror to sync", mirror.Synced)

	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror,
		NameServers: []string{"ns1.example.net", "ns2.example.net"}})
	return newTestServer(t, Options{
		Store:  store,
		Tokens: map[string]string{integrationToken: "tester"},
		Ready:  mirror.Synced,
	})
}

// poll waits for cond, failing the test after a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call sends an authenticated request and decodes a 2xx JSON reply into out.
func (ts *testServer) call(t *testing.T, method, path string, body io.Reader, wantStatus int, out any) response {
	t.Helper()
	r := ts.do(t, method, path, integrationToken, body)
	if r.status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, wantStatus, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: %v; body %s", method, path, err, r.body)
		}
	}
	return r
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return strings.NewReader(string(b))
}

func createZone(t *testing.T, ts *testServer, name, ref string) zones.Zone {
	t.Helper()
	var z zoneCreated
	ts.call(t, "POST", "/v1/zones", jsonBody(zones.CreateZoneRequest{Name: name, CallerReference: ref}), 201, &z)
	if !validID(z.ID, 'Z') || !validID(z.ChangeInfo.ID, 'C') {
		t.Fatalf("created zone %+v", z)
	}
	return z.Zone
}

func i64(n int64) *int64 { return &n }

func TestIntegrationZoneLifecycle(t *testing.T) {
	ts := startStack(t)
	z := createZone(t, ts, "Example.TEST", "ref-1")
	if z.Name != "example.test." || z.RecordSetCount != 2 || len(z.NameServers) != 2 {
		t.Fatalf("zone %+v", z)
	}

	// Get, in every id form.
	for _, path := range []string{"/v1/zones/" + z.ID, "/v1/zones/hostedzone/" + z.ID, "/v1/zones/%2Fhostedzone%2F" + z.ID} {
		var got zones.Zone
		ts.call(t, "GET", path, nil, 200, &got)
		if got.ID != z.ID || got.Name != z.Name {
			t.Errorf("GET %s: %+v", path, got)
		}
	}

	// One server cannot answer for two zones of one name; a caller reference is used once.
	e := wantError(t, ts.do(t, "POST", "/v1/zones", integrationToken, jsonBody(zones.CreateZoneRequest{Name: "example.test."})), 409, "HostedZoneAlreadyExists")
	t.Logf("duplicate name: %s", e.Message)
	wantError(t, ts.do(t, "POST", "/v1/zones", integrationToken, jsonBody(zones.CreateZoneRequest{Name: "other.test", CallerReference: "ref-1"})), 409, "HostedZoneAlreadyExists")
	wantError(t, ts.do(t, "POST", "/v1/zones", integrationToken, jsonBody(zones.CreateZoneRequest{Name: "bad..name"})), 400, "InvalidInput")

	// List, a page at a time.
	z2 := createZone(t, ts, "second.test", "")
	seen := map[string]bool{}
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("listing does not end")
		}
		var p zones.ZonePage
		ts.call(t, "GET", "/v1/zones?maxItems=1&marker="+marker, nil, 200, &p)
		if len(p.Zones) != 1 {
			t.Fatalf("page %+v", p)
		}
		seen[p.Zones[0].ID] = true
		if !p.IsTruncated {
			break
		}
		marker = p.NextMarker
	}
	if !seen[z.ID] || !seen[z2.ID] || len(seen) != 2 {
		t.Errorf("listing saw %v, want %s and %s", seen, z.ID, z2.ID)
	}

	// A change batch, its status in both id forms, until INSYNC.
	www := zones.RecordSet{Name: "WWW.example.test", Type: "A", TTL: i64(300), Values: []string{"192.0.2.1", "192.0.2.2"}}
	var ci changeInfoBody
	ts.call(t, "POST", "/v1/zones/"+z.ID+"/rrsets", jsonBody(zones.ChangeBatch{Comment: "add www",
		Changes: []zones.Change{{Action: zones.ActionCreate, RecordSet: www}}}), 200, &ci)
	if !validID(ci.ChangeInfo.ID, 'C') || ci.ChangeInfo.Comment != "add www" {
		t.Fatalf("change %+v", ci)
	}
	poll(t, "the change to be INSYNC", func() bool {
		var got changeInfoBody
		ts.call(t, "GET", "/v1/changes/change/"+ci.ChangeInfo.ID, nil, 200, &got)
		return got.ChangeInfo.Status == zones.StatusInsync
	})
	var got changeInfoBody
	ts.call(t, "GET", "/v1/changes/%2Fchange%2F"+ci.ChangeInfo.ID, nil, 200, &got)
	if got.ChangeInfo.ID != ci.ChangeInfo.ID {
		t.Errorf("GetChange %+v", got)
	}
	wantError(t, ts.do(t, "GET", "/v1/changes/C"+strings.Repeat("9", 20), integrationToken, nil), 404, "NoSuchChange")

	var page zones.RecordSetPage
	ts.call(t, "GET", "/v1/zones/"+z.ID+"/rrsets?name=www.example.test&type=A", nil, 200, &page)
	if len(page.RecordSets) == 0 || page.RecordSets[0].Name != "www.example.test." || len(page.RecordSets[0].Values) != 2 {
		t.Fatalf("rrsets %+v", page)
	}

	// The same record set again is an invalid batch, and nothing changes.
	e = wantError(t, ts.do(t, "POST", "/v1/zones/"+z.ID+"/rrsets", integrationToken, jsonBody(zones.ChangeBatch{
		Changes: []zones.Change{
			{Action: zones.ActionCreate, RecordSet: zones.RecordSet{Name: "ok.example.test", Type: "A", TTL: i64(60), Values: []string{"192.0.2.9"}}},
			{Action: zones.ActionCreate, RecordSet: www},
		}})), 400, "InvalidChangeBatch")
	if len(e.Messages) == 0 {
		t.Errorf("InvalidChangeBatch without messages: %+v", e)
	}
	ts.call(t, "GET", "/v1/zones/"+z.ID+"/rrsets?name=ok.example.test&type=A&maxItems=1", nil, 200, &page)
	if len(page.RecordSets) == 1 && page.RecordSets[0].Name == "ok.example.test." {
		t.Error("a rejected batch was partly applied")
	}

	// Not empty: 409 until www goes.
	wantError(t, ts.do(t, "DELETE", "/v1/zones/"+z.ID, integrationToken, nil), 409, "HostedZoneNotEmpty")
	www.Name = "www.example.test."
	ts.call(t, "POST", "/v1/zones/"+z.ID+"/rrsets", jsonBody(zones.ChangeBatch{
		Changes: []zones.Change{{Action: zones.ActionDelete, RecordSet: www}}}), 200, nil)
	ts.call(t, "DELETE", "/v1/zones/%2Fhostedzone%2F"+z.ID, nil, 200, &ci)
	if !validID(ci.ChangeInfo.ID, 'C') {
		t.Errorf("delete: %+v", ci)
	}
	wantError(t, ts.do(t, "GET", "/v1/zones/"+z.ID, integrationToken, nil), 404, "NoSuchHostedZone")
	wantError(t, ts.do(t, "DELETE", "/v1/zones/"+z.ID, integrationToken, nil), 404, "NoSuchHostedZone")
	wantError(t, ts.do(t, "GET", "/v1/zones/"+z.ID+"/zonefile", integrationToken, nil), 404, "NoSuchHostedZone")
	wantError(t, ts.do(t, "POST", "/v1/zones/"+z.ID+"/rrsets", integrationToken, jsonBody(zones.ChangeBatch{
		Changes: []zones.Change{{Action: zones.ActionCreate, RecordSet: www}}})), 404, "NoSuchHostedZone")

	if !strings.Contains(ts.logs.String(), "who=tester") {
		t.Errorf("the audit log lacks who=tester:\n%s", ts.logs.String())
	}
}

func export(t *testing.T, ts *testServer, id string) string {
	t.Helper()
	r := ts.call(t, "GET", "/v1/zones/"+id+"/zonefile", nil, 200, nil)
	if ct := r.header.Get("Content-Type"); ct != "text/dns" {
		t.Fatalf("export Content-Type %q", ct)
	}
	return string(r.body)
}

func TestIntegrationZoneFile(t *testing.T) {
	ts := startStack(t)
	z := createZone(t, ts, "files.test", "")
	base := export(t, ts, z.ID)
	if !strings.Contains(base, "SOA") || !strings.Contains(base, "NS") {
		t.Fatalf("a new zone's export lacks SOA or NS:\n%s", base)
	}

	// Import the export with records added; the export then has them.
	zf := base + `
www.files.test.   300 IN A     192.0.2.10
www.files.test.   300 IN A     192.0.2.11
mail              600 IN MX    10 mx.files.test.
mx                600 IN AAAA  2001:db8::25
txt               300 IN TXT   "hello world"
`
	var ci changeInfoBody
	ts.call(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", strings.NewReader(zf), 200, &ci)
	if !validID(ci.ChangeInfo.ID, 'C') {
		t.Fatalf("import: %+v", ci)
	}
	first := export(t, ts, z.ID)
	for _, want := range []string{"192.0.2.10", "192.0.2.11", "mx.files.test.", "2001:db8::25", `"hello world"`} {
		if !strings.Contains(first, want) {
			t.Errorf("export lacks %s:\n%s", want, first)
		}
	}
	var zone zones.Zone
	ts.call(t, "GET", "/v1/zones/"+z.ID, nil, 200, &zone)
	if zone.RecordSetCount != 6 {
		t.Errorf("recordSetCount %d, want 6 (SOA NS A MX AAAA TXT)", zone.RecordSetCount)
	}

	// Round trip: importing an export changes nothing.
	ts.call(t, "PUT", "/v1/zones/hostedzone/"+z.ID+"/zonefile", strings.NewReader(first), 200, nil)
	if again := export(t, ts, z.ID); again != first {
		t.Errorf("export after re-import differs:\n--- first\n%s\n--- again\n%s", first, again)
	}

	// A bad line is 400 naming it, and the zone stays as it was.
	bad := first + "ok 300 IN A 192.0.2.1\nbroken 300 IN A not-an-address\n"
	badLine := strings.Count(first, "\n") + 2
	e := wantError(t, ts.do(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", integrationToken, strings.NewReader(bad)), 400, "InvalidInput")
	if msgs := strings.Join(e.Messages, "\n"); !strings.Contains(msgs, fmt.Sprintf("line %d", badLine)) {
		t.Errorf("error does not name line %d: %+v", badLine, e)
	}
	// Bad data (a name outside the zone) is 400 naming the owner.
	e = wantError(t, ts.do(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", integrationToken,
		strings.NewReader(first+"elsewhere.example. 300 IN A 192.0.2.1\n")), 400, "InvalidInput")
	if msgs := strings.Join(e.Messages, "\n"); !strings.Contains(msgs, "elsewhere.example.") {
		t.Errorf("error does not name the owner: %+v", e)
	}
	if after := export(t, ts, z.ID); after != first {
		t.Errorf("a rejected import changed the zone:\n--- before\n%s\n--- after\n%s", first, after)
	}

	// Without a token: 401, and nothing changes.
	r := ts.do(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", "", strings.NewReader(base))
	wantError(t, r, http.StatusUnauthorized, "Unauthorized")
	if after := export(t, ts, z.ID); after != first {
		t.Error("an unauthenticated import changed the zone")
	}
}

// A zone file larger than the JSON limit goes through; one over the zone
// file limit is 413 and changes nothing.
func TestIntegrationZoneFileLimits(t *testing.T) {
	ts := startStack(t)
	z := createZone(t, ts, "big.test", "")
	base := export(t, ts, z.ID)
	var b strings.Builder
	b.WriteString(base)
	for i := 0; b.Len() <= DefaultMaxBodyBytes; i++ {
		fmt.Fprintf(&b, "host%d 300 IN A 192.0.%d.%d\n", i, i/250%250, i%250+1)
	}
	ts.call(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", strings.NewReader(b.String()), 200, nil)
	before := export(t, ts, z.ID)
	if !strings.Contains(before, "host1000.big.test.") {
		t.Fatal("the large import is not in the export")
	}

	s, err := New(Options{Store: ts.api.store, MaxZoneFileBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	limited := httptest.NewServer(s.Handler())
	t.Cleanup(limited.Close)
	lts := &testServer{Server: limited, api: s, logs: ts.logs}
	wantError(t, lts.do(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", "", chunked{strings.NewReader(base + strings.Repeat("; padding\n", 10<<10))}), 413, "RequestEntityTooLarge")
	if after := export(t, ts, z.ID); after != before {
		t.Error("a rejected import changed the zone")
	}
}

func TestIntegrationCidrCollections(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	mirror := etcdstore.NewMirror()
	cidr := &etcdstore.CIDRTable{}
	ctx, cancel := context.WithCancel(context.Background())
	syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror, CIDR: cidr})
	done := make(chan struct{})
	go func() { defer close(done); syncer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	poll(t, "the mirror to sync", mirror.Synced)
	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror, CIDR: cidr})
	ts := newTestServer(t, Options{Store: store, Cidr: store})

	var coll zones.CidrCollection
	status := ts.doJSON(t, "POST", "/v1/cidrcollections", `{"name":"clients","locations":[{"name":"east","cidrs":["198.51.100.0/24"]},{"name":"west","cidrs":["203.0.113.7/24"]}]}`, &coll)
	if status != 201 || coll.ID == "" || coll.Locations[1].CIDRs[0] != "203.0.113.0/24" {
		t.Fatalf("create: %d %+v", status, coll)
	}
	if status := ts.doJSON(t, "POST", "/v1/cidrcollections", `{"name":"clients","locations":[{"name":"x","cidrs":["192.0.2.0/24"]}]}`, nil); status != 409 {
		t.Fatalf("duplicate name: %d", status)
	}
	if status := ts.doJSON(t, "POST", "/v1/cidrcollections", `{"name":"bad","locations":[{"name":"x","cidrs":["300.1.1.0/24"]}]}`, nil); status != 400 {
		t.Fatalf("bad block: %d", status)
	}
	if loc, bits, ok := cidr.Lookup(coll.ID, netip.MustParseAddr("203.0.113.9")); !ok || loc != "west" || bits != 24 {
		t.Fatalf("lookup: %s %d %v", loc, bits, ok)
	}
	// A record set routing to the collection keeps it from being deleted.
	z, _, err := store.CreateZone(context.Background(), zones.CreateZoneRequest{Name: "cidr.test"})
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(60)
	b := zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionCreate, RecordSet: zones.RecordSet{Name: "www.cidr.test", Type: "A", TTL: &ttl,
		Values: []string{"192.0.2.1"}, SetIdentifier: "east", CidrRouting: &zones.CidrRouting{CollectionID: coll.ID, LocationName: "nowhere"}}}}}
	if _, err := store.ChangeRecordSets(context.Background(), z.ID, b, ""); zones.CodeOf(err) != zones.CodeInvalidChangeBatch {
		t.Fatalf("unknown location: %v", err)
	}
	b.Changes[0].RecordSet.CidrRouting.LocationName = "east"
	if _, err := store.ChangeRecordSets(context.Background(), z.ID, b, ""); err != nil {
		t.Fatal(err)
	}
	if status := ts.doJSON(t, "DELETE", "/v1/cidrcollections/"+coll.ID, "", nil); status != 409 {
		t.Fatalf("delete in use: %d", status)
	}
	if status := ts.doJSON(t, "PUT", "/v1/cidrcollections/"+coll.ID, `{"locations":[{"name":"west","cidrs":["203.0.113.0/24"]}]}`, nil); status != 409 {
		t.Fatalf("removing a used location: %d", status)
	}
	var upd zones.CidrCollection
	if status := ts.doJSON(t, "PUT", "/v1/cidrcollections/"+coll.ID, `{"locations":[{"name":"east","cidrs":["198.51.0.0/16"]}]}`, &upd); status != 200 || upd.Version != 2 {
		t.Fatalf("update: %d %+v", status, upd)
	}
	if loc, bits, ok := cidr.Lookup(coll.ID, netip.MustParseAddr("198.51.7.1")); !ok || loc != "east" || bits != 16 {
		t.Fatalf("lookup after update: %s %d %v", loc, bits, ok)
	}
	b.Changes[0].Action = zones.ActionDelete
	if _, err := store.ChangeRecordSets(context.Background(), z.ID, b, ""); err != nil {
		t.Fatal(err)
	}
	if status := ts.doJSON(t, "DELETE", "/v1/cidrcollections/"+coll.ID, "", nil); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	if status := ts.doJSON(t, "GET", "/v1/cidrcollections/"+coll.ID, "", nil); status != 404 {
		t.Fatalf("get deleted: %d", status)
	}
}

// doJSON sends body (JSON text, "" for none) without a token and decodes a
// 2xx reply into out; it returns the status.
func (ts *testServer) doJSON(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := ts.do(t, method, path, "", rd)
	if out != nil && r.status/100 == 2 {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: %v; body %s", method, path, err, r.body)
		}
	}
	return r.status
}

func TestIntegrationAuditLog(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	mirror := etcdstore.NewMirror()
	ctx, cancel := context.WithCancel(context.Background())
	syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror})
	done := make(chan struct{})
	go func() { defer close(done); syncer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	poll(t, "the mirror to sync", mirror.Synced)
	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror})
	ts := newTestServer(t, Options{Store: store, Audit: store, Tokens: map[string]string{integrationToken: "alice"}})
	start := time.Now().UTC()

	z := createZone(t, ts, "audit.test", "")
	batch := `{"comment":"first","changes":[{"action":"CREATE","recordSet":{"name":"www.audit.test","type":"A","ttl":60,"values":["192.0.2.1"]}}]}`
	var ci changeInfoBody
	ts.call(t, "POST", "/v1/zones/"+z.ID+"/rrsets", strings.NewReader(batch), 200, &ci)
	ts.call(t, "POST", "/v1/zones/"+z.ID+"/rrsets", strings.NewReader(batch), 400, nil) // CREATE of an existing set
	ts.call(t, "PUT", "/v1/zones/"+z.ID+"/zonefile", strings.NewReader("$ORIGIN audit.test.\n@ 60 SOA ns h 5 1 1 1 1\n"), 200, nil)

	var list struct {
		Entries     []zones.AuditEntry `json:"entries"`
		IsTruncated bool               `json:"isTruncated"`
	}
	ts.call(t, "GET", "/v1/audit?since="+start.Format(time.RFC3339Nano), nil, 200, &list)
	if len(list.Entries) != 4 {
		t.Fatalf("%d audit entries, want 4: %+v", len(list.Entries), list.Entries)
	}
	ok, bad, imp := list.Entries[1], list.Entries[2], list.Entries[3]
	if ok.Who != "alice" || ok.Status != 200 || ok.ChangeID != ci.ChangeInfo.ID || ok.Route != "/v1/zones/:zoneId/rrsets" || !strings.Contains(string(ok.Request), `"first"`) {
		t.Fatalf("accepted batch entry: %+v", ok)
	}
	if bad.Status != 400 || bad.ErrorCode != zones.CodeInvalidChangeBatch || bad.ChangeID != "" {
		t.Fatalf("refused batch entry: %+v", bad)
	}
	if imp.Request != nil || imp.BodyBytes == 0 || imp.Method != "PUT" {
		t.Fatalf("zone file entry must record the size, not the file: %+v", imp)
	}
	ts.call(t, "GET", "/v1/audit?maxItems=1", nil, 200, &list)
	if len(list.Entries) != 1 || !list.IsTruncated {
		t.Fatalf("paging: %+v", list)
	}
	ts.call(t, "GET", "/v1/audit?since=yesterday", nil, 400, nil)
}

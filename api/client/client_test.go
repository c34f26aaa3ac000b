package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/healthdns/healthdns/zones"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "s3cret"

// newTestClient serves h on 127.0.0.1 and returns a client of it that sends
// the test token. Every request must carry that token.
func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("%s %s: Authorization = %q, want Bearer token", r.Method, r.URL.Path, got)
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return New(srv.URL+"/", token, hc)
}

func reply(t *testing.T, w http.ResponseWriter, status int, v any) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("encode reply: %v", err)
	}
}

func replyError(t *testing.T, w http.ResponseWriter, status int, code, msg string, msgs ...string) {
	t.Helper()
	body := map[string]any{"error": map[string]any{"code": code, "message": msg, "messages": msgs}}
	reply(t, w, status, body)
}

func expect(t *testing.T, r *http.Request, method, path string) {
	t.Helper()
	if r.Method != method || r.URL.Path != path {
		t.Errorf("request %s %s, want %s %s", r.Method, r.URL.Path, method, path)
	}
}

func decodeBody(t *testing.T, r *http.Request, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("decode request body: %v", err)
	}
}

var ctx = context.Background()

func TestCreateZone(t *testing.T) {
	in := zones.CreateZoneRequest{Name: "example.test", Comment: "c", CallerReference: "ref-1"}
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodPost, "/v1/zones")
		var got zones.CreateZoneRequest
		decodeBody(t, r, &got)
		if !reflect.DeepEqual(got, in) {
			t.Errorf("body = %+v, want %+v", got, in)
		}
		reply(t, w, http.StatusCreated, map[string]any{
			"id": "ZABC123", "name": "example.test.", "comment": "c", "nameServers": []string{"ns1.test."},
			"changeInfo": zones.ChangeInfo{ID: "CNEW1", Status: zones.StatusPending},
		})
	})
	z, ci, err := cl.CreateZone(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if z.ID != "ZABC123" || z.Name != "example.test." || len(z.NameServers) != 1 {
		t.Errorf("zone = %+v", z)
	}
	if ci == nil || ci.ID != "CNEW1" {
		t.Errorf("changeInfo = %+v", ci)
	}
}

func TestGetZoneAcceptsPrefixedID(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodGet, "/v1/zones/ZABC123")
		reply(t, w, http.StatusOK, zones.Zone{ID: "ZABC123", Name: "example.test."})
	})
	for _, id := range []string{"ZABC123", "/hostedzone/ZABC123"} {
		z, err := cl.GetZone(ctx, id)
		if err != nil || z.ID != "ZABC123" {
			t.Errorf("GetZone(%q) = %+v, %v", id, z, err)
		}
	}
}

// zonePages serves the given zones two per page with markers "1", "2", ...
func zonePages(t *testing.T, all []zones.Zone, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		expect(t, r, http.MethodGet, "/v1/zones")
		start := 0
		if m := r.URL.Query().Get("marker"); m != "" {
			fmt.Sscan(m, &start)
		}
		end := min(start+2, len(all))
		p := zones.ZonePage{Zones: all[start:end]}
		if end < len(all) {
			p.IsTruncated, p.NextMarker = true, fmt.Sprint(end)
		}
		reply(t, w, http.StatusOK, p)
	}
}

func TestListZonesQuery(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodGet, "/v1/zones")
		if q := r.URL.Query(); q.Get("marker") != "m1" || q.Get("maxItems") != "5" {
			t.Errorf("query = %v", q)
		}
		reply(t, w, http.StatusOK, zones.ZonePage{Zones: []zones.Zone{{ID: "ZA1"}}, IsTruncated: true, NextMarker: "m2"})
	})
	p, err := cl.ListZones(ctx, "m1", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Zones) != 1 || !p.IsTruncated || p.NextMarker != "m2" {
		t.Errorf("page = %+v", p)
	}
}

func TestAllZonesAndResolveZone(t *testing.T) {
	all := []zones.Zone{
		{ID: "ZA1", Name: "a.test."}, {ID: "ZB2", Name: "b.test."},
		{ID: "ZC3", Name: "example.test."}, {ID: "ZD4", Name: "d.test."}, {ID: "ZE5", Name: "e.test."},
	}
	var calls atomic.Int32
	cl := newTestClient(t, zonePages(t, all, &calls))

	got, err := cl.AllZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all) || calls.Load() != 3 {
		t.Errorf("AllZones = %v after %d calls, want all 5 zones after 3", got, calls.Load())
	}

	for _, tc := range []struct {
		in, want string
		calls    int32
	}{
		{"ZPASSTHROUGH1", "ZPASSTHROUGH1", 0},
		{"/hostedzone/ZX9", "ZX9", 0},
		{"example.test", "ZC3", 2},
		{"Example.TEST.", "ZC3", 2},
		{"e.test", "ZE5", 3},
	} {
		calls.Store(0)
		id, err := cl.ResolveZone(ctx, tc.in)
		if err != nil || id != tc.want || calls.Load() > tc.calls {
			t.Errorf("ResolveZone(%q) = %q, %v after %d calls; want %q after at most %d", tc.in, id, err, calls.Load(), tc.want, tc.calls)
		}
	}

	_, err = cl.ResolveZone(ctx, "nope.test")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != zones.CodeNoSuchHostedZone {
		t.Errorf("ResolveZone(unknown) error = %v, want 404 NoSuchHostedZone", err)
	}
	if !strings.Contains(err.Error(), "nope.test.") {
		t.Errorf("error %q does not name the zone", err)
	}
}

func TestIsZoneID(t *testing.T) {
	for s, want := range map[string]bool{
		"Z0123456789ABCDEF":  true,
		"/hostedzone/ZABC12": true,
		"Z":                  false,
		"example.test":       false,
		"Zeta.test":          false,
		"zabc123":            false,
		"CABC123":            false,
	} {
		if got := IsZoneID(s); got != want {
			t.Errorf("IsZoneID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestDeleteZone(t *testing.T) {
	var withBody bool
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodDelete, "/v1/zones/ZA1")
		if withBody {
			reply(t, w, http.StatusOK, map[string]any{"changeInfo": zones.ChangeInfo{ID: "CDEL1", Status: "PENDING"}})
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ci, err := cl.DeleteZone(ctx, "ZA1")
	if err != nil || ci != nil {
		t.Errorf("DeleteZone (empty reply) = %v, %v; want nil, nil", ci, err)
	}
	withBody = true
	ci, err = cl.DeleteZone(ctx, "/hostedzone/ZA1")
	if err != nil || ci == nil || ci.ID != "CDEL1" {
		t.Errorf("DeleteZone (changeInfo reply) = %+v, %v", ci, err)
	}
}

func TestDeleteZoneNotEmpty(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		replyError(t, w, http.StatusConflict, zones.CodeHostedZoneNotEmpty, "the zone has 3 record sets besides SOA and NS")
	})
	_, err := cl.DeleteZone(ctx, "ZA1")
	if ErrorCode(err) != zones.CodeHostedZoneNotEmpty {
		t.Errorf("error = %v, want HostedZoneNotEmpty", err)
	}
}

func TestChangeRecordSets(t *testing.T) {
	ttl, weight := int64(300), int64(10)
	batch := zones.ChangeBatch{Comment: "deploy", Changes: []zones.Change{
		{Action: zones.ActionUpsert, RecordSet: zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: &ttl,
			Values: []string{"192.0.2.1"}, SetIdentifier: "blue", Weight: &weight}},
		{Action: zones.ActionDelete, RecordSet: zones.RecordSet{Name: "old.example.test.", Type: "TXT", TTL: &ttl,
			Values: []string{`"v=1"`}}},
	}}
	submitted := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodPost, "/v1/zones/ZA1/rrsets")
		var got zones.ChangeBatch
		decodeBody(t, r, &got)
		if !reflect.DeepEqual(got, batch) {
			t.Errorf("batch = %+v, want %+v", got, batch)
		}
		reply(t, w, http.StatusOK, map[string]any{"changeInfo": zones.ChangeInfo{ID: "C1", Status: "PENDING", SubmittedAt: submitted, Comment: "deploy"}})
	})
	ci, err := cl.ChangeRecordSets(ctx, "ZA1", batch)
	if err != nil {
		t.Fatal(err)
	}
	want := zones.ChangeInfo{ID: "C1", Status: "PENDING", SubmittedAt: submitted, Comment: "deploy"}
	if *ci != want {
		t.Errorf("ChangeInfo = %+v, want %+v", *ci, want)
	}
}

func TestChangeRecordSetsInvalid(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		replyError(t, w, http.StatusBadRequest, zones.CodeInvalidChangeBatch, "2 changes are invalid",
			"change 1: www.example.test. A: bad IPv4 address \"x\"",
			"change 2: CNAME at the apex")
	})
	_, err := cl.ChangeRecordSets(ctx, "ZA1", zones.ChangeBatch{})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v, want *APIError", err, err)
	}
	if ae.Status != 400 || ae.Code != zones.CodeInvalidChangeBatch || len(ae.Messages) != 2 {
		t.Errorf("APIError = %+v", ae)
	}
	want := "InvalidChangeBatch: 2 changes are invalid\n" +
		"change 1: www.example.test. A: bad IPv4 address \"x\"\n" +
		"change 2: CNAME at the apex"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestNonJSONError(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down\nmore detail", http.StatusBadGateway)
	})
	_, err := cl.GetZone(ctx, "ZA1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != "" {
		t.Fatalf("error = %#v", err)
	}
	if got, want := err.Error(), "HTTP 502 Bad Gateway: upstream down ..."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestListRecordSetsAndEach(t *testing.T) {
	ttl := int64(60)
	all := []zones.RecordSet{
		{Name: "example.test.", Type: "NS", TTL: &ttl, Values: []string{"ns1.test."}},
		{Name: "example.test.", Type: "SOA", TTL: &ttl, Values: []string{"ns1.test. h.test. 1 2 3 4 5"}},
		{Name: "a.example.test.", Type: "A", TTL: &ttl, Values: []string{"192.0.2.1"}, SetIdentifier: "one"},
		{Name: "a.example.test.", Type: "A", TTL: &ttl, Values: []string{"192.0.2.2"}, SetIdentifier: "two"},
		{Name: "b.example.test.", Type: "A", TTL: &ttl, Values: []string{"192.0.2.3"}},
	}
	var calls atomic.Int32
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		expect(t, r, http.MethodGet, "/v1/zones/ZA1/rrsets")
		q := r.URL.Query()
		if q.Get("maxItems") != "2" {
			t.Errorf("maxItems = %q, want 2", q.Get("maxItems"))
		}
		start := 0
		for i, rs := range all {
			if rs.Name == q.Get("name") && rs.Type == q.Get("type") && rs.SetIdentifier == q.Get("identifier") {
				start = i
			}
		}
		end := min(start+2, len(all))
		p := zones.RecordSetPage{RecordSets: all[start:end]}
		if end < len(all) {
			n := all[end]
			p.IsTruncated, p.NextName, p.NextType, p.NextIdentifier = true, n.Name, n.Type, n.SetIdentifier
		}
		reply(t, w, http.StatusOK, p)
	})

	p, err := cl.ListRecordSets(ctx, "ZA1", zones.ListRecordSetsInput{Name: "a.example.test.", Type: "A", Identifier: "two", MaxItems: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RecordSets) != 2 || p.RecordSets[0].SetIdentifier != "two" || p.NextName != "" || p.IsTruncated {
		t.Errorf("page = %+v", p)
	}

	var got []zones.RecordSet
	calls.Store(0)
	err = cl.EachRecordSet(ctx, "ZA1", zones.ListRecordSetsInput{MaxItems: 2}, func(rs zones.RecordSet) bool {
		got = append(got, rs)
		return true
	})
	if err != nil || !reflect.DeepEqual(got, all) || calls.Load() != 3 {
		t.Errorf("EachRecordSet = %d sets, %v after %d calls; want 5 sets after 3", len(got), err, calls.Load())
	}

	// Stopping early reads no further page.
	calls.Store(0)
	n := 0
	err = cl.EachRecordSet(ctx, "ZA1", zones.ListRecordSetsInput{MaxItems: 2}, func(zones.RecordSet) bool {
		n++
		return n < 2
	})
	if err != nil || n != 2 || calls.Load() != 1 {
		t.Errorf("stopped EachRecordSet: %d sets, %v, %d calls; want 2 sets, 1 call", n, err, calls.Load())
	}
}

func TestGetChangeAndWait(t *testing.T) {
	var polls atomic.Int32
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodGet, "/v1/changes/C1")
		status := zones.StatusPending
		switch n := polls.Add(1); {
		case n == 2:
			replyError(t, w, http.StatusServiceUnavailable, zones.CodeServiceUnavailable, "etcd unreachable")
			return
		case n >= 4:
			status = zones.StatusInsync
		}
		reply(t, w, http.StatusOK, map[string]any{"changeInfo": zones.ChangeInfo{ID: "C1", Status: status}})
	})
	ci, err := cl.GetChange(ctx, "/change/C1")
	if err != nil || ci.Status != zones.StatusPending {
		t.Fatalf("GetChange = %+v, %v", ci, err)
	}
	ci, err = cl.WaitChange(ctx, "C1", time.Millisecond)
	if err != nil || ci.Status != zones.StatusInsync || polls.Load() != 4 {
		t.Errorf("WaitChange = %+v, %v after %d polls; want INSYNC after 4", ci, err, polls.Load())
	}
}

func TestWaitChangeStopsOnClientError(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		replyError(t, w, http.StatusNotFound, zones.CodeNoSuchChange, "no change C404")
	})
	_, err := cl.WaitChange(ctx, "C404", time.Millisecond)
	if ErrorCode(err) != zones.CodeNoSuchChange {
		t.Errorf("error = %v, want NoSuchChange", err)
	}
}

func TestWaitChangeDeadline(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		reply(t, w, http.StatusOK, map[string]any{"changeInfo": zones.ChangeInfo{ID: "C1", Status: zones.StatusPending}})
	})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	ci, err := cl.WaitChange(ctx, "C1", 5*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want DeadlineExceeded", err)
	}
	if ci == nil || ci.Status != zones.StatusPending {
		t.Errorf("last status = %+v, want PENDING", ci)
	}
}

func TestImportZoneFile(t *testing.T) {
	const zoneFile = "$ORIGIN example.test.\nwww 300 IN A 192.0.2.1\n"
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodPut, "/v1/zones/ZA1/zonefile")
		if ct := r.Header.Get("Content-Type"); ct != "text/dns" {
			t.Errorf("Content-Type = %q, want text/dns", ct)
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != zoneFile {
			t.Errorf("body = %q", b)
		}
		reply(t, w, http.StatusOK, map[string]any{"changeInfo": zones.ChangeInfo{ID: "CIMP", Status: zones.StatusPending}})
	})
	ci, err := cl.ImportZoneFile(ctx, "ZA1", strings.NewReader(zoneFile))
	if err != nil || ci.ID != "CIMP" {
		t.Errorf("ImportZoneFile = %+v, %v", ci, err)
	}
}

func TestImportZoneFileErrors(t *testing.T) {
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		replyError(t, w, http.StatusBadRequest, zones.CodeInvalidInput, "zone file has 1 bad line", "line 2: bad TTL")
	})
	_, err := cl.ImportZoneFile(ctx, "ZA1", strings.NewReader("x"))
	if err == nil || !strings.HasSuffix(err.Error(), "\nline 2: bad TTL") {
		t.Errorf("error = %v", err)
	}
}

func TestExportZoneFile(t *testing.T) {
	const zoneFile = "example.test. 3600 IN SOA ns1.test. h.test. 1 7200 900 1209600 86400\n"
	cl := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		expect(t, r, http.MethodGet, "/v1/zones/ZA1/zonefile")
		w.Header().Set("Content-Type", "text/dns")
		io.WriteString(w, zoneFile)
	})
	var b strings.Builder
	if err := cl.ExportZoneFile(ctx, "ZA1", &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != zoneFile {
		t.Errorf("export = %q", b.String())
	}
}

func TestNoTokenNoHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := r.Header["Authorization"]; ok {
			t.Errorf("Authorization sent without a token: %q", h)
		}
		if r.URL.Path != "/prefix/v1/zones/ZA1" {
			t.Errorf("path = %q", r.URL.Path)
		}
		reply(t, w, http.StatusOK, zones.Zone{ID: "ZA1"})
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	if _, err := New(srv.URL+"/prefix", "", hc).GetZone(ctx, "ZA1"); err != nil {
		t.Fatal(err)
	}
}

func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, "", nil).GetZone(ctx, "ZA1")
	var ae *APIError
	if err == nil || errors.As(err, &ae) {
		t.Errorf("error = %v, want a transport error", err)
	}
}

// FuzzDecodeError: any error reply becomes an *APIError with a first line
// that names the code or the status, never a panic.
func FuzzDecodeError(f *testing.F) {
	f.Add(500, `{"error":{"code":"InvalidInput","message":"m","messages":["a","b"]}}`)
	f.Add(502, "<html>bad gateway</html>")
	f.Add(404, "")
	f.Fuzz(func(t *testing.T, status int, body string) {
		resp := &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
		err := decodeError(resp)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != status {
			t.Fatalf("decodeError = %#v", err)
		}
		if first, _, _ := strings.Cut(err.Error(), "\n"); first == "" {
			t.Fatalf("empty first line for %q", body)
		}
	})
}

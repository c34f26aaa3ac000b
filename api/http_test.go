package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/healthdns/healthdns/internal/syncbuf"
	"github.com/healthdns/healthdns/zones"
)

// testServer runs the API over a fake store on 127.0.0.1:0.
type testServer struct {
	*httptest.Server
	store *fakeStore
	api   *Server
	logs  *syncbuf.Buffer
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	fs := &fakeStore{}
	if opts.Store == nil {
		opts.Store = fs
	}
	logs := &syncbuf.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: fs, api: s, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorBody(t *testing.T) errorDetail {
	t.Helper()
	var eb errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("status %d: body %q is not the error shape: %v", r.status, r.body, err)
	}
	if eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("status %d: error body %q lacks code or message", r.status, r.body)
	}
	return eb.Error
}

func (ts *testServer) do(t *testing.T, method, path, token string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// wantError checks the status and the error code of a response.
func wantError(t *testing.T, r response, status int, code string) errorDetail {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	e := r.errorBody(t)
	if e.Code != code {
		t.Fatalf("code %q, want %q; body %s", e.Code, code, r.body)
	}
	return e
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a Store: no error")
	}
	if _, err := New(Options{Store: &fakeStore{}, MaxBodyBytes: -1}); err == nil {
		t.Error("New with a negative limit: no error")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Store: &fakeStore{}, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Store: &fakeStore{}, Registerer: reg}); err == nil {
		t.Error("a second Server on the same registry: no error")
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, Options{
		Tokens:  map[string]string{"s3cret": "alice", "other-token": "bob", "unnamed": ""},
		Metrics: promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}),
	})
	for _, tc := range []struct {
		name, method, path, header string
		status                     int
	}{
		{"no header", "GET", "/v1/zones", "", 401},
		{"wrong token", "GET", "/v1/zones", "Bearer nope", 401},
		{"token prefix", "GET", "/v1/zones", "Bearer s3cre", 401},
		{"token longer", "GET", "/v1/zones", "Bearer s3cret2", 401},
		{"basic scheme", "GET", "/v1/zones", "Basic czNjcmV0", 401},
		{"empty bearer", "GET", "/v1/zones", "Bearer ", 401},
		{"unknown /v1 route", "GET", "/v1/nothing-here", "", 401},
		{"write without token", "POST", "/v1/zones", "", 401},
		{"good token", "GET", "/v1/zones", "Bearer s3cret", 200},
		{"scheme any case", "GET", "/v1/zones", "bearer other-token", 200},
		{"openapi is open", "GET", "/v1/openapi.json", "", 200},
		{"healthz is open", "GET", "/healthz", "", 200},
		{"readyz is open", "GET", "/readyz", "", 200},
		{"metrics is open", "GET", "/metrics", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(`{"name":"example.test"}`))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, b)
			}
			if tc.status == 401 {
				const want = `{"error":{"code":"Unauthorized","message":"missing or invalid bearer token"}}`
				if got := strings.TrimSpace(string(b)); got != want {
					t.Errorf("body %s, want %s", got, want)
				}
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
	if ts.store.lastCall().method == "CreateZone" {
		t.Error("an unauthenticated write reached the store")
	}

	// The token's name is who the store and the audit log see.
	for token, who := range map[string]string{"s3cret": "alice", "other-token": "bob", "unnamed": "anonymous"} {
		r := ts.do(t, "POST", "/v1/zones/"+testZoneID+"/rrsets", token, strings.NewReader(`{"changes":[]}`))
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := ts.store.lastCall().who; got != who {
			t.Errorf("token %q: store got who %q, want %q", token, got, who)
		}
	}
	if !strings.Contains(ts.logs.String(), "who=alice") {
		t.Errorf("audit log lacks who=alice:\n%s", ts.logs.String())
	}
	if strings.Contains(ts.logs.String(), "s3cret") {
		t.Error("a token appears in the log")
	}
}

func TestNoAuthIsAnonymous(t *testing.T) {
	ts := newTestServer(t, Options{})
	r := ts.do(t, "PUT", "/v1/zones/"+testZoneID+"/zonefile", "", strings.NewReader("$ORIGIN example.test.\n"))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := ts.store.lastCall().who; got != "anonymous" {
		t.Errorf("who %q, want anonymous", got)
	}
}

func TestStoreErrorStatuses(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, tc := range []struct {
		code   string
		status int
	}{
		{zones.CodeInvalidChangeBatch, 400},
		{zones.CodeInvalidInput, 400},
		{zones.CodePriorRequestNotComplete, 400},
		{zones.CodeNoSuchHostedZone, 404},
		{zones.CodeNoSuchChange, 404},
		{zones.CodeNoSuchHealthCheck, 404},
		{zones.CodeHostedZoneAlreadyExists, 409},
		{zones.CodeHostedZoneNotEmpty, 409},
		{zones.CodeHealthCheckAlreadyExists, 409},
		{zones.CodeHealthCheckInUse, 409},
		{zones.CodeThrottling, 429},
		{zones.CodeServiceUnavailable, 503},
	} {
		t.Run(tc.code, func(t *testing.T) {
			ts.store.setErr(fmt.Errorf("store: wrapped: %w", &zones.Error{
				Code: tc.code, Message: "the message", Messages: []string{"change 1: bad", "change 2: worse"},
				Err: errors.New("hidden cause"),
			}))
			r := ts.do(t, "GET", "/v1/zones/"+testZoneID, "", nil)
			e := wantError(t, r, tc.status, tc.code)
			if e.Message != "the message" || len(e.Messages) != 2 || e.Messages[1] != "change 2: worse" {
				t.Errorf("body %s", r.body)
			}
			if strings.Contains(string(r.body), "hidden cause") {
				t.Errorf("the cause leaked: %s", r.body)
			}
		})
	}

	for name, err := range map[string]error{
		"plain error":        errors.New("etcd: secret internal detail"),
		"unknown zones code": &zones.Error{Code: "SomethingNew", Message: "etcd: secret internal detail"},
	} {
		t.Run(name, func(t *testing.T) {
			ts.store.setErr(err)
			r := ts.do(t, "GET", "/v1/zones/"+testZoneID, "", nil)
			e := wantError(t, r, 500, "InternalError")
			if strings.Contains(e.Message, "secret") || strings.Contains(string(r.body), "messages") {
				t.Errorf("500 shows the cause: %s", r.body)
			}
			if !strings.Contains(ts.logs.String(), "secret internal detail") {
				t.Errorf("the cause was not logged:\n%s", ts.logs.String())
			}
		})
	}
}

func TestRouterErrors(t *testing.T) {
	ts := newTestServer(t, Options{})
	wantError(t, ts.do(t, "GET", "/v1/nothing", "", nil), 404, "NotFound")
	wantError(t, ts.do(t, "GET", "/elsewhere", "", nil), 404, "NotFound")
	// The wrong prefix is no id form: no route has the extra segment.
	wantError(t, ts.do(t, "GET", "/v1/zones/%2Fchange%2F"+testZoneID, "", nil), 404, "NotFound")
	r := ts.do(t, "PATCH", "/v1/zones", "", nil)
	wantError(t, r, 405, "MethodNotAllowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
	// Without Metrics the route does not exist.
	wantError(t, ts.do(t, "GET", "/metrics", "", nil), 404, "NotFound")
}

func TestIDForms(t *testing.T) {
	ts := newTestServer(t, Options{})
	const z, ch = testZoneID, testChangeID
	for _, tc := range []struct {
		method, path, wantCall, wantID string
	}{
		{"GET", "/v1/zones/" + z, "GetZone", z},
		{"GET", "/v1/zones/" + z + "/", "GetZone", z},
		{"GET", "/v1/zones/hostedzone/" + z, "GetZone", z},
		{"GET", "/v1/zones//hostedzone/" + z, "GetZone", z},
		{"GET", "/v1/zones/%2Fhostedzone%2F" + z, "GetZone", z},
		{"GET", "/v1/zones/hostedzone%2F" + z, "GetZone", z},
		{"DELETE", "/v1/zones/%2Fhostedzone%2F" + z, "DeleteZone", z},
		{"GET", "/v1/zones/hostedzone/" + z + "/rrsets", "ListRecordSets", z},
		{"GET", "/v1/zones/%2Fhostedzone%2F" + z + "/rrsets", "ListRecordSets", z},
		{"GET", "/v1/zones/%2Fhostedzone%2F" + z + "/zonefile", "ExportZoneFile", z},
		{"GET", "/v1/changes/" + ch, "GetChange", ch},
		{"GET", "/v1/changes/change/" + ch, "GetChange", ch},
		{"GET", "/v1/changes/%2Fchange%2F" + ch, "GetChange", ch},
		{"GET", "/v1/zones", "ListZones", ""},
		{"GET", "/v1/zones/", "ListZones", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ts.store.setErr(nil)
			ts.store.record(call{})
			r := ts.do(t, tc.method, tc.path, "", nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if c := ts.store.lastCall(); c.method != tc.wantCall || c.id != tc.wantID {
				t.Errorf("store call %s(%q), want %s(%q)", c.method, c.id, tc.wantCall, tc.wantID)
			}
		})
	}
	for _, path := range []string{
		"/v1/zones/z0123456789abcdef",       // lower case
		"/v1/zones/Z0123",                   // too short
		"/v1/zones/Z0123456789ABCDEFGHIJKL", // too long
		"/v1/zones/" + ch,                   // a change id
		"/v1/zones/Z0123456789ABCDE%21",
		"/v1/changes/" + z,
		"/v1/changes/%2Fhostedzone%2F" + ch,
		"/v1/zones/hostedzone/" + z + "x/rrsets",
	} {
		t.Run("bad "+path, func(t *testing.T) {
			ts.store.record(call{})
			e := wantError(t, ts.do(t, "GET", path, "", nil), 400, "InvalidInput")
			if !strings.Contains(e.Message, "Id") {
				t.Errorf("message %q does not name the id", e.Message)
			}
			if c := ts.store.lastCall(); c.method != "" {
				t.Errorf("the store was called: %+v", c)
			}
		})
	}
}

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/":                               "/",
		"/v1/zones":                       "/v1/zones",
		"/v1/zones/":                      "/v1/zones",
		"/v1/zones/hostedzone":            "/v1/zones/hostedzone",
		"/v1/zones/hostedzone/":           "/v1/zones/hostedzone",
		"/v1/zones//hostedzone/Z1/rrsets": "/v1/zones/Z1/rrsets",
		"/v1/changes/change/C1":           "/v1/changes/C1",
		"/v1/changes/hostedzone/C1":       "/v1/changes/hostedzone/C1",
		"/healthz/":                       "/healthz",
	} {
		if got, _ := canonicalPath(in); got != want {
			t.Errorf("canonicalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryValidation(t *testing.T) {
	ts := newTestServer(t, Options{})
	zr := "/v1/zones/" + testZoneID + "/rrsets"
	for _, tc := range []struct{ path, want string }{
		{"/v1/zones?maxItems=0", "maxItems"},
		{"/v1/zones?maxItems=101", "maxItems"},
		{"/v1/zones?maxItems=ten", "maxItems"},
		{"/v1/zones?maxItems=", "maxItems"},
		{"/v1/zones?maxitems=5", "maxitems"},
		{"/v1/zones?marker=a&marker=b", "marker"},
		{"/v1/zones?marker=%zz", "query"},
		{zr + "?maxItems=301", "maxItems"},
		{zr + "?maxItems=-1", "maxItems"},
		{zr + "?type=A", "type"},
		{zr + "?name=www.example.test&identifier=x", "identifier"},
		{zr + "?identifier=x", "identifier"},
		{zr + "?start=www", "start"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ts.store.record(call{})
			e := wantError(t, ts.do(t, "GET", tc.path, "", nil), 400, "InvalidInput")
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not name %q", e.Message, tc.want)
			}
			if c := ts.store.lastCall(); c.method != "" {
				t.Errorf("the store was called: %+v", c)
			}
		})
	}

	r := ts.do(t, "GET", "/v1/zones?marker=Z999&maxItems=100", "", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if c := ts.store.lastCall(); c.marker != "Z999" || c.max != 100 {
		t.Errorf("store got marker %q max %d", c.marker, c.max)
	}
	if want := `{"zones":[],"isTruncated":false}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("empty page %s, want %s", r.body, want)
	}
	ts.do(t, "GET", "/v1/zones", "", nil)
	if c := ts.store.lastCall(); c.max != 100 {
		t.Errorf("default maxItems %d, want 100", c.max)
	}

	r = ts.do(t, "GET", zr+"?name=WWW.example.test&type=A&identifier=one&maxItems=300", "", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := zones.ListRecordSetsInput{Name: "WWW.example.test", Type: "A", Identifier: "one", MaxItems: 300}
	if c := ts.store.lastCall(); c.list != want {
		t.Errorf("store got %+v, want %+v", c.list, want)
	}
	if !strings.Contains(string(r.body), `"recordSets":[]`) {
		t.Errorf("empty page %s", r.body)
	}
	ts.do(t, "GET", zr, "", nil)
	if c := ts.store.lastCall(); c.list.MaxItems != 300 {
		t.Errorf("default maxItems %d, want 300", c.list.MaxItems)
	}
}

func TestJSONErrors(t *testing.T) {
	ts := newTestServer(t, Options{})
	batch := "/v1/zones/" + testZoneID + "/rrsets"
	for _, tc := range []struct{ name, path, body, want string }{
		{"empty", "/v1/zones", "", "empty"},
		{"white space", "/v1/zones", "  \n", "empty"},
		{"syntax", "/v1/zones", `{"name": "a",}`, "offset 14"},
		{"truncated", "/v1/zones", `{"name": "a"`, "offset"},
		{"unknown field", "/v1/zones", `{"name":"a","nmae":"b"}`, `"nmae"`},
		{"wrong type", "/v1/zones", `{"name":5}`, `"name"`},
		{"not an object", "/v1/zones", `["a"]`, "array"},
		{"trailing data", "/v1/zones", `{"name":"a"} {"name":"b"}`, "after the JSON value"},
		{"trailing garbage", "/v1/zones", `{"name":"a"}x`, "after the JSON value"},
		{"nested unknown field", batch, `{"changes":[{"action":"CREATE","recordSet":{"name":"a","type":"A","tll":5}}]}`, `"tll"`},
		{"nested wrong type", batch, `{"changes":[{"action":"CREATE","recordSet":{"name":"a","type":"A","ttl":"5"}}]}`, "ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.store.record(call{})
			e := wantError(t, ts.do(t, "POST", tc.path, "", strings.NewReader(tc.body)), 400, "InvalidInput")
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not contain %q", e.Message, tc.want)
			}
			if c := ts.store.lastCall(); c.method != "" {
				t.Errorf("the store was called: %+v", c)
			}
		})
	}

	r := ts.do(t, "POST", "/v1/zones", "", strings.NewReader(`{"name":"Example.Test","comment":"c","callerReference":"r1"}`+"\n"))
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if loc := r.header.Get("Location"); loc != "/v1/zones/"+testZoneID {
		t.Errorf("Location %q", loc)
	}
	var got struct {
		zones.Zone
		ChangeInfo zones.ChangeInfo `json:"changeInfo"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || got.ID != testZoneID || got.ChangeInfo.ID != testChangeID {
		t.Errorf("body %s (%v)", r.body, err)
	}
	if c := ts.store.lastCall(); c.create.Name != "Example.Test" || c.create.CallerReference != "r1" {
		t.Errorf("store got %+v", c.create)
	}
}

// chunked hides the length of a body so only reading can find it too large.
type chunked struct{ io.Reader }

func TestBodyLimits(t *testing.T) {
	const jsonLimit, zoneLimit = 1 << 10, 4 << 10
	ts := newTestServer(t, Options{MaxBodyBytes: jsonLimit, MaxZoneFileBytes: zoneLimit})
	big := `{"comment":"` + strings.Repeat("x", jsonLimit) + `","changes":[]}`
	zr := "/v1/zones/" + testZoneID
	for _, tc := range []struct {
		name, method, path string
		body               io.Reader
		limit              int
	}{
		{"JSON with length", "POST", zr + "/rrsets", strings.NewReader(big), jsonLimit},
		{"JSON chunked", "POST", zr + "/rrsets", chunked{strings.NewReader(big)}, jsonLimit},
		{"zone with length", "POST", "/v1/zones", strings.NewReader(big), jsonLimit},
		{"zone file with length", "PUT", zr + "/zonefile", strings.NewReader(strings.Repeat(";\n", zoneLimit)), zoneLimit},
		{"zone file chunked", "PUT", zr + "/zonefile", chunked{strings.NewReader(strings.Repeat(";\n", zoneLimit))}, zoneLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, ts.do(t, tc.method, tc.path, "", tc.body), 413, "RequestEntityTooLarge")
			if !strings.Contains(e.Message, fmt.Sprint(tc.limit)) {
				t.Errorf("message %q does not say the limit %d", e.Message, tc.limit)
			}
		})
	}
	// A zone file may be larger than the JSON limit.
	zf := strings.Repeat(";\n", 2*jsonLimit/2+10)
	r := ts.do(t, "PUT", zr+"/zonefile", "", chunked{strings.NewReader(zf)})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := ts.store.lastCall().body; got != zf {
		t.Errorf("store got %d bytes, want %d", len(got), len(zf))
	}
	var ci changeInfoBody
	if err := json.Unmarshal(r.body, &ci); err != nil || ci.ChangeInfo.ID != testChangeID {
		t.Errorf("body %s (%v)", r.body, err)
	}
	if s, _ := New(Options{Store: &fakeStore{}}); s.opts.MaxBodyBytes != DefaultMaxBodyBytes || s.opts.MaxZoneFileBytes != DefaultMaxZoneFileBytes {
		t.Errorf("defaults %d, %d", s.opts.MaxBodyBytes, s.opts.MaxZoneFileBytes)
	}
}

func TestExportZoneFile(t *testing.T) {
	ts := newTestServer(t, Options{})
	path := "/v1/zones/" + testZoneID + "/zonefile"

	ts.store.export = "example.test. 300 IN A 192.0.2.1\n"
	r := ts.do(t, "GET", path, "", nil)
	if r.status != 200 || string(r.body) != ts.store.export || r.header.Get("Content-Type") != "text/dns" {
		t.Fatalf("status %d, Content-Type %q, body %q", r.status, r.header.Get("Content-Type"), r.body)
	}

	ts.store.export = ""
	r = ts.do(t, "GET", path, "", nil)
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "text/dns" {
		t.Fatalf("empty export: status %d, Content-Type %q, body %q", r.status, r.header.Get("Content-Type"), r.body)
	}

	ts.store.setErr(zones.Errorf(zones.CodeNoSuchHostedZone, "no hosted zone %s", testZoneID))
	wantError(t, ts.do(t, "GET", path, "", nil), 404, "NoSuchHostedZone")
	ts.store.setErr(nil)

	// An error after the first byte must not look like a complete file.
	ts.store.export = strings.Repeat("example.test. 300 IN A 192.0.2.1\n", 1000)
	ts.store.exportErr = errors.New("etcd went away")
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	resp, err := ts.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("an export that failed mid-stream read as complete")
	}
	if !strings.Contains(ts.logs.String(), "etcd went away") {
		t.Errorf("the failure was not logged:\n%s", ts.logs.String())
	}
}

func TestHealthAndReady(t *testing.T) {
	var mu sync.Mutex
	ready := false
	ts := newTestServer(t, Options{
		Ready:  func() bool { mu.Lock(); defer mu.Unlock(); return ready },
		Health: func() any { return map[string]string{"sync": "catching up"} },
	})
	wantError(t, ts.do(t, "GET", "/readyz", "", nil), 503, "ServiceUnavailable")
	mu.Lock()
	ready = true
	mu.Unlock()
	if r := ts.do(t, "GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("ready: status %d", r.status)
	}
	r := ts.do(t, "GET", "/healthz", "", nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"sync":"catching up"}` {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}

	plain := newTestServer(t, Options{})
	if r := plain.do(t, "GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("nil Ready: status %d", r.status)
	}
	if r := plain.do(t, "GET", "/healthz", "", nil); r.status != 200 || !strings.Contains(string(r.body), "ok") {
		t.Errorf("nil Health: %d %s", r.status, r.body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := newTestServer(t, Options{
		Registerer: reg,
		Tokens:     map[string]string{"t": "alice"},
		Metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	})
	ts.do(t, "GET", "/v1/zones/"+testZoneID, "t", nil)
	ts.do(t, "GET", "/v1/zones/"+testZoneID, "", nil)
	ts.do(t, "GET", "/v1/no/such/route/"+testZoneID, "t", nil)
	ts.do(t, "GET", "/v1/zones/hostedzone/"+testZoneID+"/nope", "t", nil)
	ts.do(t, "BREW", "/v1/zones", "t", nil)

	r := ts.do(t, "GET", "/metrics", "", nil)
	text := string(r.body)
	for _, want := range []string{
		`healthdns_api_requests_total{code="200",method="GET",route="/v1/zones/:zoneId"} 1`,
		`healthdns_api_requests_total{code="401",method="GET",route="/v1/zones/:zoneId"} 1`,
		`healthdns_api_requests_total{code="404",method="GET",route="unmatched"} 2`,
		`healthdns_api_requests_total{code="405",method="OTHER",route="/v1/zones"} 1`,
		`healthdns_api_request_duration_seconds_count{method="GET",route="/v1/zones/:zoneId"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, text)
		}
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestPanicIs500(t *testing.T) {
	ts := newTestServer(t, Options{Store: &panicStore{}})
	wantError(t, ts.do(t, "GET", "/v1/zones/"+testZoneID, "", nil), 500, "InternalError")
	if !strings.Contains(ts.logs.String(), "boom") {
		t.Errorf("the panic was not logged:\n%s", ts.logs.String())
	}
}

type panicStore struct{ fakeStore }

func (*panicStore) GetZone(ctx context.Context, id string) (zones.Zone, error) { panic("boom") }

func TestRateLimitPerClient(t *testing.T) {
	ts := newTestServer(t, Options{RateLimit: 1, RateBurst: 3, Tokens: map[string]string{"a": "alice", "b": "bob"}})
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		codes[ts.do(t, "GET", "/v1/zones", "a", nil).status]++
	}
	if codes[200] < 3 || codes[429] == 0 {
		t.Fatalf("alice's statuses: %v", codes)
	}
	r := ts.do(t, "GET", "/v1/zones", "a", nil)
	if r.status == 429 {
		if e := r.errorBody(t); e.Code != "Throttling" || r.header.Get("Retry-After") == "" {
			t.Fatalf("429 body %+v", e)
		}
	}
	// Another client is unaffected, and so are the health endpoints.
	if r := ts.do(t, "GET", "/v1/zones", "b", nil); r.status != 200 {
		t.Fatalf("bob: %d", r.status)
	}
	for i := 0; i < 10; i++ {
		if r := ts.do(t, "GET", "/healthz", "", nil); r.status != 200 {
			t.Fatalf("/healthz limited: %d", r.status)
		}
	}
}

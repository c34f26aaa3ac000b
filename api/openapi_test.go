package api

import (
	"encoding/json"
	"github.com/healthdns/healthdns/zones/etcdstore"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

type openAPIOperation struct {
	OperationID string                        `json:"operationId"`
	Parameters  []openAPIParameter            `json:"parameters"`
	Responses   map[string]json.RawMessage    `json:"responses"`
	Security    *[]map[string]json.RawMessage `json:"security"`
}

type openAPIParameter struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openAPIDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParameter `json:"parameters"`
	} `json:"components"`
}

var echoParam = regexp.MustCompile(`:([A-Za-z]+)`)

// TestOpenAPICoversRoutes fails when a /v1 route is missing from
// api/openapi.json, or the document has an operation no route serves.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc openAPIDocument
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	s, err := New(Options{Store: &fakeStore{}, HealthChecks: &fakeHealthChecks{}, Cidr: (*etcdstore.Store)(nil), Audit: (*etcdstore.Store)(nil)})
	if err != nil {
		t.Fatal(err)
	}

	routes := map[string]bool{} // "GET /v1/zones/{zoneId}"
	for _, r := range s.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		routes[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		var shared []openAPIParameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			if !routes[key] {
				t.Errorf("openapi.json documents %s, which no route serves", key)
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			checkOperation(t, key, path, op, append(shared, op.Parameters...), doc)
		}
	}
	for key := range routes {
		if !documented[key] {
			t.Errorf("route %s is missing from openapi.json", key)
		}
	}
	if len(routes) == 0 {
		t.Fatal("no /v1 routes registered")
	}
}

func checkOperation(t *testing.T, key, path string, op openAPIOperation, params []openAPIParameter, doc openAPIDocument) {
	t.Helper()
	if op.OperationID == "" {
		t.Errorf("%s has no operationId", key)
	}
	if len(op.Responses) == 0 {
		t.Errorf("%s has no responses", key)
	}
	var inPath []string
	for _, p := range params {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			p = doc.Components.Parameters[name]
		}
		if p.In == "path" {
			inPath = append(inPath, p.Name)
		}
	}
	for _, m := range regexp.MustCompile(`\{([A-Za-z]+)\}`).FindAllStringSubmatch(path, -1) {
		if !slices.Contains(inPath, m[1]) {
			t.Errorf("%s does not declare the path parameter %s", key, m[1])
		}
	}
	open := op.Security != nil && len(*op.Security) == 0
	if open != !needsAuth(path) {
		t.Errorf("%s: documented open=%v, server open=%v", key, open, !needsAuth(path))
	}
	if _, ok := op.Responses["401"]; !open && !ok {
		t.Errorf("%s needs a token but documents no 401", key)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t, Options{Tokens: map[string]string{"t": "a"}})
	r := ts.do(t, "GET", "/v1/openapi.json", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	if string(r.body) != string(openAPIDoc) {
		t.Error("served document differs from the embedded one")
	}
}

package healthcheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/healthdns/healthdns/zones"
)

// TestNormalizeBad runs testdata/badconfig/NAME.json, each of which must
// fail with InvalidInput and the text of NAME.err.
func TestNormalizeBad(t *testing.T) {
	files, err := filepath.Glob("testdata/badconfig/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			var cfg zones.HealthCheckConfig
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			_, err = Normalize(cfg)
			if zones.CodeOf(err) != zones.CodeInvalidInput {
				t.Fatalf("err = %v, want InvalidInput", err)
			}
			if w := strings.TrimSpace(string(want)); !strings.Contains(err.Error(), w) {
				t.Errorf("err = %q, want it to contain %q", err, w)
			}
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want zones.HealthCheckConfig
	}{
		{zones.HealthCheckConfig{Type: "http", IPAddress: "127.0.0.1"},
			zones.HealthCheckConfig{Type: TypeHTTP, IPAddress: "127.0.0.1", Port: 80, ResourcePath: "/", RequestInterval: 30, FailureThreshold: 3}},
		{zones.HealthCheckConfig{Type: "HTTPS_STR_MATCH", FullyQualifiedDomainName: "WWW.Example.TEST.", SearchString: "ok", EnableSNI: true, ResourcePath: "health"},
			zones.HealthCheckConfig{Type: TypeHTTPSStrMatch, FullyQualifiedDomainName: "www.example.test", SearchString: "ok", EnableSNI: true, Port: 443, ResourcePath: "/health", RequestInterval: 30, FailureThreshold: 3}},
		{zones.HealthCheckConfig{Type: "TCP", IPAddress: "::ffff:10.0.0.1", Port: 22, RequestInterval: 1, FailureThreshold: 10},
			zones.HealthCheckConfig{Type: TypeTCP, IPAddress: "10.0.0.1", Port: 22, RequestInterval: 1, FailureThreshold: 10}},
		{zones.HealthCheckConfig{Type: "CALCULATED", ChildHealthChecks: []string{"0B7E6A4E-7C1F-4A4E-9F2E-3D1C2B3A4F5E"}, HealthThreshold: 1, Inverted: true},
			zones.HealthCheckConfig{Type: TypeCalculated, ChildHealthChecks: []string{"0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5e"}, HealthThreshold: 1, Inverted: true}},
		{zones.HealthCheckConfig{Type: "ROUTING_CONTROL", Disabled: true},
			zones.HealthCheckConfig{Type: TypeRoutingControl, Disabled: true}},
	} {
		got, err := Normalize(tc.in)
		if err != nil {
			t.Errorf("Normalize(%+v): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Normalize(%+v)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
		again, err := Normalize(got)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Normalize is not idempotent on %+v: %+v, %v", got, again, err)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewID()
		if c, ok := CanonicalID(id); !ok || c != id {
			t.Fatalf("NewID %q is not canonical", id)
		}
		if id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("NewID %q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "Z0123456789ABCDEF", "0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5", "0b7e6a4e_7c1f-4a4e-9f2e-3d1c2b3a4f5e", "0b7e6a4e-7c1f-4a4e-9f2e-3d1c2b3a4f5g"} {
		if _, ok := CanonicalID(bad); ok {
			t.Errorf("CanonicalID(%q) accepted", bad)
		}
	}
}

// TestThreshold: failureThreshold consecutive results flip the state, in
// both directions; a result agreeing with the state resets the count.
func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		n       int
		results string // 'o' ok, 'x' failure
		want    string // state after each: 'H' healthy, 'U' unhealthy
	}{
		{1, "xoxo", "UHUH"},
		{3, "xxxooo", "HHUUUH"},
		{3, "xxoxxoxxx", "HHHHHHHHU"},
		{2, "xxoxooxo", "HUUUUHHH"},
		{10, "xxxxxxxxxx", "HHHHHHHHHU"},
	} {
		st := threshold{healthy: true}
		var got strings.Builder
		for _, r := range tc.results {
			if st.observe(r == 'o', tc.n) {
				got.WriteByte('H')
			} else {
				got.WriteByte('U')
			}
		}
		if got.String() != tc.want {
			t.Errorf("threshold %d, results %s: states %s, want %s", tc.n, tc.results, got.String(), tc.want)
		}
	}
}

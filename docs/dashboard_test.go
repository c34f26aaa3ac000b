package docs_test

// The Grafana dashboard may use only metrics healthdns exposes.

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestDashboardUsesOnlyOurMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	// Metric names appear as string literals: in Opts{Name: "..."} or NewDesc("...", ...).
	out, err := exec.Command("git", "grep", "-h", "-o", "-E", `(Name: +|NewDesc\()"healthdns_[a-z_]+"`, "--", "../*.go").Output()
	if err != nil {
		t.Skipf("git grep unavailable: %v", err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`healthdns_[a-z_]+`).FindAllString(string(out), -1) {
		known[m] = true
	}
	re := regexp.MustCompile(`healthdns_[a-z_]+`)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range re.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !known[base] {
					t.Errorf("dashboard uses %s, which no code registers", m)
				}
			}
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/healthdns/healthdns/api"
	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// hcStack is the real API with the real health check service, a Monitor and
// one Checker on embedded etcd.
type hcStack struct {
	url, token string
}

func startHealthCheckStack(t *testing.T) *hcStack {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	store, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: healthcheck.DefaultQuorum})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := healthcheck.NewChecker(healthcheck.CheckerOptions{Client: cli, NodeID: "cli-node", Region: "test-region"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := healthcheck.NewService(store, mon)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { mon.Run(ctx); done <- struct{}{} }()
	go func() { checker.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	srv, err := api.New(api.Options{
		Store:        etcdstore.New(etcdstore.Options{Client: cli, Mirror: etcdstore.NewMirror()}),
		HealthChecks: svc,
		Tokens:       map[string]string{"hc-token": "tester"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &hcStack{url: hs.URL, token: "hc-token"}
}

func (s *hcStack) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	env := map[string]string{"HEALTHDNS_API": s.url, "HEALTHDNS_TOKEN": s.token}
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, poll: time.Millisecond}
	code := c.run(args)
	return result{code, out.String(), errb.String()}
}

func TestHealthCheckCLI(t *testing.T) {
	s := startHealthCheckStack(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(be.Close)
	host, port, _ := net.SplitHostPort(be.Listener.Addr().String())

	r := s.run(t, "", "healthcheck", "create", "--type", "HTTP", "--ip", host, "--port", port, "--interval", "1",
		"--failure-threshold", "1", "--caller-reference", "cli-1", "--json")
	r.want(t, 0)
	var hc client.HealthCheck
	if err := json.Unmarshal([]byte(r.stdout), &hc); err != nil || hc.Config.ResourcePath != "/" || hc.Version != 1 {
		t.Fatalf("create output %q: %v", r.stdout, err)
	}
	// The same request again is the same check; another config is refused.
	r = s.run(t, "", "healthcheck", "create", "--type", "HTTP", "--ip", host, "--port", port, "--interval", "1",
		"--failure-threshold", "1", "--caller-reference", "cli-1")
	if r.want(t, 0); !strings.Contains(r.stdout, hc.ID) {
		t.Errorf("retry output %q lacks %s", r.stdout, hc.ID)
	}
	r = s.run(t, "", "healthcheck", "create", "--type", "TCP", "--ip", host, "--port", port, "--caller-reference", "cli-1")
	if r.want(t, 1); !strings.Contains(r.stderr, "HealthCheckAlreadyExists") {
		t.Errorf("stderr %q", r.stderr)
	}
	// A config from standard input.
	r = s.run(t, `{"type":"ROUTING_CONTROL"}`, "healthcheck", "create", "--config", "-", "--json")
	r.want(t, 0)
	var rc client.HealthCheck
	if err := json.Unmarshal([]byte(r.stdout), &rc); err != nil || rc.RoutingControlState != "ON" {
		t.Fatalf("routing control %q: %v", r.stdout, err)
	}

	r = s.run(t, "", "healthcheck", "list")
	r.want(t, 0)
	if !strings.Contains(r.stdout, hc.ID) || !strings.Contains(r.stdout, rc.ID) || !strings.Contains(r.stdout, "routing control ON") ||
		!strings.Contains(r.stdout, host+":"+port+"/") {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = s.run(t, "", "healthcheck", "get", hc.ID)
	if r.want(t, 0); !strings.Contains(r.stdout, "TYPE:") || !strings.Contains(r.stdout, "cli-1") {
		t.Errorf("get:\n%s", r.stdout)
	}

	// Status: the checker's observation shows up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = s.run(t, "", "healthcheck", "status", hc.ID)
		r.want(t, 0)
		if strings.Contains(r.stdout, "cli-node") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no observation in status:\n%s", r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(r.stdout, "STATUS: HEALTHY") || !strings.Contains(r.stdout, "test-region") ||
		!strings.Contains(r.stdout, "Success: HTTP Status Code 200, OK") {
		t.Errorf("status:\n%s", r.stdout)
	}

	r = s.run(t, "", "healthcheck", "routingcontrol", rc.ID, "off")
	if r.want(t, 0); !strings.Contains(r.stdout, "is OFF") {
		t.Errorf("routingcontrol: %q", r.stdout)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		r = s.run(t, "", "healthcheck", "status", rc.ID, "--json")
		r.want(t, 0)
		var st client.HealthCheckStatus
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatal(err)
		}
		if st.Status == "UNHEALTHY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("routing control OFF: status %s", r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r = s.run(t, "", "healthcheck", "routingcontrol", hc.ID, "OFF")
	if r.want(t, 1); !strings.Contains(r.stderr, "InvalidInput") {
		t.Errorf("routingcontrol of an HTTP check: %q", r.stderr)
	}

	s.run(t, "", "healthcheck", "delete", hc.ID).want(t, 0)
	r = s.run(t, "", "healthcheck", "get", hc.ID)
	if r.want(t, 1); !strings.Contains(r.stderr, "NoSuchHealthCheck") {
		t.Errorf("get after delete: %q", r.stderr)
	}
}

func TestHealthCheckCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"healthcheck"}, "missing subcommand"},
		{[]string{"healthcheck", "frob"}, `unknown subcommand "frob"`},
		{[]string{"healthcheck", "create"}, "--type is required"},
		{[]string{"healthcheck", "create", "--type", "TCP", "--config", "-"}, "not both"},
		{[]string{"healthcheck", "get"}, "missing arguments"},
		{[]string{"healthcheck", "routingcontrol", "x", "MAYBE"}, "want ON or OFF"},
		{[]string{"healthcheck", "status", "a", "b"}, "unexpected argument"},
	} {
		runCLI(t, nil, "", tc.args...).wantUsage(t, tc.msg)
	}
	r := runCLI(t, nil, "", "healthcheck", "help")
	if r.want(t, 0); !strings.Contains(r.stdout, "healthdns healthcheck routingcontrol ID ON|OFF") {
		t.Errorf("help:\n%s", r.stdout)
	}
	r = runCLI(t, nil, "", "healthcheck", "create", "-h")
	if r.want(t, 0); !strings.Contains(r.stdout, "-failure-threshold") {
		t.Errorf("create -h:\n%s", r.stdout)
	}
}

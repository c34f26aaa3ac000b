package route53_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/api"
	"github.com/healthdns/healthdns/api/route53"
	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcdtest"
	"github.com/healthdns/healthdns/internal/syncbuf"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// The tests in this package run the whole API (/v1 and /2013-04-01/) over
// the real store on a real embedded etcd, with a DNS responder fed by the
// same syncer, through real servers on 127.0.0.1:0, and drive the Route 53
// side with the AWS SDK's own client.

var _ route53.Store = (*etcdstore.Store)(nil)

// Test keys. The second pair is for the tests that sign with a wrong secret.
const (
	testKeyID   = "AKIDHEALTHDNSTEST01"
	testSecret  = "c2VjcmV0LWtleS1mb3ItaGVhbHRoZG5zLXRlc3Rz"
	testKeyName = "sdk-tester"
	v1Token     = "v1-token"
)

// stack is one node: etcd, syncer, store, DNS responder and the API.
type stack struct {
	url   string
	dns   string // DNS responder address
	store *etcdstore.Store
	logs  *syncbuf.Buffer
	h     *route53.Handler
}

type stackOptions struct {
	creds route53.Credentials // nil: the test keys
	open  bool                // no credentials at all: unsigned requests pass
	now   func() time.Time
	// noAnswerer leaves TestDNSAnswer unserved.
	noAnswerer bool
}

func startStack(t *testing.T, so stackOptions) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded etcd: not in -short")
	}
	_, cli := etcdtest.Start(t)
	mirror := etcdstore.NewMirror()
	table := dnsserver.NewTable()
	ctx, cancel := context.WithCancel(context.Background())
	node := etcdstore.NewNode(etcdstore.NodeOptions{Client: cli, NodeID: "route53-test"})
	syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{Client: cli, Mirror: mirror,
		OnDelta:    func(_ int64, d []zones.ZoneDelta) { table.Apply(d) },
		OnRevision: node.Serving})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); syncer.Run(ctx) }()
	go func() { defer wg.Done(); node.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	poll(t, "the mirror to sync", mirror.Synced)

	dnsSrv, err := dnsserver.New(dnsserver.Options{Addr: "127.0.0.1:0", Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := dnsSrv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dnsSrv.Shutdown(context.Background()) })

	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror,
		NameServers: []string{"ns1.example.net", "ns2.example.net"}})
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	creds := so.creds
	if creds == nil && !so.open {
		creds = route53.Credentials{testKeyID: {AccessKeyID: testKeyID, SecretAccessKey: testSecret, Name: testKeyName}}
	}
	hcs := startHealthChecks(t, cli)
	var answerer route53.DNSAnswerer = table
	if so.noAnswerer {
		answerer = nil
	}
	h, err := route53.New(route53.Options{Store: store, HealthChecks: hcs, Credentials: creds, Audit: store, Answerer: answerer,
		Logger: logger.With("part", "route53"), Now: so.now})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv, err := api.New(api.Options{Store: store, HealthChecks: hcs, Audit: store, Logger: logger.With("part", "api"),
		Tokens: map[string]string{v1Token: "v1-tester"}, Route53: h})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apiSrv.Handler())
	t.Cleanup(srv.Close)
	return &stack{url: srv.URL, dns: dnsSrv.Addr(), store: store, logs: logs, h: h}
}

// client returns an SDK client of the stack, signing with keyID and secret
// in region.
func (s *stack) client(t *testing.T, keyID, secret, region string) *awsr53.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 30 * time.Second},
		RetryMaxAttempts: 1,
	}
	return awsr53.NewFromConfig(cfg, func(o *awsr53.Options) { o.BaseEndpoint = aws.String(s.url) })
}

func (s *stack) sdk(t *testing.T) *awsr53.Client {
	return s.client(t, testKeyID, testSecret, "us-east-1")
}

// v1 calls the JSON API and decodes a reply of wantStatus into out.
func (s *stack) v1(t *testing.T, method, path string, body any, wantStatus int, out any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v1Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v; body %s", method, path, err, b)
		}
	}
	return b
}

// raw sends an unsigned request to the stack.
func (s *stack) raw(t *testing.T, method, path string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// dig asks the stack's DNS responder and returns the answer's record data
// of type qtype, sorted, and the rcode.
func (s *stack) dig(t *testing.T, name string, qtype uint16) ([]string, int) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, s.dns)
	if err != nil {
		t.Fatalf("dig %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, zones.RdataString(rr))
		}
	}
	sort.Strings(out)
	return out, r.Rcode
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

// startHealthChecks runs the health check service /v1 uses, with a checker
// and a monitor, as a node with all roles does.
func startHealthChecks(t *testing.T, cli *clientv3.Client) *healthcheck.Service {
	t.Helper()
	store, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: healthcheck.DefaultQuorum})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := healthcheck.NewChecker(healthcheck.CheckerOptions{Client: cli, NodeID: "route53-test", Region: "test-region",
		LeaseTTL: 2 * time.Second, ConnectTimeout: time.Second, ResponseTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); mon.Run(ctx) }()
	go func() { defer wg.Done(); checker.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	poll(t, "the health monitor to sync", mon.Synced)
	svc, err := healthcheck.NewService(store, mon)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

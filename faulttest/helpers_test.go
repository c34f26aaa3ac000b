package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/internal/clustertest"
	"github.com/healthdns/healthdns/zones"
)

const zoneName = "example.test."

const zoneFile = `$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 2024 7200 900 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.1
`

// fixture is an etcd cluster, healthdns nodes on it, and a zone they serve.
type fixture struct {
	etcd   *clustertest.Etcd
	nodes  []*clustertest.Node
	zoneID string
}

// setup starts a 3-member etcd cluster and n DNS+API nodes on it, creates
// example.test with www A 192.0.2.1 and waits until every node answers it.
func setup(t *testing.T, n int) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests start etcd clusters and healthdns processes; not in -short")
	}
	f := &fixture{etcd: clustertest.StartEtcd(t, clustertest.EtcdOptions{})}
	for i := range n {
		f.nodes = append(f.nodes, clustertest.StartNode(t, clustertest.NodeOptions{
			Name: fmt.Sprintf("dns-%c", 'a'+i), Endpoints: f.etcd.Endpoints(),
		}))
	}
	f.zoneID = createZone(t, f.nodes[0].Client, f.nodes...)
	return f
}

// createZone creates example.test through c, imports zoneFile and waits
// until each node answers www.
func createZone(t *testing.T, c *client.Client, nodes ...*clustertest.Node) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	z, _, err := c.CreateZone(ctx, zones.CreateZoneRequest{Name: zoneName})
	if err != nil {
		t.Fatalf("create zone: %v", err)
	}
	if _, err := c.ImportZoneFile(ctx, z.ID, strings.NewReader(zoneFile)); err != nil {
		t.Fatalf("import: %v", err)
	}
	for _, n := range nodes {
		clustertest.WaitFor(t, 10*time.Second, "www on "+n.Name, func() bool {
			r, err := clustertest.Query(n.DNSAddr, "www."+zoneName, dns.TypeA, time.Second)
			return err == nil && checkWWW(r) == nil
		})
	}
	return z.ID
}

// checkWWW accepts the one right answer to www.example.test A.
func checkWWW(r *dns.Msg) error {
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
		return fmt.Errorf("www: %s aa=%v answers=%d", dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
	}
	if a, ok := r.Answer[0].(*dns.A); !ok || a.A.String() != "192.0.2.1" {
		return fmt.Errorf("www: wrong answer %s", r.Answer[0])
	}
	return nil
}

// wwwLoop queries www.example.test A on the nodes until Stop.
func wwwLoop(nodes ...*clustertest.Node) *clustertest.QueryLoop {
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.DNSAddr)
	}
	return clustertest.StartQueryLoop(clustertest.QueryLoopOptions{Addrs: addrs, Name: "www." + zoneName, Type: dns.TypeA, Check: checkWWW})
}

// requireNoFailedQueries fails the test if any query in stats failed.
func requireNoFailedQueries(t *testing.T, stats map[string]clustertest.QueryStats, nodes ...*clustertest.Node) {
	t.Helper()
	for _, n := range nodes {
		st := stats[n.DNSAddr]
		t.Logf("DNS %s (%s): %s", n.Name, n.DNSAddr, st)
		if st.OK == 0 {
			t.Errorf("DNS %s: no query answered", n.Name)
		}
		if st.Failed > 0 {
			t.Errorf("DNS %s: %d queries failed, first: %s", n.Name, st.Failed, strings.Join(st.Failures, "; "))
		}
	}
}

var ttl60 = int64(60)

// txtBatch upserts name TXT "value".
func txtBatch(name, value string) zones.ChangeBatch {
	return zones.ChangeBatch{Changes: []zones.Change{{Action: zones.ActionUpsert,
		RecordSet: zones.RecordSet{Name: name, Type: "TXT", TTL: &ttl60, Values: []string{`"` + value + `"`}}}}}
}

// upsertTXT writes name TXT "value" through c, bounded by d.
func upsertTXT(c *client.Client, zoneID, name, value string, d time.Duration) (*zones.ChangeInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.ChangeRecordSets(ctx, zoneID, txtBatch(name, value))
}

// mustUpsertTXT writes name TXT "value", retrying while the API answers
// 5xx, for up to d.
func mustUpsertTXT(t *testing.T, c *client.Client, zoneID, name, value string, d time.Duration) *zones.ChangeInfo {
	t.Helper()
	var ci *zones.ChangeInfo
	var err error
	deadline := time.Now().Add(d)
	for {
		if ci, err = upsertTXT(c, zoneID, name, value, 15*time.Second); err == nil {
			return ci
		}
		if time.Now().After(deadline) {
			t.Fatalf("write %s TXT %s: %v", name, value, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hasTXT reports whether the node answers name TXT "value".
func hasTXT(n *clustertest.Node, name, value string) bool {
	r, err := clustertest.Query(n.DNSAddr, name, dns.TypeTXT, time.Second)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return false
	}
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && len(txt.Txt) == 1 && txt.Txt[0] == value {
			return true
		}
	}
	return false
}

// waitServed waits until every node answers name TXT "value" and returns
// how long that took.
func waitServed(t *testing.T, d time.Duration, name, value string, nodes ...*clustertest.Node) time.Duration {
	t.Helper()
	start := time.Now()
	for _, n := range nodes {
		clustertest.WaitFor(t, d-time.Since(start), fmt.Sprintf("%s TXT %q on %s", name, value, n.Name), func() bool { return hasTXT(n, name, value) })
	}
	return time.Since(start)
}

// listedTXT returns the TXT record sets the node's API lists in the zone,
// name -> first value.
func listedTXT(t *testing.T, n *clustertest.Node, zoneID string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]string{}
	err := n.Client.EachRecordSet(ctx, zoneID, zones.ListRecordSetsInput{}, func(rs zones.RecordSet) bool {
		if rs.Type == "TXT" && len(rs.Values) > 0 {
			out[rs.Name] = rs.Values[0]
		}
		return true
	})
	if err != nil {
		t.Fatalf("list record sets on %s: %v", n.Name, err)
	}
	return out
}

// rawWrite posts a change batch with plain HTTP, so that the test sees the
// status, content type and body as any client would.
type rawReply struct {
	status      int
	contentType string
	body        []byte
	took        time.Duration
}

func rawWrite(t *testing.T, n *clustertest.Node, token, zoneID, name, value string, d time.Duration) rawReply {
	t.Helper()
	body, _ := json.Marshal(txtBatch(name, value))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", n.API+"/v1/zones/"+zoneID+"/rrsets", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawReply{took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return rawReply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b, took: time.Since(start)}
}

// checkUnavailable checks a reply is 503 with the API's JSON error shape
// and code ServiceUnavailable.
func checkUnavailable(r rawReply) error {
	if r.status != http.StatusServiceUnavailable {
		return fmt.Errorf("status %d, want 503: %s", r.status, r.body)
	}
	if !strings.HasPrefix(r.contentType, "application/json") {
		return fmt.Errorf("content type %q, want application/json", r.contentType)
	}
	var e struct {
		Error *struct {
			Code     string   `json:"code"`
			Message  string   `json:"message"`
			Messages []string `json:"messages"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil {
		return fmt.Errorf("body is not {\"error\":{...}}: %s", r.body)
	}
	if e.Error.Code != zones.CodeServiceUnavailable || e.Error.Message == "" {
		return fmt.Errorf("error code %q message %q, want ServiceUnavailable and a message", e.Error.Code, e.Error.Message)
	}
	return nil
}

// waitUnavailable writes through n until the API answers 503
// ServiceUnavailable (within d) and returns that reply.
func waitUnavailable(t *testing.T, n *clustertest.Node, token, zoneID string, d time.Duration) rawReply {
	t.Helper()
	var last rawReply
	i := 0
	clustertest.WaitFor(t, d, "API writes on "+n.Name+" to answer 503", func() bool {
		i++
		last = rawWrite(t, n, token, zoneID, fmt.Sprintf("outage%d.%s", i, zoneName), "x", 20*time.Second)
		if last.status == 200 {
			return false
		}
		return checkUnavailable(last) == nil
	})
	return last
}

// waitHealth polls n's /healthz until cond holds (within d).
func waitHealth(t *testing.T, n *clustertest.Node, d time.Duration, what string, cond func(clustertest.Health) bool) clustertest.Health {
	t.Helper()
	var h clustertest.Health
	clustertest.WaitFor(t, d, n.Name+" /healthz: "+what, func() bool {
		var err error
		h, err = n.Healthz()
		return err == nil && cond(h)
	})
	return h
}

// batchLoop sends change batches one after another, alternating between
// nodes, and retries a failed batch like a careful client: after a second,
// up to maxAttempts in all.
type batchLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	// Record names; each batch upserts NAME TXT "<first label of NAME>".
	ok      []string // answered 200 (possibly after a retry)
	failed  []string // never answered 200
	retries []string // a failure that a retry cured: "name: error"
}

const maxAttempts = 2

func startBatchLoop(zoneID string, nodes ...*clustertest.Node) *batchLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &batchLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; ctx.Err() == nil; i++ {
			n := nodes[i%len(nodes)]
			label := fmt.Sprintf("b%04d", i)
			name := label + "." + zoneName
			var errs []string
			ok := false
			for attempt := 1; attempt <= maxAttempts && !ok; attempt++ {
				if attempt > 1 {
					time.Sleep(time.Second)
				}
				_, err := upsertTXT(n.Client, zoneID, name, label, 20*time.Second)
				if err == nil {
					ok = true
				} else {
					errs = append(errs, fmt.Sprintf("%s via %s attempt %d at %s: %v", name, n.Name, attempt, time.Now().Format("15:04:05.000"), err))
				}
			}
			l.mu.Lock()
			switch {
			case ok:
				l.ok = append(l.ok, name)
				l.retries = append(l.retries, errs...)
			default:
				l.failed = append(l.failed, strings.Join(errs, "; "))
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// count returns how many batches were answered 200 so far.
func (l *batchLoop) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ok)
}

func (l *batchLoop) stop() {
	l.cancel()
	<-l.done
}

// readyLoop polls the nodes' /readyz every 100ms until stop and counts the
// answers that were not 200.
type readyLoop struct {
	stopc    chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	polls    int
	notReady map[string]int
}

func startReadyLoop(nodes ...*clustertest.Node) *readyLoop {
	l := &readyLoop{stopc: make(chan struct{}), done: make(chan struct{}), notReady: map[string]int{}}
	go func() {
		defer close(l.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			for _, n := range nodes {
				ok := n.Ready()
				l.mu.Lock()
				l.polls++
				if !ok {
					l.notReady[n.Name]++
				}
				l.mu.Unlock()
			}
			select {
			case <-l.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return l
}

// stop ends the loop and fails the test if a node was ever not ready.
func (l *readyLoop) stop(t *testing.T) {
	t.Helper()
	close(l.stopc)
	<-l.done
	t.Logf("/readyz polled %d times", l.polls)
	for name, n := range l.notReady {
		t.Errorf("%s: /readyz was not 200 %d times while the node served its snapshot", name, n)
	}
}

// waitServedWithin reports whether every node answers name TXT "value"
// within d.
func waitServedWithin(d time.Duration, name, value string, nodes ...*clustertest.Node) bool {
	return waitFor(d, func() bool {
		for _, n := range nodes {
			if !hasTXT(n, name, value) {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond every 50ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

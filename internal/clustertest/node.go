package clustertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/healthdns/healthdns/api/client"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{} // package -> binary
)

// Binary builds cmd/healthdns once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	return Build(t, "github.com/healthdns/healthdns/cmd/healthdns")
}

// Build builds the command pkg (an import path in this module, e.g.
// github.com/healthdns/healthdns/cmd/dnsload) once per test binary and
// returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "healthdns-clustertest")
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
		buildDir = d
	}
	p := filepath.Join(buildDir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", p, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("clustertest: go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = p
	return p
}

// Main runs the tests, removes the binary Binary built and, when they
// passed, checks that they leaked no goroutine; call it from TestMain:
// os.Exit(clustertest.Main(m)).
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if code == 0 {
		// Keep-alive connections of the HTTP clients are not leaks.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "clustertest: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	return code
}

// NodeOptions configure a healthdns serve process.
type NodeOptions struct {
	// Name is the node id (--node-id) and the label in test logs.
	Name string
	// Roles is --roles (default "dns,api").
	Roles string
	// Endpoints are the etcd client URLs (--etcd-endpoints); required.
	Endpoints []string
	// DataDir is --data-dir (default: a fresh t.TempDir()).
	DataDir string
	// DNSAddr and APIAddr default to free loopback ports (or, with NetNS,
	// to the namespace's NodeIP on ports 5300 and 8053).
	DNSAddr, APIAddr string
	// NetNS runs the node inside this network namespace.
	NetNS *NetNS
	// Token, if set, is written to a --api-token-file (and, as the secret
	// key of AKIDCLUSTERTEST, to a --route53-credentials-file) and sent by
	// Client. Required with NetNS: the API then listens on a non-loopback
	// address.
	Token string
	// NodeTTL is --node-ttl (default 2s, so a killed node stops counting
	// for INSYNC quickly).
	NodeTTL time.Duration
	// Args are further serve flags.
	Args []string
	// NoWait returns as soon as the process started, without waiting for
	// /readyz.
	NoWait bool
}

// Node is one `healthdns serve` process.
type Node struct {
	Name    string
	DNSAddr string // host:port, UDP and TCP
	API     string // base URL, http://host:port
	DataDir string
	Client  *client.Client
	opts    NodeOptions
	args    []string
	out     *logBuffer
	mu      sync.Mutex
	p       *proc
}

// StartNode starts a healthdns node and waits until its /readyz answers
// 200 (unless o.NoWait). A port taken by another process meanwhile is
// retried on fresh ports.
func StartNode(t testing.TB, o NodeOptions) *Node {
	t.Helper()
	bin := Binary(t)
	if o.Roles == "" {
		o.Roles = "dns,api"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.NodeTTL == 0 {
		o.NodeTTL = 2 * time.Second
	}
	if o.Name == "" {
		o.Name = fmt.Sprintf("node-%d", time.Now().UnixNano()%100000)
	}
	if len(o.Endpoints) == 0 {
		t.Fatal("clustertest: NodeOptions.Endpoints is empty (this harness runs nodes on an external etcd)")
	}
	if o.NetNS != nil {
		if o.Token == "" {
			t.Fatal("clustertest: a node in a network namespace serves its API on a non-loopback address and needs a Token")
		}
		if o.DNSAddr == "" {
			o.DNSAddr = o.NetNS.NodeIP + ":5300"
		}
		if o.APIAddr == "" {
			o.APIAddr = o.NetNS.NodeIP + ":8053"
		}
	}
	fixedAddrs := o.DNSAddr != "" || o.APIAddr != ""
	n := &Node{Name: o.Name, DataDir: o.DataDir, opts: o, out: &logBuffer{}}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() || os.Getenv(LogsEnv) != "" {
			t.Logf("healthdns node %s (dns %s, api %s) output:\n%s", n.Name, n.DNSAddr, n.API, n.out.tail(16<<10))
		}
	})
	for attempt := 1; ; attempt++ {
		n.DNSAddr, n.API = o.DNSAddr, ""
		apiAddr := o.APIAddr
		if n.DNSAddr == "" {
			n.DNSAddr = freeDNSAddr(t)
		}
		if apiAddr == "" {
			apiAddr = FreeAddr(t)
		}
		n.API = "http://" + apiAddr
		n.args = []string{"serve",
			"--node-id", o.Name,
			"--roles", o.Roles,
			"--etcd-endpoints", strings.Join(o.Endpoints, ","),
			"--data-dir", o.DataDir,
			"--dns-addr", n.DNSAddr,
			"--api-addr", apiAddr,
			"--node-ttl", o.NodeTTL.String(),
			"--shutdown-delay", "0s",
			"--api-rate-limit", "0", // the tests hammer the API on purpose
		}
		if o.Token != "" {
			tf := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(tf, []byte(o.Token+" clustertest\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			n.args = append(n.args, "--api-token-file", tf)
			// A non-loopback API also needs SigV4 keys for /2013-04-01/.
			cf := filepath.Join(t.TempDir(), "route53-credentials")
			if err := os.WriteFile(cf, []byte("AKIDCLUSTERTEST "+o.Token+" clustertest\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			n.args = append(n.args, "--route53-credentials-file", cf)
		}
		n.args = append(n.args, o.Args...)
		n.Client = client.New(n.API, o.Token, nil)
		if err := n.start(bin); err != nil {
			t.Fatalf("clustertest: start node %s: %v", o.Name, err)
		}
		if o.NoWait {
			return n
		}
		if waitFor(60*time.Second, func() bool { return !n.Running() || n.Ready() }) && n.Running() {
			return n
		}
		out := n.out.String()
		clash := strings.Contains(out, "address already in use")
		n.Kill()
		if !clash || fixedAddrs || attempt == 3 {
			t.Fatalf("clustertest: node %s did not become ready:\n%s", o.Name, n.out.tail(8<<10))
		}
	}
}

func (n *Node) start(bin string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p.running() {
		return fmt.Errorf("%s is running", n.Name)
	}
	name, args := bin, n.args
	if n.opts.NetNS != nil {
		name, args = "ip", append([]string{"netns", "exec", n.opts.NetNS.Name, bin}, n.args...)
	}
	p, err := startProc(n.out, name, args...)
	if err != nil {
		return err
	}
	n.p = p
	return nil
}

// Restart starts a stopped or killed node again with the same flags, data
// directory and addresses, and waits for /readyz (within 60s) unless the
// node was started with NoWait.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	if err := n.start(Binary(t)); err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	if !n.opts.NoWait {
		n.WaitReady(t, 60*time.Second)
	}
}

// WaitReady waits until /readyz answers 200, failing the test if the node
// exits or d passes.
func (n *Node) WaitReady(t testing.TB, d time.Duration) {
	t.Helper()
	WaitFor(t, d, "node "+n.Name+" ready", func() bool {
		if !n.Running() {
			t.Fatalf("node %s exited:\n%s", n.Name, n.out.tail(8<<10))
		}
		return n.Ready()
	})
}

// Kill sends SIGKILL and waits until the process is gone.
func (n *Node) Kill() {
	n.mu.Lock()
	p := n.p
	n.mu.Unlock()
	p.kill()
}

// Stop sends SIGTERM, waits up to 30s and returns the exit code.
func (n *Node) Stop() int {
	n.mu.Lock()
	p := n.p
	n.mu.Unlock()
	if p == nil {
		return -1
	}
	return p.stop(30 * time.Second)
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p.running()
}

// PID returns the process id of the current run.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p.pid()
}

// Logs returns everything the node wrote, across restarts.
func (n *Node) Logs() string { return n.out.String() }

// Ready reports whether /readyz answers 200.
func (n *Node) Ready() bool {
	code, _ := n.get("/readyz")
	return code == 200
}

// Health is the part of /healthz the tests read.
type Health struct {
	Status string `json:"status"`
	Node   string `json:"node"`
	Sync   struct {
		State            string     `json:"state"`
		Since            time.Time  `json:"since"`
		Revision         int64      `json:"revision"`
		LastError        string     `json:"lastError"`
		EtcdReachable    bool       `json:"etcdReachable"`
		UnreachableSince *time.Time `json:"unreachableSince"`
	} `json:"sync"`
}

// Healthz returns the node's /healthz.
func (n *Node) Healthz() (Health, error) {
	var h Health
	code, body := n.get("/healthz")
	if code != 200 {
		return h, fmt.Errorf("/healthz: status %d: %s", code, body)
	}
	err := json.Unmarshal(body, &h)
	return h, err
}

// Metric returns the value of an unlabelled healthdns_* metric, or of a
// labelled one when name includes its labels as exposed, e.g.
// `healthdns_sync_state{state="in sync"}`.
func (n *Node) Metric(name string) (float64, error) {
	return scrapeMetric(n.API+"/metrics", name)
}

func (n *Node) get(path string) (int, []byte) {
	resp, err := httpClient.Get(n.API + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

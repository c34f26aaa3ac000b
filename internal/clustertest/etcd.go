package clustertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// LogsEnv, when set, makes every process log its output tail at the end of
// the test, passed or not (by default only failed tests show it).
const LogsEnv = "HEALTHDNS_CLUSTERTEST_LOGS"

// EtcdBinaryEnv names the environment variable that overrides where the
// etcd binary is looked for (default: etcd on PATH, then /usr/bin/etcd).
const EtcdBinaryEnv = "HEALTHDNS_TEST_ETCD"

// EtcdBinary returns the etcd binary, or skips the test saying how to get it.
func EtcdBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EtcdBinaryEnv); p != "" {
		return p
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	t.Skip("etcd binary not found: install Debian's etcd-server package (apt-get install etcd-server) or set " + EtcdBinaryEnv)
	return ""
}

// EtcdOptions configure StartEtcd.
type EtcdOptions struct {
	// Members is the cluster size (default 3).
	Members int
	// ExtraClientHosts are further IP addresses every member also serves
	// clients on, at its client port (e.g. the host end of a link into a
	// network namespace, NetNS.EtcdHost).
	ExtraClientHosts []string
}

// Etcd is a cluster of etcd processes on loopback.
type Etcd struct {
	Members []*Member
	bin     string
}

// Member is one etcd process. Kill, Stop and Start act on it alone; its
// data directory survives them.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:port
	PeerURL   string
	Dir       string // data directory
	bin       string
	args      []string
	out       *logBuffer
	mu        sync.Mutex
	p         *proc
}

// StartEtcd starts a new cluster and waits until every member is healthy.
// Ports are reserved by the test; a clash with another process restarts the
// whole bootstrap on fresh ports.
func StartEtcd(t testing.TB, o EtcdOptions) *Etcd {
	t.Helper()
	bin := EtcdBinary(t)
	if o.Members == 0 {
		o.Members = 3
	}
	root := t.TempDir()
	var last string
	for attempt := 1; attempt <= 3; attempt++ {
		e := &Etcd{bin: bin}
		var initial []string
		token := fmt.Sprintf("clustertest-%d-%d", os.Getpid(), time.Now().UnixNano())
		for i := range o.Members {
			m := &Member{
				Name:      fmt.Sprintf("etcd%d", i+1),
				ClientURL: "http://" + FreeAddr(t),
				PeerURL:   "http://" + FreeAddr(t),
				bin:       bin,
				out:       &logBuffer{},
			}
			m.Dir = filepath.Join(root, fmt.Sprintf("attempt%d", attempt), m.Name)
			initial = append(initial, m.Name+"="+m.PeerURL)
			e.Members = append(e.Members, m)
		}
		for _, m := range e.Members {
			listen := []string{m.ClientURL}
			_, port, _ := strings.Cut(strings.TrimPrefix(m.ClientURL, "http://"), ":")
			for _, h := range o.ExtraClientHosts {
				listen = append(listen, "http://"+h+":"+port)
			}
			m.args = []string{
				"--name", m.Name,
				"--data-dir", m.Dir,
				"--listen-client-urls", strings.Join(listen, ","),
				"--advertise-client-urls", m.ClientURL,
				"--listen-peer-urls", m.PeerURL,
				"--initial-advertise-peer-urls", m.PeerURL,
				"--initial-cluster", strings.Join(initial, ","),
				"--initial-cluster-token", token,
				"--initial-cluster-state", "new",
				"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
			}
		}
		t.Cleanup(func() {
			for _, m := range e.Members {
				m.Kill()
			}
			if t.Failed() || os.Getenv(LogsEnv) != "" {
				for _, m := range e.Members {
					t.Logf("etcd member %s (%s) output:\n%s", m.Name, m.ClientURL, m.out.tail(8<<10))
				}
			}
		})
		ok := true
		for _, m := range e.Members {
			if err := m.start(); err != nil {
				t.Fatalf("clustertest: start %s: %v", m.Name, err)
			}
		}
		healthy := waitFor(30*time.Second, func() bool {
			for _, m := range e.Members {
				if !m.Running() {
					ok = false
					return true
				}
			}
			for _, m := range e.Members {
				if !m.Healthy() {
					return false
				}
			}
			return true
		})
		if ok && healthy {
			return e
		}
		for _, m := range e.Members {
			m.Kill()
			last += fmt.Sprintf("\n%s:\n%s", m.Name, m.out.tail(2<<10))
		}
	}
	t.Fatalf("clustertest: etcd cluster did not start in 3 attempts:%s", last)
	return nil
}

// Endpoints returns the members' client URLs.
func (e *Etcd) Endpoints() []string {
	var out []string
	for _, m := range e.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// Client returns a client of the whole cluster, closed in t.Cleanup.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("clustertest: etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// WaitHealthy waits until every running member is healthy (has a leader
// and serves a quorum read), failing the test after d.
func (e *Etcd) WaitHealthy(t testing.TB, d time.Duration) {
	t.Helper()
	WaitFor(t, d, "etcd members healthy", func() bool {
		for _, m := range e.Members {
			if m.Running() && !m.Healthy() {
				return false
			}
		}
		return true
	})
}

// Leader returns the member that leads, failing the test if none is found
// within 30s (an election takes a second or two, more on a loaded machine).
func (e *Etcd) Leader(t testing.TB) *Member {
	t.Helper()
	var leader *Member
	WaitFor(t, 30*time.Second, "an etcd leader", func() bool {
		for _, m := range e.Members {
			if v, err := m.Metric("etcd_server_is_leader"); err == nil && v == 1 {
				leader = m
				return true
			}
		}
		return false
	})
	return leader
}

// Followers returns the running members that do not lead.
func (e *Etcd) Followers(t testing.TB) []*Member {
	t.Helper()
	l := e.Leader(t)
	var out []*Member
	for _, m := range e.Members {
		if m != l && m.Running() {
			out = append(out, m)
		}
	}
	return out
}

// WatchHosts returns the running members that serve at least one gRPC watch
// stream: with a single healthdns node started, the member its watch is
// connected to.
func (e *Etcd) WatchHosts() []*Member {
	var out []*Member
	for _, m := range e.Members {
		if !m.Running() {
			continue
		}
		if v, err := m.Metric("etcd_debugging_mvcc_watch_stream_total"); err == nil && v > 0 {
			out = append(out, m)
		}
	}
	return out
}

// Port returns the member's client port.
func (m *Member) Port() int {
	_, p, _ := strings.Cut(strings.TrimPrefix(m.ClientURL, "http://"), ":")
	n, _ := strconv.Atoi(p)
	return n
}

// Compact compacts the cluster's history up to rev (physically: the call
// returns once the members dropped it).
func (e *Etcd) Compact(t testing.TB, cli *clientv3.Client, rev int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("clustertest: compact to %d: %v", rev, err)
	}
}

func (m *Member) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p.running() {
		return fmt.Errorf("%s is running", m.Name)
	}
	p, err := startProc(m.out, m.bin, m.args...)
	if err != nil {
		return err
	}
	m.p = p
	return nil
}

// Start starts a stopped or killed member again on its data directory and
// addresses; it does not wait for it to be healthy (see Etcd.WaitHealthy).
func (m *Member) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatalf("clustertest: %v", err)
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (m *Member) Kill() {
	m.mu.Lock()
	p := m.p
	m.mu.Unlock()
	p.kill()
}

// Stop sends SIGTERM and waits (up to 10s, then kills).
func (m *Member) Stop() {
	m.mu.Lock()
	p := m.p
	m.mu.Unlock()
	if p != nil {
		p.stop(10 * time.Second)
	}
}

// Running reports whether the process is alive.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.p.running()
}

// Logs returns everything the member wrote, across restarts.
func (m *Member) Logs() string { return m.out.String() }

var httpClient = &http.Client{Timeout: 2 * time.Second}

// Healthy reports whether the member's /health says true: it has a leader
// and answers a quorum read.
func (m *Member) Healthy() bool {
	resp, err := httpClient.Get(m.ClientURL + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
}

// Metric returns the value of an unlabelled Prometheus metric the member
// exposes on its client URL, such as etcd_server_is_leader or
// etcd_debugging_mvcc_watch_stream_total (the gRPC watch streams it serves).
func (m *Member) Metric(name string) (float64, error) {
	return scrapeMetric(m.ClientURL+"/metrics", name)
}

func scrapeMetric(url, name string) (float64, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no metric %s", url, name)
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/healthdns/healthdns/api"
	"github.com/healthdns/healthdns/api/route53"
	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
	"github.com/healthdns/healthdns/zones/etcdstore"
)

// DefaultNameServers are the apex NS (and SOA MNAME) of new zones when
// --nameservers is not given. ".invalid" (RFC 6761) says plainly that they
// are placeholders to replace with the names of your DNS nodes.
const DefaultNameServers = "ns1.healthdns.invalid,ns2.healthdns.invalid"

type serveConfig struct {
	dnsAddr, apiAddr, etcdEndpoints, dataDir string
	embClientURL, embPeerURL, nameservers    string
	roles, nodeID, checkerRegion, checkerSrc string
	healthQuorum                             float64
	apiTokenFile, r53CredsFile               string
	logLevel, logFormat                      string
	etcdCert, etcdKey, etcdCA, etcdUser      string
	etcdPassword                             string
	shutdownDelay                            time.Duration
	nodeTTL                                  time.Duration
	apiRateLimit                             float64
	queryLog                                 string
	rrlRate                                  float64
	rrlSlip, tcpMaxConns                     int
	memLimit                                 string
	pprof                                    bool
}

// envDefault returns HEALTHDNS_<NAME> for a flag name, or def.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv("HEALTHDNS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return def
}

func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, envDefault(name, def), usage) }
	str(&c.dnsAddr, "dns-addr", "127.0.0.1:5300", "UDP and TCP listen address of the DNS responder")
	str(&c.apiAddr, "api-addr", "127.0.0.1:8053", "REST API, /metrics, /healthz, /readyz")
	str(&c.etcdEndpoints, "etcd-endpoints", "", "comma list of an existing etcd cluster; empty starts an embedded etcd in --data-dir")
	str(&c.dataDir, "data-dir", "./healthdns-data", "embedded etcd data and any local cache")
	str(&c.embClientURL, "embedded-etcd-client-url", "http://127.0.0.1:2379", "where the embedded etcd listens for clients")
	str(&c.embPeerURL, "embedded-etcd-peer-url", "http://127.0.0.1:2380", "the embedded etcd's peer address")
	str(&c.nameservers, "nameservers", DefaultNameServers, "comma list of the names put in each new zone's apex NS and SOA MNAME")
	str(&c.roles, "roles", "dns,api,checker", "which parts this process runs")
	str(&c.nodeID, "node-id", "", "this node's unique name (default: host name + a random suffix kept in --data-dir)")
	str(&c.checkerRegion, "checker-region", "local", "the vantage-point label of this node's health checker")
	str(&c.checkerSrc, "checker-source-addr", "", "local address the checker's probes are sent from")
	str(&c.apiTokenFile, "api-token-file", "", "file of accepted bearer tokens, lines `TOKEN [NAME]`")
	str(&c.r53CredsFile, "route53-credentials-file", "", "lines `ACCESS_KEY_ID SECRET_ACCESS_KEY [NAME]` for SigV4")
	str(&c.etcdCert, "etcd-cert", "", "client certificate (PEM) for an etcd cluster that requires TLS client auth")
	str(&c.etcdKey, "etcd-key", "", "private key (PEM) of --etcd-cert")
	str(&c.etcdCA, "etcd-ca", "", "CA bundle (PEM) to verify the etcd servers; https:// endpoints use the system roots without it")
	str(&c.etcdUser, "etcd-username", "", "etcd user for etcd's auth (the password comes from HEALTHDNS_ETCD_PASSWORD)")
	c.etcdPassword = os.Getenv("HEALTHDNS_ETCD_PASSWORD")
	str(&c.logLevel, "log-level", "info", "debug, info, warn, error")
	str(&c.logFormat, "log-format", "text", "text or json")
	q := envDefault("health-quorum", "0.18")
	fs.Func("health-quorum", "a check is HEALTHY when more than this share of live observations say so (default 0.18)", func(s string) error {
		v, err := parseFloat01(s)
		c.healthQuorum = v
		return err
	})
	c.healthQuorum, _ = parseFloat01(q)
	sd, _ := time.ParseDuration(envDefault("shutdown-delay", "500ms"))
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", sd, "lame-duck time between turning not-ready and closing the listeners")
	rl, _ := strconv.ParseFloat(envDefault("api-rate-limit", "50"), 64)
	fs.Float64Var(&c.apiRateLimit, "api-rate-limit", rl, "requests per second each API client (token, or address) may send to /v1, bursts of 4x; 0 turns limiting off")
	str(&c.queryLog, "query-log", "", "write a JSON line per DNS query to this file (appended), or - for standard output; empty: off")
	rr, _ := strconv.ParseFloat(envDefault("rrl-rate", "0"), 64)
	fs.Float64Var(&c.rrlRate, "rrl-rate", rr, "response rate limiting: UDP replies per second to one client network (/24, /56) for one answer; 0 turns it off")
	rs, _ := strconv.Atoi(envDefault("rrl-slip", "2"))
	fs.IntVar(&c.rrlSlip, "rrl-slip", rs, "with --rrl-rate: every Nth limited reply is sent truncated (TC) so real clients retry over TCP; 0 drops them all")
	tm, _ := strconv.Atoi(envDefault("dns-tcp-max-conns", strconv.Itoa(dnsserver.DefaultMaxTCPConns)))
	fs.IntVar(&c.tcpMaxConns, "dns-tcp-max-conns", tm, "TCP connections served at once; past half of them reads time out after 500ms")
	str(&c.memLimit, "memory-limit", "auto", "soft memory limit of the Go runtime (GOMEMLIMIT), e.g. 1GiB; auto: 3/4 of the cgroup or machine memory; off: none. GOMEMLIMIT in the environment wins")
	fs.BoolVar(&c.pprof, "debug-pprof", envDefault("debug-pprof", "") == "true", "serve Go's /debug/pprof/ profiles on --api-addr (unauthenticated: loopback only)")
	nt, _ := time.ParseDuration(envDefault("node-ttl", "10s"))
	fs.DurationVar(&c.nodeTTL, "node-ttl", nt, "lease TTL of this node's registration; a node that dies stops counting for INSYNC after it")
	return fs
}

func parseFloat01(s string) (float64, error) {
	var v float64
	if _, err := fmt.Sscanf(s, "%g", &v); err != nil || v < 0 || v >= 1 {
		return 0, fmt.Errorf("must be a number in [0, 1)")
	}
	return v, nil
}

// serveMain runs `healthdns serve`; it returns the process exit code.
func serveMain(args []string) int {
	var c serveConfig
	fs := serveFlags(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	logger, err := newLogger(c.logLevel, c.logFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 2
	}
	if err := runServe(c, logger); err != nil {
		var ce configError
		if errors.As(err, &ce) {
			fmt.Fprintf(os.Stderr, "serve: %v\n", err)
			return 2
		}
		logger.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

// configError is a bad flag or setting: exit code 2.
type configError struct{ error }

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

type roleSet struct{ dns, api, checker bool }

func parseRoles(s string) (roleSet, error) {
	var r roleSet
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case "dns":
			r.dns = true
		case "api":
			r.api = true
		case "checker":
			r.checker = true
		case "":
		default:
			return r, fmt.Errorf("--roles: unknown role %q (want dns, api, checker)", p)
		}
	}
	if !r.dns && !r.api && !r.checker {
		return r, fmt.Errorf("--roles: no role given")
	}
	return r, nil
}

// readTokens reads a token file: lines `TOKEN [NAME]`, # comments.
func readTokens(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tokens := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		name := fmt.Sprintf("token-line-%d", n)
		if len(fields) > 1 {
			name = fields[1]
		}
		tokens[fields[0]] = name
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s holds no tokens", path)
	}
	return tokens, nil
}

func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// nodeID returns the configured node id, or host name + a random suffix kept
// in the data directory so that a restarted node keeps its name.
func nodeID(c serveConfig) (string, error) {
	if c.nodeID != "" {
		return c.nodeID, nil
	}
	path := filepath.Join(c.dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	var r [4]byte
	rand.Read(r[:])
	id := host + "-" + hex.EncodeToString(r[:])
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", err
	}
	return id, nil
}

func runServe(c serveConfig, logger *slog.Logger) error {
	roles, err := parseRoles(c.roles)
	if err != nil {
		return configError{err}
	}
	switch {
	case c.pprof && !isLoopbackAddr(c.apiAddr):
		return configError{fmt.Errorf("--debug-pprof: --api-addr %s is not a loopback address; profiles are served unauthenticated", c.apiAddr)}
	case c.rrlRate < 0:
		return configError{fmt.Errorf("--rrl-rate %v: must be 0 (off) or more", c.rrlRate)}
	case c.rrlSlip < 0:
		return configError{fmt.Errorf("--rrl-slip %d: must be 0 (drop all) or more", c.rrlSlip)}
	case c.tcpMaxConns < 1:
		return configError{fmt.Errorf("--dns-tcp-max-conns %d: must be at least 1", c.tcpMaxConns)}
	}
	if err := applyMemoryLimit(c.memLimit, logger); err != nil {
		return configError{fmt.Errorf("--memory-limit: %w", err)}
	}
	var tokens map[string]string
	if c.apiTokenFile != "" {
		if tokens, err = readTokens(c.apiTokenFile); err != nil {
			return configError{fmt.Errorf("--api-token-file: %w", err)}
		}
	}
	if roles.api && tokens == nil && !isLoopbackAddr(c.apiAddr) {
		return configError{fmt.Errorf("--api-addr %s is not a loopback address: refusing to serve the API there without --api-token-file", c.apiAddr)}
	}
	var r53Creds route53.Credentials
	if c.r53CredsFile != "" {
		if r53Creds, err = route53.LoadCredentials(c.r53CredsFile); err != nil {
			return configError{fmt.Errorf("--route53-credentials-file: %w", err)}
		}
	}
	if roles.api && len(r53Creds) == 0 && !isLoopbackAddr(c.apiAddr) {
		return configError{fmt.Errorf("--api-addr %s is not a loopback address: refusing to serve the Route 53 API there without --route53-credentials-file", c.apiAddr)}
	}
	var nameServers []string
	for _, n := range strings.Split(c.nameservers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			cn, err := zones.CanonicalName(n)
			if err != nil {
				return configError{fmt.Errorf("--nameservers: %v", err)}
			}
			nameServers = append(nameServers, cn)
		}
	}
	if len(nameServers) == 0 {
		return configError{fmt.Errorf("--nameservers: at least one name is needed")}
	}
	id, err := nodeID(c)
	if err != nil {
		return configError{fmt.Errorf("--data-dir %s: %w", c.dataDir, err)}
	}
	logger = logger.With("node", id)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	endpoints := splitList(c.etcdEndpoints)
	if len(endpoints) == 0 {
		etcdLevel := "error"
		if c.logLevel == "debug" {
			etcdLevel = "info"
		}
		e, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{
			Name: "healthdns", Dir: filepath.Join(c.dataDir, "etcd"), ClientURL: c.embClientURL, PeerURL: c.embPeerURL, LogLevel: etcdLevel,
		})
		if err != nil {
			return err
		}
		defer e.Close()
		endpoints = []string{c.embClientURL}
		logger.Info("embedded etcd started", "client_url", c.embClientURL, "dir", filepath.Join(c.dataDir, "etcd"))
	}
	ccfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		// Ping idle connections so that a dead one (a partition drops
		// packets, it does not close connections) is found and its watch
		// and requests move to another member. gRPC's floor is 10s; etcd's
		// --grpc-keepalive-min-time default (5s) allows it.
		DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: 3 * time.Second,
		Username: c.etcdUser, Password: c.etcdPassword}
	if c.etcdCert != "" || c.etcdKey != "" || c.etcdCA != "" || anyHTTPS(endpoints) {
		if (c.etcdCert == "") != (c.etcdKey == "") {
			return configError{fmt.Errorf("--etcd-cert and --etcd-key go together")}
		}
		tlsInfo := transport.TLSInfo{CertFile: c.etcdCert, KeyFile: c.etcdKey, TrustedCAFile: c.etcdCA}
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return configError{fmt.Errorf("etcd TLS: %w", err)}
		}
		ccfg.TLS = tc
	}
	cli, err := clientv3.New(ccfg)
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "healthdns_runtime_goroutines", Help: "Goroutines in this process (flat under steady load: see make soak)."},
			func() float64 { return float64(runtime.NumGoroutine()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "healthdns_runtime_heap_bytes", Help: "Bytes of allocated heap objects (runtime.MemStats.HeapAlloc)."},
			func() float64 { var m runtime.MemStats; runtime.ReadMemStats(&m); return float64(m.HeapAlloc) }),
	)
	table := dnsserver.NewTable()
	mirror := etcdstore.NewMirror()
	if !roles.api {
		// Nothing reads record sets here but the answer table: keep them
		// there only (in-use heap 735 -> 389 MB at a million record sets,
		// docs/benchmarks.md).
		mirror = etcdstore.NewLeanMirror(table)
	}
	cidr := &etcdstore.CIDRTable{}
	var registration *etcdstore.Node
	if roles.dns {
		registration = etcdstore.NewNode(etcdstore.NodeOptions{Client: cli, NodeID: id, Logger: logger, TTL: c.nodeTTL})
	}
	syncer := etcdstore.NewSyncer(etcdstore.SyncerOptions{
		Client: cli, Mirror: mirror, Logger: logger.With("part", "sync"),
		CachePath: filepath.Join(c.dataDir, "cache", "zones.json"),
		CIDR:      cidr, Registerer: reg,
		OnDelta: func(rev int64, d []zones.ZoneDelta) {
			if err := table.Apply(d); err != nil {
				// The old snapshot keeps answering; the next full sync retries.
				logger.Error("could not apply a change to the answer snapshot; serving the previous one", "revision", rev, "err", err)
			}
		},
		OnRevision: func(rev int64) {
			if registration != nil {
				registration.Serving(rev)
			}
		},
	})
	store := etcdstore.New(etcdstore.Options{Client: cli, Mirror: mirror, Logger: logger.With("part", "store"), NameServers: nameServers, Reachable: syncer.Reachable, CIDR: cidr, Registerer: reg})

	hcStore, err := healthcheck.NewStore(healthcheck.StoreOptions{Client: cli, Logger: logger.With("part", "healthcheck"), InUse: store.CheckUsers})
	if err != nil {
		return err
	}
	monitor, err := healthcheck.NewMonitor(healthcheck.MonitorOptions{Client: cli, Quorum: c.healthQuorum,
		Logger: logger.With("part", "health"), Registerer: reg})
	if err != nil {
		return err
	}
	var checker *healthcheck.Checker
	if roles.checker {
		checker, err = healthcheck.NewChecker(healthcheck.CheckerOptions{Client: cli, NodeID: id, Region: c.checkerRegion,
			SourceAddr: c.checkerSrc, Logger: logger.With("part", "checker"), Registerer: reg})
		if err != nil {
			return configError{fmt.Errorf("--checker-source-addr: %w", err)}
		}
	}
	hcService, err := healthcheck.NewService(hcStore, monitor)
	if err != nil {
		return err
	}

	table.SetCIDRSource(cidr)
	table.SetHealth(monitor)

	var shuttingDown atomic.Bool
	ready := func() bool { return mirror.Synced() && !shuttingDown.Load() }

	g, gctx := errgroup.WithContext(ctx)
	bg, cancelBg := context.WithCancel(context.Background())
	defer cancelBg()
	g.Go(func() error { return syncer.Run(bg) })
	if registration != nil {
		g.Go(func() error { return registration.Run(bg) })
	}
	g.Go(func() error { return monitor.Run(bg) })
	if checker != nil {
		g.Go(func() error { return checker.Run(bg) })
	}

	var dnsSrv *dnsserver.Server
	if roles.dns {
		var qlog *dnsserver.QueryLog
		if c.queryLog != "" {
			var w io.Writer = os.Stdout
			if c.queryLog != "-" {
				f, err := os.OpenFile(c.queryLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
				if err != nil {
					return configError{fmt.Errorf("--query-log: %w", err)}
				}
				defer f.Close()
				w = f
			}
			qlog, err = dnsserver.NewQueryLog(dnsserver.QueryLogOptions{Writer: w, Node: id, Logger: logger.With("part", "querylog"), Registerer: reg})
			if err != nil {
				return err
			}
			defer qlog.Close(context.Background())
		}
		slip := c.rrlSlip
		if slip == 0 {
			slip = -1 // RRLOptions: negative drops every limited reply
		}
		dnsSrv, err = dnsserver.New(dnsserver.Options{Addr: c.dnsAddr, Table: table, Logger: logger.With("part", "dns"), Registerer: reg,
			QueryLog: qlog, RRL: dnsserver.RRLOptions{Rate: c.rrlRate, Slip: slip}, MaxTCPConns: c.tcpMaxConns})
		if err != nil {
			return configError{fmt.Errorf("--dns-addr: %w", err)}
		}
		if err := dnsSrv.Start(); err != nil {
			return configError{fmt.Errorf("--dns-addr %s: %w", c.dnsAddr, err)}
		}
		logger.Info("DNS responder listening", "addr", dnsSrv.Addr())
	}
	var httpSrv *http.Server
	health := func() any { return map[string]any{"status": "alive", "node": id, "sync": syncer.Status()} }
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	var handler http.Handler
	if !roles.api {
		// Without the API, --api-addr still serves health and metrics.
		handler = api.OpsHandler(ready, health, metricsHandler)
	}
	if roles.api {
		r53, err := route53.New(route53.Options{Store: store, HealthChecks: hcService, Answerer: table, Audit: store,
			Credentials: r53Creds, Logger: logger.With("part", "route53")})
		if err != nil {
			return err
		}
		apiSrv, err := api.New(api.Options{
			Route53: r53, TestDNSAnswer: table, RateLimit: rateLimitOption(c.apiRateLimit), RateBurst: int(4 * c.apiRateLimit),
			Store: store, Logger: logger.With("part", "api"), Registerer: reg, Tokens: tokens, Cidr: store, Audit: store, HealthChecks: hcService,
			Ready:   ready,
			Health:  health,
			Metrics: metricsHandler,
		})
		if err != nil {
			return err
		}
		handler = apiSrv.Handler()
	}
	if c.pprof {
		handler = withPprof(handler)
	}
	ln, err := net.Listen("tcp", c.apiAddr)
	if err != nil {
		return configError{fmt.Errorf("--api-addr %s: %w", c.apiAddr, err)}
	}
	httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	logger.Info("API listening", "addr", ln.Addr().String(), "auth", tokens != nil, "full_api", roles.api)
	g.Go(func() error {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("api: %w", err)
		}
		return nil
	})
	logger.Info("healthdns serving", "roles", c.roles, "etcd", strings.Join(endpoints, ","))

	<-gctx.Done()
	logger.Info("shutting down")
	shuttingDown.Store(true)
	if c.shutdownDelay > 0 && ctx.Err() != nil {
		time.Sleep(c.shutdownDelay) // lame duck: load balancers see /readyz 503 first
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if dnsSrv != nil {
		dnsSrv.Shutdown(sctx)
	}
	if httpSrv != nil {
		httpSrv.Shutdown(sctx)
	}
	cancelBg()
	err = g.Wait()
	if ctx.Err() != nil && err == nil {
		logger.Info("stopped cleanly")
		return nil
	}
	return err
}

// rateLimitOption maps --api-rate-limit (0 = off) to api.Options.RateLimit
// (negative = off).
func rateLimitOption(v float64) float64 {
	if v <= 0 {
		return -1
	}
	return v
}

func anyHTTPS(endpoints []string) bool {
	for _, e := range endpoints {
		if strings.HasPrefix(e, "https://") {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

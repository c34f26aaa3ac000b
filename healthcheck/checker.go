package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	Client *clientv3.Client
	// NodeID names this checker in its observation keys and in the status
	// API. Required; unique among the nodes.
	NodeID string
	// Region is the vantage-point label of the observations (default
	// "local").
	Region string
	// SourceAddr, if not empty, is the local IP address probes are sent
	// from (--checker-source-addr).
	SourceAddr string
	// Resolver resolves fullyQualifiedDomainName; nil is the system's.
	Resolver *net.Resolver
	Logger   *slog.Logger
	// Registerer receives the checker's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// LeaseTTL is the TTL of the lease that keeps this checker's
	// observations alive (default 10s): a checker that dies uncleanly stops
	// counting this long after.
	LeaseTTL time.Duration
	// Refresh is how often every observation is rewritten even when it did
	// not change, so checkedAt is never older than this (default 60s).
	Refresh time.Duration
	// ConnectTimeout and ResponseTimeout override Route 53's probe budgets
	// (4s, 2s); tests only.
	ConnectTimeout, ResponseTimeout time.Duration
}

// Checker probes every endpoint check from this node, one goroutine per
// check, and publishes its observations to etcd under its own lease. It
// follows the checks by list-then-watch of ChecksPrefix.
type Checker struct {
	o       CheckerOptions
	log     *slog.Logger
	prober  *Prober
	metrics *checkerMetrics

	mu     sync.Mutex
	loops  map[string]*probeLoop // running probe goroutines, by check id
	obs    map[string]*obsState  // this node's observations, by check id
	kick   chan struct{}         // wakes the publisher
	lease  clientv3.LeaseID      // current lease, 0 between sessions
	cancel context.CancelFunc    // of Start
	done   chan struct{}         // closed when Start's Run returns
}

// obsState is one observation and whether etcd needs it written (or, with
// remove, deleted).
type obsState struct {
	Observation
	raw           bool // the state before inversion
	dirty, remove bool
}

// probeLoop is one check's probe goroutine.
type probeLoop struct {
	hc     HealthCheck
	cancel context.CancelFunc
	done   chan struct{}
}

// NewChecker returns a Checker; Run (or Start) starts it.
func NewChecker(o CheckerOptions) (*Checker, error) {
	if o.Client == nil {
		return nil, errors.New("healthcheck: CheckerOptions.Client is nil")
	}
	if o.NodeID == "" || strings.ContainsAny(o.NodeID, "/\x00") {
		return nil, fmt.Errorf("healthcheck: checker node id %q: want a non-empty name without '/'", o.NodeID)
	}
	if o.Region == "" {
		o.Region = "local"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 10 * time.Second
	}
	if o.LeaseTTL < 2*time.Second {
		return nil, fmt.Errorf("healthcheck: checker lease TTL %s: at least 2s", o.LeaseTTL)
	}
	if o.Refresh == 0 {
		o.Refresh = 60 * time.Second
	}
	p := &Prober{Resolver: o.Resolver, ConnectTimeout: o.ConnectTimeout, ResponseTimeout: o.ResponseTimeout}
	if o.SourceAddr != "" {
		a, err := netip.ParseAddr(o.SourceAddr)
		if err != nil {
			return nil, fmt.Errorf("healthcheck: checker source address %q: %w", o.SourceAddr, err)
		}
		// Fail at start rather than with every probe: the address must be
		// one of this host's.
		l, err := net.Listen("tcp", net.JoinHostPort(a.String(), "0"))
		if err != nil {
			return nil, fmt.Errorf("healthcheck: checker source address %s is not usable on this host: %w", a, err)
		}
		l.Close()
		p.SourceAddr = a
	}
	m, err := newCheckerMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Checker{
		o: o, log: o.Logger.With("checker", o.NodeID), prober: p, metrics: m,
		loops: map[string]*probeLoop{}, obs: map[string]*obsState{}, kick: make(chan struct{}, 1),
	}, nil
}

// Run probes until ctx ends, then stops every probe and revokes the lease,
// so that this checker's observations vanish at once. It returns nil.
func (c *Checker) Run(ctx context.Context) error {
	pubCtx, stopPub := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		c.publish(pubCtx)
	}()
	listWatch(ctx, c.o.Client, ChecksPrefix, 500, c.log, c.resetChecks, c.applyChecks)
	c.mu.Lock()
	loops := c.loops
	c.loops = map[string]*probeLoop{}
	c.mu.Unlock()
	for _, l := range loops {
		l.cancel()
	}
	for _, l := range loops {
		<-l.done
	}
	stopPub()
	<-pubDone
	return nil
}

// Start runs the Checker in the background until Stop.
func (c *Checker) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	c.mu.Lock()
	c.cancel, c.done = cancel, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
}

// Stop stops a Checker started with Start and waits until it has stopped
// or ctx ends.
func (c *Checker) Stop(ctx context.Context) error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LeaseID returns the lease this checker's observations live under now (0
// while it has none).
func (c *Checker) LeaseID() clientv3.LeaseID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lease
}

func (c *Checker) resetChecks(kvs []*mvccpb.KeyValue, _ int64) {
	seen := map[string]bool{}
	for _, kv := range kvs {
		if hc, ok := c.decode(kv); ok {
			seen[hc.ID] = true
			c.reconcile(hc.ID, &hc)
		}
	}
	c.mu.Lock()
	var gone []string
	for id := range c.loops {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	for id := range c.obs {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	c.mu.Unlock()
	for _, id := range gone {
		c.reconcile(id, nil)
	}
}

func (c *Checker) applyChecks(evs []*clientv3.Event) {
	for _, ev := range evs {
		id := strings.TrimPrefix(string(ev.Kv.Key), ChecksPrefix)
		if ev.Type == clientv3.EventTypeDelete {
			c.reconcile(id, nil)
			continue
		}
		if hc, ok := c.decode(ev.Kv); ok {
			c.reconcile(hc.ID, &hc)
		}
	}
}

func (c *Checker) decode(kv *mvccpb.KeyValue) (HealthCheck, bool) {
	var hc HealthCheck
	if err := json.Unmarshal(kv.Value, &hc); err != nil || hc.ID == "" {
		c.log.Error("undecodable health check; skipped", "key", string(kv.Key), "err", err)
		return hc, false
	}
	return hc, true
}

// reconcile starts, restarts or stops the probe goroutine of check id
// (hc nil: deleted). Only endpoint checks that are not disabled are probed;
// the observation of a check no longer probed is deleted.
func (c *Checker) reconcile(id string, hc *HealthCheck) {
	probe := hc != nil && IsEndpoint(hc.Config.Type) && !hc.Config.Disabled
	c.mu.Lock()
	l := c.loops[id]
	if l != nil && probe && mustJSON(l.hc.Config) == mustJSON(hc.Config) {
		c.mu.Unlock()
		return // e.g. a routing control state or nothing the probe uses
	}
	delete(c.loops, id)
	c.mu.Unlock()
	if l != nil {
		l.cancel()
		<-l.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !probe {
		if st := c.obs[id]; st != nil {
			st.remove, st.dirty = true, true
			c.wake()
		}
		return
	}
	var prev *bool // carried over a restart, so a config change does not flip the state
	if st := c.obs[id]; st != nil && !st.remove {
		raw := st.raw
		prev = &raw
	}
	ctx, cancel := context.WithCancel(context.Background())
	nl := &probeLoop{hc: *hc, cancel: cancel, done: make(chan struct{})}
	c.loops[id] = nl
	go func() {
		defer close(nl.done)
		c.runProbes(ctx, nl.hc, prev)
	}()
}

// probeBudget bounds one probe within Route 53's connect and response
// budgets: three quarters of the interval, so that a backend that hangs
// fails before the next tick, barely later than one that refuses (with a 1 s
// interval and a threshold of 2, a hang is detected within 2.75 s).
func probeBudget(interval time.Duration) time.Duration { return interval * 3 / 4 }

// runProbes is one check's goroutine: a jittered first probe, then one every
// interval, never two at once; each bounded by probeBudget.
func (c *Checker) runProbes(ctx context.Context, hc HealthCheck, prev *bool) {
	cfg := hc.Config
	interval := time.Duration(cfg.RequestInterval) * time.Second
	first := time.NewTimer(rand.N(interval))
	select {
	case <-ctx.Done():
		first.Stop()
		return
	case <-first.C:
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	state := threshold{healthy: true}
	if prev != nil {
		state.healthy = *prev
	}
	for written := false; ; written = true {
		pctx, cancel := context.WithTimeout(ctx, probeBudget(interval))
		r := c.prober.Probe(pctx, cfg)
		cancel()
		if ctx.Err() != nil {
			return // stopped mid-probe: the result means nothing
		}
		result := "failure"
		if r.Healthy {
			result = "success"
		}
		c.metrics.probeDuration.WithLabelValues(cfg.Type, result).Observe(r.Duration.Seconds())
		healthy := state.observe(r.Healthy, cfg.FailureThreshold)
		c.record(hc.ID, healthy, healthy != cfg.Inverted, r.Reason, !written)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// threshold is one check's state on one checker: failureThreshold
// consecutive results against the current state flip it, in both
// directions (Route 53's rule).
type threshold struct {
	healthy bool
	streak  int
}

// observe takes one probe result and returns the state after it.
func (t *threshold) observe(ok bool, failureThreshold int) bool {
	if ok == t.healthy {
		t.streak = 0
		return t.healthy
	}
	t.streak++
	if t.streak >= failureThreshold {
		t.healthy, t.streak = ok, 0
	}
	return t.healthy
}

// record notes a probe's outcome. etcd is written when the verdict changes
// (or force), otherwise only by the slow refresh.
func (c *Checker) record(id string, raw, healthy bool, reason string, force bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, running := c.loops[id]; !running {
		return
	}
	st := c.obs[id]
	if st == nil || st.remove {
		st = &obsState{}
		c.obs[id] = st
		force = true
	}
	changed := force || st.Healthy != healthy
	st.raw = raw
	st.Observation = Observation{Checker: c.o.NodeID, Region: c.o.Region, Status: reason, Healthy: healthy, CheckedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if changed {
		st.dirty = true
		c.wake()
	}
}

// wake tells the publisher there is something to write; c.mu is held.
func (c *Checker) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// publish keeps a lease and writes observations under it until ctx ends,
// then revokes the lease.
func (c *Checker) publish(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("health observations: lease or write lost; starting a new lease", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// maxOpsPerTxn keeps a batch of observation writes under etcd's default
// limit of 128 operations per transaction.
const maxOpsPerTxn = 100

func (c *Checker) session(ctx context.Context) error {
	cli := c.o.Client
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	lease, err := cli.Grant(gctx, int64((c.o.LeaseTTL+time.Second-1)/time.Second))
	cancel()
	if err != nil {
		return fmt.Errorf("grant lease: %w", err)
	}
	kctx, stopKA := context.WithCancel(ctx)
	defer stopKA()
	ka, err := cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		return fmt.Errorf("keep lease alive: %w", err)
	}
	c.mu.Lock()
	c.lease = lease.ID
	for _, st := range c.obs { // a new lease: everything is written anew
		st.dirty = true
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.lease = 0
		c.mu.Unlock()
		if ctx.Err() != nil { // stopping: take the observations away now
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			cli.Revoke(rctx, lease.ID)
			cancel()
		}
	}()
	refresh := time.NewTicker(c.o.Refresh)
	defer refresh.Stop()
	for {
		if err := c.flush(ctx, lease.ID); err != nil {
			c.metrics.writeErrors.Inc()
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ka:
			if !ok {
				return errors.New("lease expired or revoked")
			}
		case <-c.kick:
		case <-refresh.C:
			c.mu.Lock()
			for _, st := range c.obs {
				st.dirty = true
			}
			c.mu.Unlock()
		}
	}
}

// flush writes the dirty observations, in transactions of at most
// maxOpsPerTxn operations.
func (c *Checker) flush(ctx context.Context, lease clientv3.LeaseID) error {
	c.mu.Lock()
	type pending struct {
		id     string
		obs    Observation
		remove bool
	}
	var todo []pending
	for id, st := range c.obs {
		if st.dirty {
			todo = append(todo, pending{id, st.Observation, st.remove})
			st.dirty = false
		}
	}
	c.mu.Unlock()
	sort.Slice(todo, func(i, j int) bool { return todo[i].id < todo[j].id })
	for len(todo) > 0 {
		n := min(len(todo), maxOpsPerTxn)
		ops := make([]clientv3.Op, 0, n)
		for _, p := range todo[:n] {
			if p.remove {
				ops = append(ops, clientv3.OpDelete(obsKey(p.id, c.o.NodeID)))
			} else {
				ops = append(ops, clientv3.OpPut(obsKey(p.id, c.o.NodeID), mustJSON(p.obs), clientv3.WithLease(lease)))
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.o.Client.Txn(wctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			c.mu.Lock()
			for _, p := range todo { // written again by the next session
				if st := c.obs[p.id]; st != nil {
					st.dirty = true
				}
			}
			c.mu.Unlock()
			return fmt.Errorf("write observations: %w", err)
		}
		c.metrics.writes.Add(float64(n))
		c.mu.Lock()
		for _, p := range todo[:n] {
			if st := c.obs[p.id]; p.remove && st != nil && st.remove && !st.dirty {
				delete(c.obs, p.id)
			}
		}
		c.mu.Unlock()
		todo = todo[n:]
	}
	return nil
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// Drill triggers: how the drill takes the primary down and up again.
const (
	// TriggerBackend stops the primary's local backend, then starts it
	// again on the same port.
	TriggerBackend = "backend"
	// TriggerRoutingControl turns a ROUTING_CONTROL check OFF, then ON. The
	// primary's record routes on a CALCULATED check that is healthy only
	// while both the control and the primary's endpoint check are, so the
	// backends themselves are never touched.
	TriggerRoutingControl = "routing-control"
)

// Drill records: how the two backends are published.
const (
	// RecordFailover is a FAILOVER PRIMARY/SECONDARY pair: before the
	// trigger every answer is the primary.
	RecordFailover = "failover"
	// RecordWeighted is two weighted record sets of weight 1: before the
	// trigger a node answers either.
	RecordWeighted = "weighted"
)

// FlipStreak is how many answers in a row from one node must leave the
// primary out before a weighted drill counts that node as flipped. With
// both sets healthy each answer is the primary with probability 1/2, so a
// node still serving both passes for flipped with probability 2^-20.
const FlipStreak = 20

// DrillOptions configure a failover drill.
type DrillOptions struct {
	API       *client.Client
	DNS       []string      // DNS nodes to query, host:port
	Interval  int           // health check requestInterval, seconds
	Threshold int           // health check failureThreshold
	Rate      float64       // queries per second to each node
	Timeout   time.Duration // bound on each phase (default 60s)
	Progress  io.Writer     // nil: quiet
	Trigger   string        // TriggerBackend ("" too) or TriggerRoutingControl
	Record    string        // RecordFailover ("" too) or RecordWeighted
	// Backends, if set, are the primary's and the secondary's URLs (see
	// DrillBackendCheck), probed instead of two local backends the drill
	// starts. The drill cannot stop a backend it did not start, so they
	// need TriggerRoutingControl.
	Backends []string

	checks []zones.HealthCheckConfig // Backends' checks, set by Normalize
}

// DrillResult is what a drill measured. Times are from the trigger, the
// moment the drill stops the primary's backend or asks the API to turn the
// routing control OFF (detection, flip), or starts the backend again or
// asks for the control ON (fail-back).
//
// Flip is, per node, the first answer of the secondary after the trigger
// for a failover pair; for weighted sets, the first answer of the first
// FlipStreak answers in a row without the primary (so it can lead the
// node's real switch by the secondaries drawn by chance just before it, one
// answer on average at 1:1). Fail-back is the first
// answer of the primary after the revival. A wrong answer is any reply
// that is not exactly one A record of the primary or the secondary, and,
// for weighted sets, the primary from a node after its flip and before the
// revival.
type DrillResult struct {
	DetectionSeconds float64            `json:"detectionSeconds"`
	FlipSeconds      map[string]float64 `json:"flipSeconds"`
	FailbackSeconds  map[string]float64 `json:"failbackSeconds"`
	Queries          int                `json:"queries"`
	Servfail         int                `json:"servfail"`
	Timeouts         int                `json:"timeouts"`
	WrongAnswers     int                `json:"wrongAnswers"`
	Trigger          string             `json:"trigger"`
	Record           string             `json:"record"`
}

const (
	drillPrimary   = "192.0.2.1"
	drillSecondary = "192.0.2.2"
)

// drillBackend is a local HTTP server that can stop and start again on the
// same port.
type drillBackend struct {
	addr string
	srv  *http.Server
}

func startDrillBackend(addr string) (*drillBackend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &drillBackend{addr: ln.Addr().String(), srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})}}
	go b.srv.Serve(ln)
	return b, nil
}

// DrillBackendCheck returns the endpoint health check that probes a
// backend URL: HTTP or HTTPS by its scheme, its host as ipAddress (a name
// as fullyQualifiedDomainName, sent as SNI over HTTPS), its port (else 80
// or 443) and its path and query as resourcePath. Interval and threshold
// are left to the caller.
func DrillBackendCheck(raw string) (zones.HealthCheckConfig, error) {
	var cfg zones.HealthCheckConfig
	u, err := url.Parse(raw)
	if err != nil {
		return cfg, fmt.Errorf("backend %q: not a URL", raw)
	}
	switch u.Scheme {
	case "http":
		cfg.Type = "HTTP"
	case "https":
		cfg.Type = "HTTPS"
	default:
		return cfg, fmt.Errorf("backend %q: want an http:// or https:// URL", raw)
	}
	host := u.Hostname()
	if host == "" {
		return cfg, fmt.Errorf("backend %q: no host", raw)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		cfg.IPAddress = ip.String()
	} else {
		cfg.FullyQualifiedDomainName = host
		cfg.EnableSNI = cfg.Type == "HTTPS"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("backend %q: port %q is not from 1 to 65535", raw, p)
		}
		cfg.Port = n
	}
	cfg.ResourcePath = u.EscapedPath()
	if u.RawQuery != "" {
		cfg.ResourcePath += "?" + u.RawQuery
	}
	return cfg, nil
}

// Normalize fills in the defaults and refuses options a drill cannot run
// with, naming the option; Drill calls it, and a command line can call it
// first to report bad flags as such.
func (o *DrillOptions) Normalize() error {
	if o.API == nil {
		return errors.New("drill: no API client")
	}
	if len(o.DNS) == 0 {
		return errors.New("drill: no DNS node to query")
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Rate <= 0 {
		o.Rate = 200
	}
	if err := oneOf("trigger", &o.Trigger, TriggerBackend, TriggerRoutingControl); err != nil {
		return err
	}
	if err := oneOf("record", &o.Record, RecordFailover, RecordWeighted); err != nil {
		return err
	}
	o.checks = nil
	if len(o.Backends) == 0 {
		return nil
	}
	if o.Trigger != TriggerRoutingControl {
		return fmt.Errorf("drill backends need the %s trigger: the drill cannot stop a backend it did not start", TriggerRoutingControl)
	}
	if len(o.Backends) != 2 {
		return fmt.Errorf("drill backends: %d given, want two (the primary's and the secondary's)", len(o.Backends))
	}
	for _, b := range o.Backends {
		cfg, err := DrillBackendCheck(b)
		if err != nil {
			return err
		}
		o.checks = append(o.checks, cfg)
	}
	return nil
}

// oneOf sets *v to choices[0] if it is empty, and otherwise refuses it
// unless it is one of choices, naming the drill option what.
func oneOf(what string, v *string, choices ...string) error {
	if *v == "" {
		*v = choices[0]
	}
	if !slices.Contains(choices, *v) {
		return fmt.Errorf("drill %s %q: want %s", what, *v, strings.Join(choices, " or "))
	}
	return nil
}

// Drill runs a failover drill against a running healthdns: it starts two
// local HTTP backends (or takes the user's), creates a health check for
// each, a temporary zone and a failover pair or two weighted sets, queries
// every DNS node continuously, takes the primary down (stops its backend,
// or turns a routing control OFF), then up again, and measures detection,
// flip and fail-back times and every SERVFAIL, timeout and wrong answer
// (see DrillResult). It removes what it created, also on error.
func Drill(ctx context.Context, o DrillOptions) (*DrillResult, error) {
	if err := o.Normalize(); err != nil {
		return nil, err
	}
	d := &drill{o: o, suffix: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	defer d.undoAll(context.WithoutCancel(ctx))
	if err := d.setUp(ctx); err != nil {
		return nil, err
	}

	w := newDrillWatch(o.Record, o.DNS)
	qctx, stopQueries := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, node := range o.DNS {
		wg.Add(1)
		go func() { defer wg.Done(); w.query(qctx, node, d.qname, o.Rate) }()
	}
	stop := func() { stopQueries(); wg.Wait() }
	defer stop()
	// finish stops the queries first, so that the result counts every one.
	finish := func(err error) (*DrillResult, error) {
		stop()
		res := w.result()
		res.Trigger, res.Record = o.Trigger, o.Record
		return res, err
	}

	if err := d.waitSteady(ctx, w); err != nil {
		return finish(err)
	}
	d.logf("steady: %d nodes answer as they should; %s", len(o.DNS), d.action(false))
	down := w.enter(phaseDown)
	if err := d.setPrimary(ctx, false); err != nil {
		return finish(err)
	}
	if err := d.waitDetection(ctx, w, down); err != nil {
		return finish(err)
	}
	if err := d.waitNodes(ctx, w, "flip to the secondary", func(n *nodeTally) bool { return !n.flip.IsZero() }); err != nil {
		return finish(err)
	}
	d.logf("flipped on every node; %s", d.action(true))
	w.enter(phaseUp)
	if err := d.setPrimary(ctx, true); err != nil {
		return finish(err)
	}
	if err := d.waitNodes(ctx, w, "answer of the primary again", func(n *nodeTally) bool { return !n.back.IsZero() }); err != nil {
		return finish(err)
	}
	d.logf("failed back on every node")
	return finish(nil)
}

// drill is one run: what it created, to remove at the end, and how it
// takes the primary down and up.
type drill struct {
	o      DrillOptions
	suffix string
	undo   []func(context.Context) // in creation order; undoAll runs it backwards

	local     [2]*drillBackend // primary, secondary; nil with Backends
	probes    [2]string        // endpoint check ids, primary and secondary
	onPrimary string           // the check the primary's record routes on
	control   string           // the routing control, viaControl only
	qname     string
}

// viaControl reports whether the drill takes the primary down with a
// routing control (TriggerRoutingControl) rather than by stopping its
// backend.
func (d *drill) viaControl() bool { return d.o.Trigger == TriggerRoutingControl }

func (d *drill) logf(format string, args ...any) {
	if d.o.Progress != nil {
		fmt.Fprintf(d.o.Progress, "drill: "+format+"\n", args...)
	}
}

// undoAll removes what the drill created, newest first: the records before
// the checks they route on, a CALCULATED check before its children, the
// checks before the backends they probe.
func (d *drill) undoAll(ctx context.Context) {
	for i := len(d.undo) - 1; i >= 0; i-- {
		d.undo[i](ctx)
	}
}

// setUp starts the backends and creates the checks, the zone and the
// records, and waits until the records are INSYNC on every node.
func (d *drill) setUp(ctx context.Context) error {
	cfgs, err := d.backends()
	if err != nil {
		return err
	}
	if err := d.createChecks(ctx, cfgs); err != nil {
		return err
	}
	return d.createRecords(ctx)
}

// backends returns the endpoint checks of the primary's and the
// secondary's backend, starting local backends unless the user named
// theirs.
func (d *drill) backends() ([]zones.HealthCheckConfig, error) {
	if len(d.o.Backends) > 0 {
		return d.o.checks, nil
	}
	var cfgs []zones.HealthCheckConfig
	for i := range d.local {
		b, err := startDrillBackend("127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("start a local backend: %w", err)
		}
		d.local[i] = b
		// The primary may have been restarted since: close the current one.
		d.undo = append(d.undo, func(context.Context) { d.local[i].srv.Close() })
		cfg, err := DrillBackendCheck("http://" + b.addr + "/")
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// createCheck creates a health check and arranges its deletion.
func (d *drill) createCheck(ctx context.Context, role string, cfg zones.HealthCheckConfig) (string, error) {
	hc, err := d.o.API.CreateHealthCheck(ctx, "dnsload-drill-"+d.suffix+"-"+role, cfg)
	if err != nil {
		return "", fmt.Errorf("create the %s health check: %w", role, err)
	}
	d.undo = append(d.undo, func(ctx context.Context) {
		if err := d.o.API.DeleteHealthCheck(ctx, hc.ID); err != nil {
			d.logf("cleanup: delete the %s health check %s: %v", role, hc.ID, err)
		}
	})
	return hc.ID, nil
}

// createChecks creates an endpoint check per backend (cfgs: the
// primary's, the secondary's) and, for the routing-control trigger, the
// control and the CALCULATED check (the primary's probe AND the control)
// the primary's record routes on.
func (d *drill) createChecks(ctx context.Context, cfgs []zones.HealthCheckConfig) error {
	var err error
	for i, role := range []string{"primary", "secondary"} {
		cfg := cfgs[i]
		cfg.RequestInterval, cfg.FailureThreshold = d.o.Interval, d.o.Threshold
		if d.probes[i], err = d.createCheck(ctx, role, cfg); err != nil {
			return err
		}
	}
	d.onPrimary = d.probes[0]
	if !d.viaControl() {
		return nil
	}
	if d.control, err = d.createCheck(ctx, "control", zones.HealthCheckConfig{Type: "ROUTING_CONTROL"}); err != nil {
		return err
	}
	d.onPrimary, err = d.createCheck(ctx, "primary-calculated", zones.HealthCheckConfig{Type: "CALCULATED",
		ChildHealthChecks: []string{d.probes[0], d.control}, HealthThreshold: 2})
	return err
}

// recordSets returns the two record sets of the drill's record kind.
func (d *drill) recordSets() []zones.RecordSet {
	ttl := int64(1)
	primary := zones.RecordSet{Name: d.qname, Type: "A", TTL: &ttl, Values: []string{drillPrimary}, SetIdentifier: "primary", HealthCheckID: d.onPrimary}
	secondary := zones.RecordSet{Name: d.qname, Type: "A", TTL: &ttl, Values: []string{drillSecondary}, SetIdentifier: "secondary", HealthCheckID: d.probes[1]}
	if d.o.Record == RecordWeighted {
		weight := int64(1)
		primary.Weight, secondary.Weight = &weight, &weight
	} else {
		primary.Failover, secondary.Failover = "PRIMARY", "SECONDARY"
	}
	return []zones.RecordSet{primary, secondary}
}

// createRecords creates the temporary zone and the drill's two record
// sets, arranges their deletion, and waits for INSYNC.
func (d *drill) createRecords(ctx context.Context) error {
	zone := "drill-" + d.suffix + ".test."
	z, _, err := d.o.API.CreateZone(ctx, zones.CreateZoneRequest{Name: zone, Comment: "dnsload drill"})
	if err != nil {
		return fmt.Errorf("create zone: %w", err)
	}
	d.qname = "www." + zone
	sets := d.recordSets()
	var batch, del zones.ChangeBatch
	for _, s := range sets {
		batch.Changes = append(batch.Changes, zones.Change{Action: zones.ActionCreate, RecordSet: s})
		del.Changes = append(del.Changes, zones.Change{Action: zones.ActionDelete, RecordSet: s})
	}
	d.undo = append(d.undo, func(ctx context.Context) {
		d.o.API.ChangeRecordSets(ctx, z.ID, del) // fails harmlessly when the create did
		if _, err := d.o.API.DeleteZone(ctx, z.ID); err != nil {
			d.logf("cleanup: delete zone %s: %v", zone, err)
		}
	})
	ci, err := d.o.API.ChangeRecordSets(ctx, z.ID, batch)
	if err != nil {
		return fmt.Errorf("create the %s record sets: %w", d.o.Record, err)
	}
	wctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	if _, err := d.o.API.WaitChange(wctx, ci.ID, 20*time.Millisecond); err != nil {
		return fmt.Errorf("waiting for INSYNC: %w", err)
	}
	return nil
}

// waitSteady waits until every node answers as it should with the primary
// up, and the checker has observed both backends healthy, so that the
// drill starts from a steady state.
func (d *drill) waitSteady(ctx context.Context, w *drillWatch) error {
	want := "answer of the primary"
	if d.o.Record == RecordWeighted {
		want = "answers of both the primary and the secondary"
	}
	if err := d.waitNodes(ctx, w, want, w.steady); err != nil {
		return err
	}
	// The endpoint checks must also have a checker's observation; the
	// calculated one (routing-control trigger) has none of its own.
	for _, id := range d.probes {
		if err := d.waitCheck(ctx, id, "HEALTHY", true); err != nil {
			return err
		}
	}
	if d.viaControl() {
		return d.waitCheck(ctx, d.onPrimary, "HEALTHY", false)
	}
	return nil
}

// waitCheck polls check id until its status is want (and, if observed,
// a checker has reported on it). It polls 20 times a second: well inside
// the API's default limit (50 a client), so cleanup and other callers are
// not throttled; a status is known to 50 ms.
func (d *drill) waitCheck(ctx context.Context, id, want string, observed bool) error {
	return pollUntil(ctx, fmt.Sprintf("%s status of check %s", want, id), 50*time.Millisecond, d.o.Timeout, func() (bool, error) {
		st, err := d.o.API.HealthCheckStatus(ctx, id)
		if err != nil {
			return false, err
		}
		return st.Status == want && (!observed || len(st.Observations) > 0), nil
	})
}

// pollUntil calls cond at once and then every interval until it reports
// true, and returns nil. An error of cond that client.Retryable refuses
// (the API's 404 or 403) ends the wait at once; other errors are retried.
// When timeout passes first, the error names what and cond's last error;
// when ctx ends first, it wraps ctx.Err().
func pollUntil(ctx context.Context, what string, every, timeout time.Duration, cond func() (bool, error)) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var lastErr error
	for {
		ok, err := cond()
		switch {
		case err == nil:
			if ok {
				return nil
			}
			lastErr = nil
		case ctx.Err() != nil:
			// The context ended during the call; reported below.
		case !client.Retryable(err):
			return fmt.Errorf("waiting for %s: %w", what, err)
		default:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), lastErr)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-deadline.C:
			if lastErr != nil {
				return fmt.Errorf("no %s within %s (last error: %v)", what, timeout, lastErr)
			}
			return fmt.Errorf("no %s within %s", what, timeout)
		case <-tick.C:
		}
	}
}

// action describes how setPrimary(up) acts, for the progress lines.
func (d *drill) action(up bool) string {
	switch {
	case d.viaControl() && up:
		return "turning the routing control ON again"
	case d.viaControl():
		return "turning the routing control OFF"
	case up:
		return "starting the primary's backend again"
	}
	return "stopping the primary's backend"
}

// setPrimary takes the primary out (up false) or brings it back: turns
// the routing control OFF or ON, or stops the primary's backend or starts
// it again on the same port.
func (d *drill) setPrimary(ctx context.Context, up bool) error {
	if d.viaControl() {
		state := "OFF"
		if up {
			state = "ON"
		}
		if _, err := d.o.API.SetRoutingControl(ctx, d.control, state); err != nil {
			return fmt.Errorf("turn the routing control %s %s: %w", d.control, state, err)
		}
		return nil
	}
	if !up {
		d.local[0].srv.Close()
		return nil
	}
	b, err := startDrillBackend(d.local[0].addr)
	if err != nil {
		return fmt.Errorf("restart the primary backend on %s: %w", d.local[0].addr, err)
	}
	d.local[0] = b
	return nil
}

// waitDetection waits until the check the primary's record routes on is
// UNHEALTHY and records how long after since that was seen.
func (d *drill) waitDetection(ctx context.Context, w *drillWatch, since time.Time) error {
	if err := d.waitCheck(ctx, d.onPrimary, "UNHEALTHY", false); err != nil {
		return fmt.Errorf("detection: %w", err)
	}
	det := time.Since(since)
	w.setDetection(det)
	d.logf("detected after %.2fs", det.Seconds())
	return nil
}

// waitNodes waits until done holds for every node; an error names the
// nodes for which it does not.
func (d *drill) waitNodes(ctx context.Context, w *drillWatch, what string, done func(*nodeTally) bool) error {
	var missing []string
	err := pollUntil(ctx, what, 5*time.Millisecond, d.o.Timeout, func() (bool, error) {
		missing = w.missing(done)
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w (still waiting on %s)", err, strings.Join(missing, ", "))
	}
	return nil
}

// Drill phases: the answers a node gives are judged by the phase.
const (
	phaseSteady = iota // before the trigger
	phaseDown          // the primary taken down
	phaseUp            // the primary brought up again
)

// nodeTally is what one node answered, as far as the drill cares.
type nodeTally struct {
	last        string          // the last right answer before the trigger
	seen        map[string]bool // right answers before the trigger
	streak      int             // weighted: answers in a row without the primary
	streakStart time.Time       // weighted: when the streak began
	flip, back  time.Time       // flip and fail-back answers; zero until seen
}

// drillWatch judges every answer as it arrives, so that times are those of
// the answers rather than of a poll.
type drillWatch struct {
	record string

	mu       sync.Mutex
	phase    int
	down, up time.Time // when phaseDown and phaseUp began
	nodes    map[string]*nodeTally
	res      DrillResult // the counts; result fills in the times
}

func newDrillWatch(record string, nodes []string) *drillWatch {
	w := &drillWatch{record: record, nodes: map[string]*nodeTally{}}
	for _, n := range nodes {
		w.nodes[n] = &nodeTally{seen: map[string]bool{}}
	}
	return w
}

// enter starts a phase and returns when it began.
func (w *drillWatch) enter(phase int) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.phase = phase
	switch phase {
	case phaseDown:
		w.down = now
	case phaseUp:
		w.up = now
	}
	return now
}

func (w *drillWatch) setDetection(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.DetectionSeconds = d.Seconds()
}

// query asks node for qname rate times a second until ctx ends, over one
// UDP socket, dialled again after a query fails (so that a late reply
// cannot be taken for the next query's; the client also skips replies of
// another id).
func (w *drillWatch) query(ctx context.Context, node, qname string, rate float64) {
	c := &dns.Client{Timeout: time.Second}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	var conn *dns.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var r *dns.Msg
		var err error
		if conn == nil {
			conn, err = c.Dial(node)
		}
		if err == nil {
			m.Id = dns.Id()
			if r, _, err = c.ExchangeWithConn(m, conn); err != nil {
				conn.Close()
				conn = nil
			}
		}
		w.judge(node, r, err, time.Now())
	}
}

// judge counts one reply (or failure) from node, received at.
func (w *drillWatch) judge(node string, r *dns.Msg, err error, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Queries++
	switch {
	case err != nil: // no reply within the client's timeout, or none at all
		w.res.Timeouts++
		return
	case r.Rcode == dns.RcodeServerFailure:
		w.res.Servfail++
		return
	}
	got := ""
	if len(r.Answer) == 1 {
		if a, ok := r.Answer[0].(*dns.A); ok {
			got = a.A.String()
		}
	}
	if got != drillPrimary && got != drillSecondary {
		w.res.WrongAnswers++
		return
	}
	// An answer received before the phase began (judged late) says
	// nothing about the phase: it is right, and that is all.
	n := w.nodes[node]
	switch {
	case w.phase == phaseSteady:
		n.last = got
		n.seen[got] = true
	case w.phase == phaseDown && !at.Before(w.down):
		w.judgeDown(n, got, at)
	case w.phase == phaseUp && !at.Before(w.up):
		if n.back.IsZero() && got == drillPrimary {
			n.back = at
		}
	}
}

// judgeDown judges a right answer given while the primary is down. A
// failover node flips at its first answer of the secondary. A weighted
// node flips at the first of FlipStreak answers in a row without the
// primary; the primary after that is a wrong answer.
func (w *drillWatch) judgeDown(n *nodeTally, got string, at time.Time) {
	if w.record != RecordWeighted {
		if n.flip.IsZero() && got == drillSecondary {
			n.flip = at
		}
		return
	}
	switch {
	case !n.flip.IsZero():
		if got == drillPrimary {
			w.res.WrongAnswers++
		}
	case got == drillPrimary:
		n.streak = 0
	default:
		if n.streak == 0 {
			n.streakStart = at
		}
		if n.streak++; n.streak >= FlipStreak {
			n.flip = n.streakStart
		}
	}
}

// steady reports whether a node answers as it should before the trigger:
// the primary last for a failover pair, both for weighted sets.
func (w *drillWatch) steady(n *nodeTally) bool {
	if w.record == RecordWeighted {
		return n.seen[drillPrimary] && n.seen[drillSecondary]
	}
	return n.last == drillPrimary
}

// missing returns the nodes for which done does not hold yet, sorted.
func (w *drillWatch) missing(done func(*nodeTally) bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for addr, n := range w.nodes {
		if !done(n) {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// result returns a copy of what was measured so far.
func (w *drillWatch) result() *DrillResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	res := w.res
	res.FlipSeconds, res.FailbackSeconds = map[string]float64{}, map[string]float64{}
	for addr, n := range w.nodes {
		if !n.flip.IsZero() {
			res.FlipSeconds[addr] = n.flip.Sub(w.down).Seconds()
		}
		if !n.back.IsZero() {
			res.FailbackSeconds[addr] = n.back.Sub(w.up).Seconds()
		}
	}
	return &res
}

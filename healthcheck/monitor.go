package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultQuorum is Route 53's rule: a check is healthy when more than 18% of
// the checkers say so.
const DefaultQuorum = 0.18

// MonitorOptions configure a Monitor.
type MonitorOptions struct {
	Client *clientv3.Client
	// Quorum: an endpoint check is HEALTHY when more than this share of
	// its live observations say healthy. 0 <= Quorum < 1; pass
	// DefaultQuorum (0.18) for Route 53's rule (0 means "any one").
	Quorum float64
	Logger *slog.Logger
	// Registerer receives the status metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// OnChange, if set, is called after a new status table that changes
	// some check's Healthy answer is published (and after the first full
	// sync), on the Monitor's goroutine: keep it short.
	OnChange func()
}

// Monitor computes every check's status from the checks and live
// observations in etcd (list-then-watch of Prefix) and publishes it as an
// immutable table: Healthy is lock-free and never touches etcd.
type Monitor struct {
	o       MonitorOptions
	log     *slog.Logger
	metrics *monitorMetrics
	table   atomic.Pointer[statusTable]
	synced  atomic.Bool

	// Owned by the Run goroutine.
	checks  map[string]HealthCheck
	obs     map[string]map[string]Observation // check id -> checker -> observation
	last    map[string]bool                   // last computed status of endpoint checks
	metered map[[2]string]bool                // observation metric label pairs set
	runMu   sync.Mutex                        // one Run at a time
}

// statusTable is one published generation of statuses.
type statusTable struct {
	checks map[string]*checkStatus
}

type checkStatus struct {
	healthy      bool
	observations []StatusObservation
}

// NewMonitor returns a Monitor; Run starts it. Until its first sync,
// every check is healthy.
func NewMonitor(o MonitorOptions) (*Monitor, error) {
	if o.Client == nil {
		return nil, errors.New("healthcheck: MonitorOptions.Client is nil")
	}
	if o.Quorum < 0 || o.Quorum >= 1 {
		return nil, fmt.Errorf("healthcheck: quorum %g: want 0 <= quorum < 1", o.Quorum)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMonitorMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	mon := &Monitor{o: o, log: o.Logger, metrics: m,
		checks: map[string]HealthCheck{}, obs: map[string]map[string]Observation{},
		last: map[string]bool{}, metered: map[[2]string]bool{}}
	mon.table.Store(&statusTable{checks: map[string]*checkStatus{}})
	return mon, nil
}

// Healthy reports whether check id is healthy. An unknown id is healthy (a
// record set whose check is not known yet keeps answering). Lock-free; safe
// on the DNS query path.
func (m *Monitor) Healthy(id string) bool {
	st := m.table.Load().checks[id]
	return st == nil || st.healthy
}

// Status returns check id's status and its live observations, sorted by
// checker; ok is false for a check the Monitor does not know (yet).
func (m *Monitor) Status(id string) (Status, bool) {
	st := m.table.Load().checks[id]
	if st == nil {
		return Status{Status: Healthy, Observations: []StatusObservation{}}, false
	}
	out := Status{Status: Unhealthy, Observations: append([]StatusObservation{}, st.observations...)}
	if st.healthy {
		out.Status = Healthy
	}
	return out, true
}

// Synced reports whether the Monitor has read all of etcd once.
func (m *Monitor) Synced() bool { return m.synced.Load() }

// Run lists and watches Prefix until ctx ends; it returns nil. Errors are
// retried; the last table stays published meanwhile.
func (m *Monitor) Run(ctx context.Context) error {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	listWatch(ctx, m.o.Client, Prefix, 1000, m.log, m.reset, m.apply)
	return nil
}

func (m *Monitor) reset(kvs []*mvccpb.KeyValue, rev int64) {
	m.checks = map[string]HealthCheck{}
	m.obs = map[string]map[string]Observation{}
	for _, kv := range kvs {
		m.put(kv)
	}
	m.recompute(!m.synced.Load())
	m.synced.Store(true)
	m.log.Debug("health checks synced", "checks", len(m.checks), "revision", rev)
}

func (m *Monitor) apply(evs []*clientv3.Event) {
	for _, ev := range evs {
		if ev.Type == clientv3.EventTypeDelete {
			m.del(string(ev.Kv.Key))
		} else {
			m.put(ev.Kv)
		}
	}
	m.recompute(false)
}

func (m *Monitor) put(kv *mvccpb.KeyValue) {
	k := string(kv.Key)
	switch {
	case strings.HasPrefix(k, ChecksPrefix):
		var hc HealthCheck
		if err := json.Unmarshal(kv.Value, &hc); err != nil || hc.ID == "" {
			m.log.Error("undecodable health check; skipped", "key", k, "err", err)
			return
		}
		m.checks[hc.ID] = hc
	case strings.HasPrefix(k, ObsPrefix):
		id, node, ok := parseObsKey(k)
		if !ok {
			return
		}
		var o Observation
		if err := json.Unmarshal(kv.Value, &o); err != nil {
			m.log.Error("undecodable observation; skipped", "key", k, "err", err)
			return
		}
		o.Checker = node // the key says who wrote it
		if m.obs[id] == nil {
			m.obs[id] = map[string]Observation{}
		}
		m.obs[id][node] = o
	}
}

func (m *Monitor) del(k string) {
	switch {
	case strings.HasPrefix(k, ChecksPrefix):
		delete(m.checks, strings.TrimPrefix(k, ChecksPrefix))
	case strings.HasPrefix(k, ObsPrefix):
		if id, node, ok := parseObsKey(k); ok {
			delete(m.obs[id], node)
			if len(m.obs[id]) == 0 {
				delete(m.obs, id)
			}
		}
	}
}

// recompute builds and publishes a new table, calling OnChange when some
// check's Healthy answer changed (or always, with force).
func (m *Monitor) recompute(force bool) {
	prev := m.table.Load()
	next := &statusTable{checks: make(map[string]*checkStatus, len(m.checks))}
	for id := range m.checks {
		m.eval(id, next, map[string]bool{})
	}
	for id := range m.last {
		if _, ok := m.checks[id]; !ok {
			delete(m.last, id)
		}
	}
	m.table.Store(next)

	changed := force
	for id, st := range next.checks {
		old := prev.checks[id]
		if (old == nil || old.healthy) != st.healthy {
			changed = true
			if old != nil {
				m.metrics.flips.WithLabelValues(id).Inc()
				m.log.Info("health check status changed", "id", id, "healthy", st.healthy)
			}
		}
		m.metrics.status.WithLabelValues(id).Set(b2f(st.healthy))
	}
	for id, old := range prev.checks {
		if next.checks[id] == nil {
			m.metrics.status.DeleteLabelValues(id)
			m.metrics.flips.DeleteLabelValues(id)
			changed = changed || !old.healthy
		}
	}
	m.meterObservations()
	if changed && m.o.OnChange != nil {
		m.o.OnChange()
	}
}

func (m *Monitor) meterObservations() {
	now := map[[2]string]bool{}
	for id, byNode := range m.obs {
		if _, ok := m.checks[id]; !ok {
			continue
		}
		for node, o := range byNode {
			now[[2]string{id, node}] = true
			m.metrics.observations.WithLabelValues(id, node).Set(b2f(o.Healthy))
		}
	}
	for k := range m.metered {
		if !now[k] {
			m.metrics.observations.DeleteLabelValues(k[0], k[1])
		}
	}
	m.metered = now
}

// eval computes check id's status into t, recursively for CALCULATED
// checks; visiting holds the checks on the current path: a cycle counts as
// unhealthy. An unknown id is healthy (as Healthy says).
func (m *Monitor) eval(id string, t *statusTable, visiting map[string]bool) bool {
	if st := t.checks[id]; st != nil {
		return st.healthy
	}
	hc, ok := m.checks[id]
	if !ok {
		return true
	}
	if visiting[id] {
		return false
	}
	visiting[id] = true
	defer delete(visiting, id)
	cfg := hc.Config
	st := &checkStatus{observations: m.observations(id)}
	switch {
	case cfg.Disabled:
		st.healthy = true
	case cfg.Type == TypeRoutingControl:
		st.healthy = (hc.RoutingControlState != StateOff) != cfg.Inverted
	case cfg.Type == TypeCalculated:
		n := 0
		for _, ch := range cfg.ChildHealthChecks {
			if m.eval(ch, t, visiting) {
				n++
			}
		}
		st.healthy = (n >= cfg.HealthThreshold) != cfg.Inverted
	default: // endpoint: inverted was applied by the checkers
		st.healthy = m.quorum(id, st.observations)
	}
	t.checks[id] = st
	return st.healthy
}

// quorum decides an endpoint check from its live observations: healthy when
// more than Quorum of them say so; with none, the last status (healthy for a
// check never observed).
func (m *Monitor) quorum(id string, obs []StatusObservation) bool {
	if len(obs) == 0 {
		last, ok := m.last[id]
		return !ok || last
	}
	n := 0
	for _, o := range obs {
		if o.Healthy {
			n++
		}
	}
	h := float64(n)/float64(len(obs)) > m.o.Quorum
	m.last[id] = h
	return h
}

func (m *Monitor) observations(id string) []StatusObservation {
	byNode := m.obs[id]
	out := make([]StatusObservation, 0, len(byNode))
	for _, o := range byNode {
		out = append(out, StatusObservation{Checker: o.Checker, Region: o.Region, Status: o.Status, Healthy: o.Healthy, CheckedAt: o.CheckedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Checker < out[j].Checker })
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

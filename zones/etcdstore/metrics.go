package etcdstore

import (
	"github.com/prometheus/client_golang/prometheus"
)

// syncMetrics are the Syncer's; all are registered through the Registerer
// given in SyncerOptions (nil: not registered).
type syncMetrics struct {
	revision   prometheus.Gauge
	lag        prometheus.Histogram
	fullSyncs  prometheus.Counter
	state      *prometheus.GaugeVec
	zones      prometheus.Gauge
	recordSets prometheus.Gauge
	fromCache  prometheus.Gauge
}

var syncStates = []string{StateStarting, StateInSync, StateCatchingUp, StateUnreachable, StateLocalCopy}

func newSyncMetrics(reg prometheus.Registerer) *syncMetrics {
	m := &syncMetrics{
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "healthdns_sync_revision",
			Help: "The etcd data revision this node's snapshot holds."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "healthdns_sync_apply_lag_seconds",
			Help:    "Time from a change's commit in etcd to this node serving it (writer's clock to this node's clock).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		fullSyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "healthdns_sync_full_syncs_total",
			Help: "Full listings of the zones from etcd (at start, after compaction or a lost watch)."}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "healthdns_sync_state",
			Help: "1 for the current state of the sync with etcd, 0 for the others."}, []string{"state"}),
		zones: prometheus.NewGauge(prometheus.GaugeOpts{Name: "healthdns_zones",
			Help: "Hosted zones this node serves."}),
		recordSets: prometheus.NewGauge(prometheus.GaugeOpts{Name: "healthdns_record_sets",
			Help: "Record sets this node serves, over all zones."}),
		fromCache: prometheus.NewGauge(prometheus.GaugeOpts{Name: "healthdns_sync_serving_local_copy",
			Help: "1 while the node serves the local copy of its data because etcd has not been reached since start."}),
	}
	for _, s := range syncStates {
		m.state.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.revision, m.lag, m.fullSyncs, m.state, m.zones, m.recordSets, m.fromCache)
	}
	return m
}

func (m *syncMetrics) setState(state string) {
	for _, s := range syncStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.state.WithLabelValues(s).Set(v)
	}
	if state == StateLocalCopy {
		m.fromCache.Set(1)
	} else {
		m.fromCache.Set(0)
	}
}

// storeMetrics are the Store's.
type storeMetrics struct {
	insync  prometheus.Histogram
	commits *prometheus.CounterVec
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		insync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "healthdns_change_insync_seconds",
			Help:    "Time from a change's submission to the first GetChange on this node that found it INSYNC (changes first seen PENDING).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthdns_store_writes_total",
			Help: "Writes to etcd by kind and result (ok, conflict: retried after another writer, error)."}, []string{"kind", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.insync, m.commits)
	}
	return m
}

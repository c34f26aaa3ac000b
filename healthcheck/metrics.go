package healthcheck

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers cs on reg (nil: nowhere).
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return errors.New("healthcheck: metrics already registered on this Registerer (one Monitor and one Checker per registry)")
			}
			return err
		}
	}
	return nil
}

// monitorMetrics are the Monitor's: what every node believes.
type monitorMetrics struct {
	status       *prometheus.GaugeVec
	observations *prometheus.GaugeVec
	flips        *prometheus.CounterVec
}

func newMonitorMetrics(reg prometheus.Registerer) (*monitorMetrics, error) {
	m := &monitorMetrics{
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "healthdns_healthcheck_status",
			Help: "Status of each health check as this node computes it: 1 healthy, 0 unhealthy.",
		}, []string{"id"}),
		observations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "healthdns_healthcheck_observations",
			Help: "Live observation of each health check by each checker node: 1 healthy, 0 unhealthy; absent when the checker's observation has expired.",
		}, []string{"id", "checker"}),
		flips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthdns_healthcheck_flips_total",
			Help: "Times each health check's computed status changed between healthy and unhealthy.",
		}, []string{"id"}),
	}
	if err := register(reg, m.status, m.observations, m.flips); err != nil {
		return nil, err
	}
	return m, nil
}

// checkerMetrics are the Checker's: what this node's probes see.
type checkerMetrics struct {
	probeDuration *prometheus.HistogramVec
	writes        prometheus.Counter
	writeErrors   prometheus.Counter
}

func newCheckerMetrics(reg prometheus.Registerer) (*checkerMetrics, error) {
	m := &checkerMetrics{
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "healthdns_healthcheck_probe_duration_seconds",
			Help:    "Duration of health check probes sent by this node, by check type and result.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 4, 6},
		}, []string{"type", "result"}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "healthdns_healthcheck_observation_writes_total",
			Help: "Observations this checker node wrote to etcd (on change and on the slow refresh, not per probe).",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "healthdns_healthcheck_observation_write_errors_total",
			Help: "Failed etcd writes of this checker node's observations (retried under a new lease).",
		}),
	}
	if err := register(reg, m.probeDuration, m.writes, m.writeErrors); err != nil {
		return nil, err
	}
	return m, nil
}

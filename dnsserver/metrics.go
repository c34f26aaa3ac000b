package dnsserver

import (
	"fmt"
	"sync/atomic"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// qtypeLabels is the bounded set of qtype label values; any other type is
// counted as "other" so that clients cannot grow the series count.
var qtypeLabels = []uint16{
	dns.TypeA, dns.TypeNS, dns.TypeCNAME, dns.TypeSOA, dns.TypePTR, dns.TypeMX,
	dns.TypeTXT, dns.TypeAAAA, dns.TypeSRV, dns.TypeNAPTR, dns.TypeDS,
	dns.TypeRRSIG, dns.TypeDNSKEY, dns.TypeSVCB, dns.TypeHTTPS, dns.TypeCAA,
	dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR,
}

var rcodeLabels = []int{
	dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure,
	dns.RcodeNameError, dns.RcodeNotImplemented, dns.RcodeRefused,
	dns.RcodeYXDomain, dns.RcodeBadVers,
}

var (
	qtypeIndex = func() map[uint16]int {
		m := make(map[uint16]int, len(qtypeLabels))
		for i, t := range qtypeLabels {
			m[t] = i
		}
		return m
	}()
	numQtypes = len(qtypeLabels) + 1 // + "other"
	numRcodes = len(rcodeLabels) + 1
)

func qtypeSlot(t uint16) int {
	if i, ok := qtypeIndex[t]; ok {
		return i
	}
	return len(qtypeLabels)
}

func rcodeSlot(rc int) int {
	for i, r := range rcodeLabels {
		if r == rc {
			return i
		}
	}
	return len(rcodeLabels)
}

func qtypeLabel(slot int) string {
	if slot < len(qtypeLabels) {
		return dns.TypeToString[qtypeLabels[slot]]
	}
	return "other"
}

func rcodeLabel(slot int) string {
	if slot < len(rcodeLabels) {
		return dns.RcodeToString[rcodeLabels[slot]]
	}
	return "other"
}

// metrics are the responder's Prometheus metrics. The per-query counter is
// resolved once per label combination and cached, so the query path does not
// hash labels or take the vector's lock.
type metrics struct {
	queries   *prometheus.CounterVec
	panics    prometheus.Counter
	truncated [2]prometheus.Counter
	cache     []atomic.Pointer[counterBox] // [qtype][rcode][transport]
}

type counterBox struct{ c prometheus.Counter }

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthdns_dns_queries_total",
			Help: "DNS queries answered, by query type (a fixed set, else other), response code and transport.",
		}, []string{"qtype", "rcode", "transport"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "healthdns_dns_panics_total",
			Help: "Queries whose answer panicked and were answered SERVFAIL.",
		}),
		cache: make([]atomic.Pointer[counterBox], numQtypes*numRcodes*2),
	}
	truncated := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthdns_dns_truncated_responses_total",
		Help: "Responses sent with the TC bit set, by transport.",
	}, []string{"transport"})
	m.truncated[UDP] = truncated.WithLabelValues(UDP.String())
	m.truncated[TCP] = truncated.WithLabelValues(TCP.String())
	if reg != nil {
		for _, c := range []prometheus.Collector{m.queries, m.panics, truncated} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dnsserver: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(qtype uint16, rcode int, tr Transport, truncated bool) {
	q, r := qtypeSlot(qtype), rcodeSlot(rcode)
	slot := &m.cache[(q*numRcodes+r)*2+int(tr&1)]
	box := slot.Load()
	if box == nil {
		box = &counterBox{m.queries.WithLabelValues(qtypeLabel(q), rcodeLabel(r), tr.String())}
		slot.Store(box)
	}
	box.c.Inc()
	if truncated {
		m.truncated[tr&1].Inc()
	}
}

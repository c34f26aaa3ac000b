package dnsserver

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

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
	// qtypeSlots maps a query type below len(qtypeSlots) to its slot;
	// larger types (CAA is 257) are looked up in qtypeLabels.
	qtypeSlots = func() (t [256]uint8) {
		for i := range t {
			t[i] = uint8(len(qtypeLabels))
		}
		for i, q := range qtypeLabels {
			if q < 256 {
				t[q] = uint8(i)
			}
		}
		return t
	}()
	numQtypes = len(qtypeLabels) + 1 // + "other"
	numRcodes = len(rcodeLabels) + 1
	numSlots  = numQtypes * numRcodes * 2
)

func qtypeSlot(t uint16) int {
	if t < 256 {
		return int(qtypeSlots[t])
	}
	for i, q := range qtypeLabels {
		if q == t {
			return i
		}
	}
	return len(qtypeLabels)
}

func rcodeSlot(rc int) int {
	if rc >= 0 && rc < len(rcodeSlots) {
		return int(rcodeSlots[rc])
	}
	for i, r := range rcodeLabels {
		if r == rc {
			return i
		}
	}
	return len(rcodeLabels)
}

// rcodeSlots maps the 4-bit RCODEs to their slots.
var rcodeSlots = func() (t [16]uint8) {
	for rc := range t {
		t[rc] = uint8(len(rcodeLabels))
		for i, r := range rcodeLabels {
			if r == rc {
				t[rc] = uint8(i)
			}
		}
	}
	return t
}()

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

// metrics are the responder's Prometheus metrics. Queries are counted in
// shards of plain atomic counters, one per UDP read loop and one shared by
// the rest (TCP, miekg/dns's handlers), and summed when scraped: the query
// path neither hashes labels nor takes a lock, and loops on different
// cores do not share a cache line.
type metrics struct {
	queriesDesc   *prometheus.Desc
	truncatedDesc *prometheus.Desc
	latencyDesc   *prometheus.Desc
	sizeDesc      *prometheus.Desc
	rrlDesc       *prometheus.Desc
	tcpConnsDesc  *prometheus.Desc
	tcpWaitsDesc  *prometheus.Desc
	zoneDesc      *prometheus.Desc
	panics        prometheus.Counter
	srv           *Server

	mu     sync.Mutex
	shards []*queryCounts
	shared *queryCounts
}

// queryCounts is one shard of the query counters.
type queryCounts struct {
	_         [64]byte         // keep the counters off other data's cache lines
	truncated [2]atomic.Uint64 // by transport
	rrl       [2]atomic.Uint64 // replies dropped, slipped by RRL
	n         []atomic.Uint64  // [qtype][rcode][transport]
	// Histograms by transport: bucket counts (the last is +Inf) and sums.
	latency    [2][numLatencyBuckets + 1]atomic.Uint64
	latencySum [2]atomic.Uint64 // nanoseconds
	size       [2][len(sizeBuckets) + 1]atomic.Uint64
	sizeSum    [2]atomic.Uint64 // octets
	// zoneSlot is this shard's slot in the per-zone query counters
	// (zoneQueries): a UDP loop's index, or sharedSlot.
	zoneSlot int
}

// Latency buckets double from 1 us: 1, 2, 4 ... 65536 us (then +Inf), so
// that a query's bucket is the bit length of its microseconds.
const numLatencyBuckets = 17

// sizeBuckets are response sizes in octets: 512 is the pre-EDNS limit,
// 1232 the advertised UDP size (MaxUDPSize), 65535 the TCP limit.
var sizeBuckets = [...]int{64, 128, 256, 512, 768, 1024, 1232, 2048, 4096, 16384, 65535}

// observeReply records a reply's latency and size.
func (c *queryCounts) observeReply(tr Transport, d time.Duration, size int) {
	tr &= 1
	us := uint64(d / time.Microsecond)
	i := bits.Len64(us) // 0 us -> 0, 1 us -> 1, 2-3 us -> 2 ... (upper bounds 1, 2, 4 ...)
	if i > numLatencyBuckets {
		i = numLatencyBuckets
	}
	c.latency[tr][i].Add(1)
	c.latencySum[tr].Add(uint64(d))
	j := 0
	for j < len(sizeBuckets) && size > sizeBuckets[j] {
		j++
	}
	c.size[tr][j].Add(1)
	c.sizeSum[tr].Add(uint64(size))
}

func newMetrics(reg prometheus.Registerer, srv *Server) (*metrics, error) {
	m := &metrics{
		srv: srv,
		rrlDesc: prometheus.NewDesc("healthdns_dns_rrl_limited_total",
			"UDP replies held back by response rate limiting (--rrl-rate): dropped, or sent truncated (slipped).",
			[]string{"action"}, nil),
		tcpConnsDesc: prometheus.NewDesc("healthdns_dns_tcp_connections",
			"TCP connections open now (at most --dns-tcp-max-conns).", nil, nil),
		zoneDesc: prometheus.NewDesc("healthdns_dns_zone_queries_total",
			"DNS queries answered from each hosted zone (by its name; the other labels are on healthdns_dns_queries_total, to keep the series few).",
			[]string{"zone"}, nil),
		tcpWaitsDesc: prometheus.NewDesc("healthdns_dns_tcp_accept_waits_total",
			"Times a new TCP connection had to wait because every slot was taken.", nil, nil),
		queriesDesc: prometheus.NewDesc("healthdns_dns_queries_total",
			"DNS queries answered, by query type (a fixed set, else other), response code and transport.",
			[]string{"qtype", "rcode", "transport"}, nil),
		truncatedDesc: prometheus.NewDesc("healthdns_dns_truncated_responses_total",
			"Responses sent with the TC bit set, by transport.", []string{"transport"}, nil),
		latencyDesc: prometheus.NewDesc("healthdns_dns_response_duration_seconds",
			"Time from reading a query to having its reply ready to send, by transport (UDP: from the read of its batch).",
			[]string{"transport"}, nil),
		sizeDesc: prometheus.NewDesc("healthdns_dns_response_size_bytes",
			"Sizes of the replies sent, by transport.", []string{"transport"}, nil),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "healthdns_dns_panics_total",
			Help: "Queries whose answer panicked and were answered SERVFAIL.",
		}),
	}
	m.shared = m.newShard(sharedSlot)
	if reg != nil {
		for _, c := range []prometheus.Collector{m, m.panics} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dnsserver: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// newShard returns a new shard of query counters, counted from now on,
// that counts zones' queries in zoneSlot.
func (m *metrics) newShard(zoneSlot int) *queryCounts {
	c := &queryCounts{n: make([]atomic.Uint64, numSlots), zoneSlot: zoneSlot}
	m.mu.Lock()
	m.shards = append(m.shards, c)
	m.mu.Unlock()
	return c
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.queriesDesc
	ch <- m.truncatedDesc
	ch <- m.latencyDesc
	ch <- m.sizeDesc
	ch <- m.rrlDesc
	ch <- m.tcpConnsDesc
	ch <- m.tcpWaitsDesc
	ch <- m.zoneDesc
}

// Collect implements prometheus.Collector: the sums over the shards; a
// series appears once counted.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	shards := m.shards
	m.mu.Unlock()
	sum := make([]uint64, numSlots)
	var trunc, limited [2]uint64
	for _, c := range shards {
		for i := range limited {
			limited[i] += c.rrl[i].Load()
		}
		for i := range sum {
			sum[i] += c.n[i].Load()
		}
		for i := range trunc {
			trunc[i] += c.truncated[i].Load()
		}
	}
	for i, v := range sum {
		if v == 0 {
			continue
		}
		tr, rest := Transport(i%2), i/2
		q, r := rest/numRcodes, rest%numRcodes
		ch <- prometheus.MustNewConstMetric(m.queriesDesc, prometheus.CounterValue, float64(v),
			qtypeLabel(q), rcodeLabel(r), tr.String())
	}
	for _, tr := range []Transport{UDP, TCP} {
		ch <- prometheus.MustNewConstMetric(m.truncatedDesc, prometheus.CounterValue, float64(trunc[tr]), tr.String())
	}
	if m.srv != nil && m.srv.rrl != nil {
		ch <- prometheus.MustNewConstMetric(m.rrlDesc, prometheus.CounterValue, float64(limited[0]), "dropped")
		ch <- prometheus.MustNewConstMetric(m.rrlDesc, prometheus.CounterValue, float64(limited[1]), "slipped")
	}
	if m.srv != nil && m.srv.opts.Table != nil {
		for origin, z := range m.srv.opts.Table.Load().zones {
			ch <- prometheus.MustNewConstMetric(m.zoneDesc, prometheus.CounterValue, float64(z.qc.sum()), origin)
		}
	}
	if m.srv != nil {
		if ln := m.srv.tcpLn.Load(); ln != nil {
			ch <- prometheus.MustNewConstMetric(m.tcpConnsDesc, prometheus.GaugeValue, float64(ln.open.Load()))
			ch <- prometheus.MustNewConstMetric(m.tcpWaitsDesc, prometheus.CounterValue, float64(ln.waits.Load()))
		}
	}
	for _, tr := range []Transport{UDP, TCP} {
		var lat [numLatencyBuckets + 1]uint64
		var size [len(sizeBuckets) + 1]uint64
		var latSum, sizeSum uint64
		for _, c := range shards {
			for i := range lat {
				lat[i] += c.latency[tr][i].Load()
			}
			for i := range size {
				size[i] += c.size[tr][i].Load()
			}
			latSum += c.latencySum[tr].Load()
			sizeSum += c.sizeSum[tr].Load()
		}
		lb := make(map[float64]uint64, numLatencyBuckets)
		var cum uint64
		for i := range numLatencyBuckets {
			cum += lat[i]
			lb[float64(uint64(1)<<i)/1e6] = cum
		}
		ch <- prometheus.MustNewConstHistogram(m.latencyDesc, cum+lat[numLatencyBuckets], float64(latSum)/1e9, lb, tr.String())
		sb := make(map[float64]uint64, len(sizeBuckets))
		cum = 0
		for i, ub := range sizeBuckets {
			cum += size[i]
			sb[float64(ub)] = cum
		}
		ch <- prometheus.MustNewConstHistogram(m.sizeDesc, cum+size[len(sizeBuckets)], float64(sizeSum), sb, tr.String())
	}
}

// observe counts a reply in this shard.
func (c *queryCounts) observe(qtype uint16, rcode int, tr Transport, truncated bool) {
	c.n[(qtypeSlot(qtype)*numRcodes+rcodeSlot(rcode))*2+int(tr&1)].Add(1)
	if truncated {
		c.truncated[tr&1].Add(1)
	}
}

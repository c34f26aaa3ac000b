package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// perfZoneSets returns the record sets of ../shared/bench/gen-zone.sh's
// perf.test zone with n hosts: SOA, NS, ns1 A and host<i> A 10.x.y.z.
func perfZoneSets(n int) []*zones.Set {
	const origin = "perf.test."
	mk := func(rr dns.RR) *zones.Set {
		h := rr.Header()
		h.Class = dns.ClassINET
		h.Ttl = 300
		s := &zones.Set{Qtype: h.Rrtype, RRs: []dns.RR{rr}}
		s.Name, s.Type = h.Name, dns.TypeToString[h.Rrtype]
		ttl := int64(300)
		s.TTL = &ttl
		return s
	}
	sets := make([]*zones.Set, 0, n+3)
	sets = append(sets,
		mk(&dns.SOA{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA}, Ns: "ns1." + origin,
			Mbox: "hostmaster." + origin, Serial: 1, Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 300}),
		mk(&dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS}, Ns: "ns1." + origin}),
		mk(&dns.A{Hdr: dns.RR_Header{Name: "ns1." + origin, Rrtype: dns.TypeA}, A: net.IPv4(127, 0, 0, 1).To4()}),
	)
	for i := range n {
		sets = append(sets, mk(&dns.A{
			Hdr: dns.RR_Header{Name: fmt.Sprintf("host%d.%s", i, origin), Rrtype: dns.TypeA},
			A:   net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)},
		}))
	}
	return sets
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSnapshotMemory reports the heap a snapshot of the perf.test
// zone takes per record set: "table-B/set" is what the Table adds to the
// record sets it is given (index, nodes, derived answers, prepared wire
// replies), "total-B/set" includes the record sets themselves (which the
// syncer hands over). Run with -benchtime=1x; the figure does not depend on
// b.N.
func BenchmarkSnapshotMemory(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			base := heapInUse()
			sets := perfZoneSets(n)
			withSets := heapInUse()
			tb := NewTable()
			if err := tb.Apply([]zones.ZoneDelta{{Origin: "perf.test.", Reset: true, Put: sets}}); err != nil {
				b.Fatal(err)
			}
			withTable := heapInUse()
			runtime.KeepAlive(sets)
			runtime.KeepAlive(tb)
			b.ReportMetric(float64(withTable-withSets)/float64(len(sets)), "table-B/set")
			b.ReportMetric(float64(withTable-base)/float64(len(sets)), "total-B/set")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// scaleQueries is the perf.test query mix of gen-zone.sh (A for each host,
// A for a missing name every 10 hosts, AAAA every 10 hosts) over hosts spread
// across the whole zone, so that a large zone is not served from a few
// cache lines.
func scaleQueries(n, count int) []*dns.Msg {
	var out []*dns.Msg
	step := max(n/count, 1)
	for i := 0; len(out) < count; i += step {
		h := i % n
		out = append(out, newQuery(fmt.Sprintf("host%d.perf.test.", h), dns.TypeA, 0, false))
		switch h % 10 {
		case 0:
			out = append(out, newQuery(fmt.Sprintf("missing%d.perf.test.", h), dns.TypeA, 0, false))
		case 5:
			out = append(out, newQuery(fmt.Sprintf("host%d.perf.test.", h), dns.TypeAAAA, 0, false))
		}
	}
	return out
}

// BenchmarkScale measures the cost of one query of the perf.test mix at 1k
// and 1M record sets: the per-query cost must not grow with the zone.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		tb := NewTable()
		if err := tb.Apply([]zones.ZoneDelta{{Origin: "perf.test.", Reset: true, Put: perfZoneSets(n)}}); err != nil {
			b.Fatal(err)
		}
		snap := tb.Load()
		queries := scaleQueries(n, 8192)
		remote := netip.MustParseAddrPort("192.0.2.1:53")
		pkts := make([][]byte, len(queries))
		for i, q := range queries {
			var err error
			if pkts[i], err = q.Pack(); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("fast-%dk", n/1000), func(b *testing.B) {
			out := make([]byte, 0, 4096)
			var q fastQuery
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, ok := appendFast(snap, &q, pkts[i%len(pkts)], out[:0]); !ok {
					b.Fatal("slow path")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("answer-%dk", n/1000), func(b *testing.B) {
			buf := make([]byte, 0, 2048)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				resp := Answer(snap, queries[i%len(queries)], UDP, remote)
				if _, err := Pack(resp, buf); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

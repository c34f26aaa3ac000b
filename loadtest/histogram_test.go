package loadtest

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value lands in a bucket that holds it, buckets do not overlap,
	// and no bucket is wider than 1/128 of its values.
	prev := -1
	for _, v := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 123456, 1 << 30, 1<<40 - 1} {
		i := bucketOf(v)
		lo, w := bucketRange(i)
		if v < lo || v >= lo+w {
			t.Errorf("%d in bucket %d = [%d, %d)", v, i, lo, lo+w)
		}
		if v >= 256 && float64(w)/float64(lo) > 1.0/128 {
			t.Errorf("bucket %d = [%d, %d) is too wide", i, lo, lo+w)
		}
		if i < prev {
			t.Errorf("bucket of %d is %d, before %d", v, i, prev)
		}
		prev = i
	}
	for i := 1; i < numBuckets; i++ {
		lo, _ := bucketRange(i)
		plo, pw := bucketRange(i - 1)
		if plo+pw != lo {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, plo+pw)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram is not all zeros")
	}

	// 1..100000 µs: the p-quantile by nearest rank is p*100000 µs.
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond},
		{0.9, 90 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{0.999, 99900 * time.Microsecond},
		{1, 100 * time.Millisecond},
	} {
		got := h.Quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.004 {
			t.Errorf("q%v = %v, want %v (off by %.3f%%)", c.q, got, c.want, 100*rel)
		}
	}
	if h.Mean() != 50000500*time.Nanosecond {
		t.Errorf("mean %v, want 50.0005ms exactly", h.Mean())
	}
	if h.Min() != time.Microsecond || h.Max() != 100*time.Millisecond {
		t.Errorf("min %v max %v", h.Min(), h.Max())
	}

	// A skewed distribution, split over histograms and merged, against the
	// exact quantiles of the sorted values.
	r := rand.New(rand.NewPCG(1, 2))
	var parts [3]Histogram
	var all []time.Duration
	for i := 0; i < 30000; i++ {
		d := time.Duration(math.Exp(r.NormFloat64()*1.5+12)) + time.Duration(r.IntN(100))
		parts[i%3].Record(d)
		all = append(all, d)
	}
	var m Histogram
	for i := range parts {
		m.Merge(&parts[i])
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got := m.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.004 {
			t.Errorf("merged q%v = %v, exact %v (off by %.3f%%)", q, got, exact, 100*rel)
		}
	}
	if m.Count() != 30000 || m.Min() != all[0] || m.Max() != all[len(all)-1] {
		t.Errorf("merged count %d min %v max %v", m.Count(), m.Min(), m.Max())
	}

	// Small values are exact; negative ones count as 0.
	var s Histogram
	s.Record(-5)
	s.Record(7)
	s.Record(200)
	if s.Quantile(0.34) != 7 || s.Quantile(1) != 200 || s.Quantile(0.1) != 0 {
		t.Errorf("small values: %v %v %v", s.Quantile(0.1), s.Quantile(0.34), s.Quantile(1))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := 0; i < b.N; i++ {
		h.Record(time.Duration(i&0xfffff) * 97)
	}
}

package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets, as HdrHistogram does:
// values under 256 ns are exact; above, each power of two is split into 128
// buckets, so a bucket is at most 1/128 of its value wide and a quantile,
// reported at its bucket's midpoint, is off by at most 0.4%. It covers up
// to about 2^40 ns (18 minutes); larger values land in the last bucket.
// The zero value is ready to use. Not safe for concurrent use.
type Histogram struct {
	counts   []uint64
	n        uint64
	sum      float64 // ns
	min, max int64
}

const (
	subBits     = 7
	subCount    = 1 << subBits // buckets per power of two
	maxExponent = 33           // values up to 2^(maxExponent+subBits+1) ns
	numBuckets  = (maxExponent + 2) * subCount
)

// bucketOf maps ns >= 0 to its bucket.
func bucketOf(ns int64) int {
	v := uint64(ns)
	if v < 2*subCount {
		return int(v)
	}
	exp := bits.Len64(v) - (subBits + 1) // >= 1
	if exp > maxExponent {
		return numBuckets - 1
	}
	return exp*subCount + int(v>>uint(exp))
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width int64) {
	if i < 2*subCount {
		return int64(i), 1
	}
	exp := i/subCount - 1
	mant := int64(i - exp*subCount)
	return mant << uint(exp), 1 << uint(exp)
}

// Record adds one duration; negative ones count as 0.
func (h *Histogram) Record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	h.counts[bucketOf(ns)]++
	if h.n == 0 || ns < h.min {
		h.min = ns
	}
	if ns > h.max {
		h.max = ns
	}
	h.n++
	h.sum += float64(ns)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Mean returns the exact average, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.n)))
}

// Min and Max return the exact extremes, 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest duration recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the q-quantile (0 < q <= 1) by nearest rank: the
// smallest recorded value that at least q of all values do not exceed, to
// within its bucket. It is clamped to the exact min and max; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := lo + (w-1)/2
			v = max(v, h.min)
			v = min(v, h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}

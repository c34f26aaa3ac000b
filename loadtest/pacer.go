package loadtest

import (
	"math"
	"time"
)

// pacer is a sending schedule: the n-th query (from 0) is due at
// n/rate seconds after the start. Asking how many are due by a point in time,
// rather than sleeping between packets, keeps the average rate exact
// whatever the timer's granularity: a late wakeup sends the queries that fell
// due meanwhile in one burst.
type pacer struct {
	rate float64 // queries per second; 0 means no schedule (as fast as possible)
}

// due returns how many queries are due by elapsed (0 before the start): one
// at 0, then one more every 1/rate.
func (p pacer) due(elapsed time.Duration) int64 {
	if elapsed < 0 {
		return 0
	}
	// A float estimate, then made exact against at, so that due and at
	// never disagree at a boundary.
	n := int64(float64(elapsed)*p.rate/1e9) + 1
	for p.at(n) <= elapsed {
		n++
	}
	for n > 0 && p.at(n-1) > elapsed {
		n--
	}
	return n
}

// at returns when the n-th query (from 0) is due.
func (p pacer) at(n int64) time.Duration {
	return time.Duration(math.Ceil(float64(n) / p.rate * 1e9))
}

// total returns how many queries a run of length d sends: those due strictly
// before d.
func (p pacer) total(d time.Duration) int64 {
	return p.due(d - 1)
}

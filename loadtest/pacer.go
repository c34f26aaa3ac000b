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
//
// Sockets sharing a rate each get a pacer with rate/N and a phase of i/N
// of their interval, so that together they send evenly spaced queries
// rather than N at a time.
type pacer struct {
	rate  float64       // queries per second; 0 means no schedule (as fast as possible)
	phase time.Duration // when the first query is due
}

// due returns how many queries are due by elapsed (0 before the phase):
// one at the phase, then one more every 1/rate.
func (p pacer) due(elapsed time.Duration) int64 {
	elapsed -= p.phase
	if elapsed < 0 {
		return 0
	}
	// A float estimate, then made exact against at, so that due and at
	// never disagree at a boundary.
	n := int64(float64(elapsed)*p.rate/1e9) + 1
	for p.offset(n) <= elapsed {
		n++
	}
	for n > 0 && p.offset(n-1) > elapsed {
		n--
	}
	return n
}

// at returns when the n-th query (from 0) is due.
func (p pacer) at(n int64) time.Duration {
	return p.phase + p.offset(n)
}

// offset returns when the n-th query is due after the first.
func (p pacer) offset(n int64) time.Duration {
	return time.Duration(math.Ceil(float64(n) / p.rate * 1e9))
}

// total returns how many queries a run of length d sends: those due strictly
// before d.
func (p pacer) total(d time.Duration) int64 {
	return p.due(d - 1)
}

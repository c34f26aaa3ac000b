package loadtest

import (
	"slices"
	"testing"
	"time"
)

// The schedule is counted, not timed: how many queries are due at given
// moments, whatever the clock did in between.
func TestPacerDue(t *testing.T) {
	p := pacer{rate: 1000}
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{
		{-time.Millisecond, 0},
		{0, 1},
		{999 * time.Microsecond, 1},
		{time.Millisecond, 2},
		{1500 * time.Microsecond, 2},
		{time.Second - 1, 1000},
		{time.Second, 1001},
	} {
		if got := p.due(c.at); got != c.want {
			t.Errorf("due(%v) = %d, want %d", c.at, got, c.want)
		}
	}
	for n := int64(0); n < 5000; n++ {
		if at := p.at(n); p.due(at) != n+1 || (at > 0 && p.due(at-1) != n) {
			t.Fatalf("query %d is due at %v, but due there is %d (and %d just before)", n, at, p.due(at), p.due(at-1))
		}
	}

	// Whole runs: the queries due strictly before the end.
	for _, c := range []struct {
		rate float64
		d    time.Duration
		want int64
	}{
		{20000, 10 * time.Second, 200000},
		{5000, 10 * time.Second, 50000},
		{3, time.Second, 3},
		{0.5, 10 * time.Second, 5},
		{7, 1500 * time.Millisecond, 11}, // at 0, 1/7, ..., 10/7 s
		{1000, 0, 0},
	} {
		if got := (pacer{rate: c.rate}).total(c.d); got != c.want {
			t.Errorf("rate %v for %v: %d queries, want %d", c.rate, c.d, got, c.want)
		}
	}
}

// A late wakeup sends what fell due meanwhile, in one burst, so the count
// over the run stays exact.
func TestWorkerWantCatchesUp(t *testing.T) {
	w := &worker{tr: newTracker(time.Second, 0), pace: pacer{rate: 1000}, quota: -1, dur: time.Second}
	if got := w.want(int64(50*time.Millisecond), 1000); got != 51 {
		t.Fatalf("after 50ms, %d due, want 51", got)
	}
	w.tr.next = 51
	if got := w.want(int64(50*time.Millisecond), 1000); got != 0 {
		t.Fatalf("nothing more due, got %d", got)
	}
	if got := w.want(int64(300*time.Millisecond), 64); got != 64 {
		t.Fatalf("a burst is capped at the batch: %d", got)
	}
	// After the end, only what fell due before it.
	w.tr.next = 990
	if got := w.want(int64(5*time.Second), 1000); got != 10 {
		t.Fatalf("after the end, %d due, want 10", got)
	}
	w.quota = 995
	if got := w.want(int64(5*time.Second), 1000); got != 5 {
		t.Fatalf("the quota allows %d, want 5", got)
	}
}

// Sockets sharing a rate take turns: together their queries are evenly
// spaced, and over a run they send the rate's count.
func TestPacerPhases(t *testing.T) {
	const rate, n = 20000.0, 4
	var ps []pacer
	for i := 0; i < n; i++ {
		ps = append(ps, pacer{rate: rate / n, phase: time.Duration(float64(i) / rate * 1e9)})
	}
	var all []time.Duration
	for _, p := range ps {
		for k := int64(0); k < 100; k++ {
			all = append(all, p.at(k))
		}
	}
	slices.Sort(all)
	for i, at := range all {
		if want := time.Duration(i) * 50 * time.Microsecond; at < want || at > want+time.Microsecond {
			t.Fatalf("query %d of the 4 sockets is due at %v, want %v", i, at, want)
		}
	}
	var total int64
	for _, p := range ps {
		total += p.total(10 * time.Second)
	}
	if total != 200000 {
		t.Errorf("4 sockets send %d queries in 10 s at 20000/s, want 200000", total)
	}
	if got := ps[3].due(100 * time.Microsecond); got != 0 {
		t.Errorf("the last socket's first query is due at 150µs, but %d are due at 100µs", got)
	}
}

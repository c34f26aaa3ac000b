package clustertest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Query sends one UDP query and returns the reply.
func Query(addr, name string, qtype uint16, timeout time.Duration) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: timeout}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// QueryStats counts a QueryLoop's queries to one address.
type QueryStats struct {
	Sent, OK, Failed int
	// Failures holds the first failures, with when they happened.
	Failures []string
	// Duration is how long the loop ran.
	Duration time.Duration
}

func (s QueryStats) String() string {
	qps := 0.0
	if s.Duration > 0 {
		qps = float64(s.Sent) / s.Duration.Seconds()
	}
	return fmt.Sprintf("sent %d, ok %d, failed %d over %s (%.0f q/s)", s.Sent, s.OK, s.Failed, s.Duration.Round(time.Millisecond), qps)
}

// QueryLoopOptions configure StartQueryLoop.
type QueryLoopOptions struct {
	// Addrs are the DNS servers queried, each by its own goroutines.
	Addrs []string
	// Name and Type are the question asked.
	Name string
	Type uint16
	// Check says whether a reply is right (nil error) or a failure. A
	// query that times out or cannot be sent is a failure too.
	Check func(*dns.Msg) error
	// Workers per address (default 2), each sending its next query as soon
	// as the last one is answered, paced to at most one per Interval
	// (default 1ms).
	Workers  int
	Interval time.Duration
	// Timeout per query (default 3s: what a stub resolver waits, about,
	// before it reports a failure).
	Timeout time.Duration
}

// QueryLoop sends queries to DNS servers until Stop.
type QueryLoop struct {
	o      QueryLoopOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
	mu     sync.Mutex
	stats  map[string]*QueryStats
}

// StartQueryLoop starts querying.
func StartQueryLoop(o QueryLoopOptions) *QueryLoop {
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Interval == 0 {
		o.Interval = time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &QueryLoop{o: o, cancel: cancel, start: time.Now(), stats: map[string]*QueryStats{}}
	for _, addr := range o.Addrs {
		l.stats[addr] = &QueryStats{}
		for range o.Workers {
			l.wg.Add(1)
			go func() { defer l.wg.Done(); l.run(ctx, addr) }()
		}
	}
	return l
}

func (l *QueryLoop) run(ctx context.Context, addr string) {
	c := &dns.Client{Timeout: l.o.Timeout}
	t := time.NewTicker(l.o.Interval)
	defer t.Stop()
	for ctx.Err() == nil {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(l.o.Name), l.o.Type)
		r, _, err := c.Exchange(m, addr)
		if err == nil && l.o.Check != nil {
			err = l.o.Check(r)
		}
		l.mu.Lock()
		st := l.stats[addr]
		st.Sent++
		if err == nil {
			st.OK++
		} else {
			st.Failed++
			if len(st.Failures) < 10 {
				st.Failures = append(st.Failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			}
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// Stats returns the counts so far, by address.
func (l *QueryLoop) Stats() map[string]QueryStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]QueryStats, len(l.stats))
	for a, s := range l.stats {
		c := *s
		c.Failures = append([]string(nil), s.Failures...)
		c.Duration = time.Since(l.start)
		out[a] = c
	}
	return out
}

// Stop ends the loop and returns the final counts, by address.
func (l *QueryLoop) Stop() map[string]QueryStats {
	l.cancel()
	l.wg.Wait()
	return l.Stats()
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Defaults of Options.
const (
	DefaultDuration = 10 * time.Second
	// DefaultSockets is dnsperf's default (-c 1): the same load, and the
	// same cost of reading replies. More sockets spread a server's work
	// over more of its threads (SO_REUSEPORT) but cost each reply more on
	// the way in: at 20k qps a reply took 19.9 us from the wire to
	// dnsload's timestamp with 4 sockets, 10.7-15.2 us with 1
	// (docs/benchmarks.md).
	DefaultSockets = 1
	DefaultTimeout = time.Second
	// DefaultTCPWindow is the most queries in flight on one TCP connection
	// unless MaxOutstanding says otherwise: enough to keep a connection
	// busy, and few enough that a server closing it early (after its own
	// per-connection limit) leaves few queries to send again.
	DefaultTCPWindow = 1000
)

// Options configure a Run.
type Options struct {
	// Server is the DNS server's host:port. Required.
	Server string
	// Queries are sent in order, from the start again after the last; each
	// socket starts at its own place in the list. Required.
	Queries []Query
	// Rate is the queries per second over all sockets; 0 sends as fast as
	// the sockets (and MaxOutstanding) allow.
	Rate float64
	// Duration is how long to send (default 10 s). The run then waits up to
	// Timeout for the last replies.
	Duration time.Duration
	// MaxQueries stops sending after that many queries (0: no limit).
	MaxQueries int64
	// TCP sends over pipelined TCP connections instead of UDP sockets.
	TCP bool
	// Sockets is the number of UDP sockets or TCP connections (default 1).
	Sockets int
	// Threads is the number of loops the UDP sockets are spread over, each
	// a goroutine that sends, receives and waits for them and can keep a
	// core busy (default 1, as dnsperf's -T). At a fixed rate, with two Ps
	// for each, a loop is a sender and a receiver goroutine, as dnsperf's
	// threads are (Linux).
	Threads int
	// Timeout is how long a query may wait for its reply before it counts
	// as lost (default 1 s).
	Timeout time.Duration
	// MaxOutstanding bounds the queries in flight over all sockets, as
	// dnsperf's -q does (0: 65,536 a UDP socket, the id space, and
	// DefaultTCPWindow a TCP connection).
	MaxOutstanding int
	// Progress, if not nil, receives a line a second while the run lasts.
	Progress io.Writer
}

// Result is what a run measured. Sent = Received + Lost.
type Result struct {
	Sent, Received, Lost uint64
	// Late counts replies that matched no query in flight: after their
	// query's timeout, or strangers.
	Late uint64
	// Elapsed is the time spent sending; QPS is Received / Elapsed.
	Elapsed time.Duration
	QPS     float64
	// Latency holds the time from send to reply of every received query.
	Latency *Histogram
	// Rcodes counts replies by RCODE name (NOERROR, NXDOMAIN, ...).
	Rcodes map[string]uint64
	// Reconnects counts TCP connections opened again after the server
	// closed one; the queries unanswered on it were sent again on the next.
	Reconnects uint64
	// SendErrors counts writes that failed (the query was not counted as
	// sent), e.g. ECONNREFUSED while nothing listens.
	SendErrors uint64
	// SendError is the last of them, or of the TCP dials.
	SendError error
	// Target is the number of queries the schedule called for (0 at rate
	// 0); Sent falls short of it when the generator cannot keep up.
	Target int64
	// Delayed counts queries sent more than a millisecond after they fell
	// due: held back by MaxOutstanding while the server lagged, or by a
	// busy generator. Their latency leaves out the wait, so a high count
	// means the latency figures flatter the server.
	Delayed uint64
}

// LossPercent returns Lost as a percentage of Sent.
func (r *Result) LossPercent() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(r.Sent)
}

// RcodeNames returns the rcodes seen, most frequent first.
func (r *Result) RcodeNames() []string {
	names := make([]string, 0, len(r.Rcodes))
	for n := range r.Rcodes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := r.Rcodes[names[i]], r.Rcodes[names[j]]
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	return names
}

func (o *Options) check() error {
	if o.Server == "" {
		return errors.New("no server address")
	}
	if _, _, err := net.SplitHostPort(o.Server); err != nil {
		return fmt.Errorf("server %q: want host:port", o.Server)
	}
	if len(o.Queries) == 0 {
		return errors.New("no queries")
	}
	if uint64(len(o.Queries)) > math.MaxUint32 {
		return errors.New("too many queries")
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return fmt.Errorf("rate %v: want a number >= 0", o.Rate)
	}
	if o.Duration < 0 || o.Timeout < 0 || o.Sockets < 0 || o.Threads < 0 || o.MaxQueries < 0 || o.MaxOutstanding < 0 {
		return errors.New("duration, timeout, sockets, threads, max queries and max outstanding must not be negative")
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Sockets == 0 {
		o.Sockets = DefaultSockets
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	return nil
}

// worker is one socket or connection's share of a run.
type worker struct {
	tr      *tracker
	queries []Query
	qpos    int   // next query to send
	pace    pacer // this worker's share of the rate
	quota   int64 // most queries this worker sends; -1: no limit
	start   time.Time
	dur     time.Duration

	stoppedAt int64 // when sending ended, ns since start
	flushed   bool  // the last round, after the end, has been allowed
	delayed   uint64
}

// lateAfter is how far behind its schedule a query may go out before it
// counts as delayed.
const lateAfter = int64(time.Millisecond)

// stamp records query qi going out now with id, and whether it is late.
func (w *worker) stamp(id uint16, qi int, now int64) {
	if w.pace.rate > 0 && now-int64(w.pace.at(int64(w.tr.next))) > lateAfter {
		w.delayed++
	}
	w.tr.stamp(id, qi, now)
}

// now returns the time since the run's start, in ns.
func (w *worker) now() int64 { return int64(time.Since(w.start)) }

// want returns how many queries the worker may send at now, at most batch:
// those due on the schedule (after the end, all that fell due before it),
// within the quota.
func (w *worker) want(now int64, batch int) int {
	sent := int64(w.tr.next)
	n := int64(batch)
	if time.Duration(now) >= w.dur {
		n = math.MaxInt32
	}
	if w.pace.rate > 0 {
		due := w.pace.due(min(time.Duration(now), w.dur-1))
		n = min(n, due-sent)
	}
	if w.quota >= 0 {
		n = min(n, w.quota-sent)
	}
	return int(max(n, 0))
}

// sending reports whether the worker still has queries to send at now.
func (w *worker) sending(ctx context.Context, now int64) bool {
	if ctx.Err() != nil {
		return false
	}
	if w.quota >= 0 && int64(w.tr.next) >= w.quota {
		return false
	}
	if time.Duration(now) < w.dur {
		return true
	}
	// After the end, one last round for the queries that fell due before
	// it, should the loop have seen the end late.
	if w.pace.rate > 0 && !w.flushed && int64(w.tr.next) < w.pace.total(w.dur) {
		w.flushed = true
		return true
	}
	return false
}

func (w *worker) nextQuery() int {
	i := w.qpos
	w.qpos++
	if w.qpos == len(w.queries) {
		w.qpos = 0
	}
	return i
}

// Run sends queries to o.Server as o says and returns what it measured. It
// returns early, with the figures so far, when ctx ends (after waiting for
// the replies in flight); its error is for bad options or a socket it
// cannot open.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	n := o.Sockets
	workers := make([]*worker, n)
	limit := 0
	if o.MaxOutstanding > 0 {
		limit = (o.MaxOutstanding + n - 1) / n
	} else if o.TCP {
		limit = DefaultTCPWindow
	}
	for i := range workers {
		w := &worker{
			tr:      newTracker(o.Timeout, limit),
			queries: o.Queries,
			qpos:    i * len(o.Queries) / n,
			quota:   -1,
			dur:     o.Duration,
		}
		if o.Rate > 0 {
			w.pace.rate = o.Rate / float64(n)
			w.pace.phase = time.Duration(float64(i) / o.Rate * 1e9)
		}
		if o.MaxQueries > 0 {
			w.quota = o.MaxQueries / int64(n)
			if int64(i) < o.MaxQueries%int64(n) {
				w.quota++
			}
		}
		workers[i] = w
	}

	var (
		runs []func(context.Context) error
		udps []*udpSocket
		tcps []*tcpConn
	)
	defer func() {
		for _, s := range udps {
			s.close()
		}
	}()
	for _, w := range workers {
		if o.TCP {
			c := &tcpConn{worker: w, server: o.Server, timeout: o.Timeout}
			tcps = append(tcps, c)
			runs = append(runs, c.run)
			continue
		}
		s, err := newUDPSocket(w, o.Server)
		if err != nil {
			return nil, err
		}
		udps = append(udps, s)
	}
	// UDP sockets share Threads loops, round robin.
	loops := min(o.Threads, len(udps))
	split := o.Rate > 0 && runtime.GOMAXPROCS(0) >= 2*loops
	for t := 0; t < loops; t++ {
		var group []*udpSocket
		for i := t; i < len(udps); i += o.Threads {
			group = append(group, udps[i])
		}
		runs = append(runs, func(ctx context.Context) error { return runUDP(ctx, group, split) })
	}

	// Collect the set-up's garbage (the query file, the trackers' tables)
	// before the clock starts: a collection must stop every goroutine, and
	// one waiting in a raw ppoll stops only when the wait ends, up to
	// rawPollMax later, holding up the other meanwhile. The loops allocate
	// nothing, so no collection falls inside the run (GODEBUG=gctrace=1).
	runtime.GC()
	start := time.Now()
	for _, w := range workers {
		w.start = start
	}

	stopProgress := make(chan struct{})
	var wg sync.WaitGroup
	if o.Progress != nil {
		wg.Add(1)
		go func() { defer wg.Done(); reportProgress(o.Progress, start, workers, stopProgress) }()
	}
	errs := make([]error, len(runs))
	var rwg sync.WaitGroup
	for i, run := range runs {
		rwg.Add(1)
		go func() { defer rwg.Done(); errs[i] = run(ctx) }()
	}
	rwg.Wait()
	close(stopProgress)
	wg.Wait()

	res := &Result{Latency: &Histogram{}, Rcodes: map[string]uint64{}}
	for _, w := range workers {
		t := w.tr
		res.Sent += t.sent.Load()
		res.Received += t.received.Load()
		res.Lost += t.lost.Load()
		res.Late += t.late.Load()
		res.Latency.Merge(&t.hist)
		for rc, c := range t.rcodes {
			if c > 0 {
				res.Rcodes[rcodeName(rc)] += c
			}
		}
		if w.pace.rate > 0 {
			target := w.pace.total(w.dur)
			if w.quota >= 0 {
				target = min(target, w.quota)
			}
			res.Target += target
		}
		res.Elapsed = max(res.Elapsed, time.Duration(w.stoppedAt))
		res.Delayed += w.delayed
	}
	res.Elapsed = min(res.Elapsed, o.Duration)
	for _, s := range udps {
		res.SendErrors += s.sendErrors
		if s.lastErr != nil {
			res.SendError = s.lastErr
		}
	}
	for _, c := range tcps {
		res.Reconnects += c.reconnects
		res.SendErrors += c.sendErrors
		if c.lastErr != nil {
			res.SendError = c.lastErr
		}
	}
	if res.Elapsed > 0 {
		res.QPS = float64(res.Received) / res.Elapsed.Seconds()
	}
	return res, errors.Join(errs...)
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

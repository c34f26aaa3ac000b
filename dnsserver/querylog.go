package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// QueryLog writes one JSON line per query, with the fields of Route 53's
// query log: time, hosted zone (id and name), query name and type, response
// code, transport, resolver address, EDNS Client Subnet, the identifier of
// the record set routing chose, and this node (Route 53's edge location).
//
// It never blocks the query path: each UDP loop (and the TCP handlers
// together) appends its lines to a buffer of its own under a mutex no one
// else takes but the flusher, which swaps the buffer for an empty one every
// FlushInterval (or sooner when one fills) and writes it out. When the
// writer falls behind and a buffer reaches MaxBuffer, lines are dropped and
// counted (healthdns_querylog_dropped_total), never waited for.
type QueryLog struct {
	w        io.Writer
	node     string
	interval time.Duration
	maxBuf   int
	log      *slog.Logger

	mu     sync.Mutex
	shards []*qlShard
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed bool

	lines, dropped, writeErrs prometheus.Counter
}

// QueryLogOptions configure a QueryLog.
type QueryLogOptions struct {
	// Writer receives whole lines, in batches; required.
	Writer io.Writer
	// Node names this node in each line ("node").
	Node string
	// FlushInterval is how long a line may wait in memory (default 200ms).
	FlushInterval time.Duration
	// MaxBuffer is the most bytes one loop holds before it drops lines
	// (default 4 MiB).
	MaxBuffer  int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// qlShard is one loop's buffer.
type qlShard struct {
	_   [64]byte
	mu  sync.Mutex
	buf []byte
	n   uint64 // lines in buf
}

// qlBufSize is the capacity a shard's query-log buffer (and the flusher's
// spare) starts with; the flusher does not keep one grown past 4 times it.
const qlBufSize = 64 << 10

// NewQueryLog starts the flusher; Close stops it and writes what is left.
func NewQueryLog(o QueryLogOptions) (*QueryLog, error) {
	if o.Writer == nil {
		return nil, errors.New("dnsserver: QueryLogOptions.Writer is nil")
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	q := &QueryLog{
		w: o.Writer, node: o.Node, interval: o.FlushInterval, maxBuf: o.MaxBuffer, log: o.Logger,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		lines: prometheus.NewCounter(prometheus.CounterOpts{Name: "healthdns_querylog_lines_total",
			Help: "Lines written to the query log."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "healthdns_querylog_dropped_total",
			Help: "Query log lines dropped because the writer fell behind (the query path never waits for it)."}),
		writeErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "healthdns_querylog_write_errors_total",
			Help: "Failed writes of query log batches (the lines of a failed batch are lost)."}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{q.lines, q.dropped, q.writeErrs} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("dnsserver: register query log metrics: %w", err)
			}
		}
	}
	go q.run()
	return q, nil
}

func (q *QueryLog) shard() *qlShard {
	s := &qlShard{buf: make([]byte, 0, qlBufSize)}
	q.mu.Lock()
	q.shards = append(q.shards, s)
	q.mu.Unlock()
	return s
}

// run flushes every interval, or when a loop's buffer fills.
func (q *QueryLog) run() {
	defer close(q.done)
	t := time.NewTicker(q.interval)
	defer t.Stop()
	spare := make([]byte, 0, qlBufSize)
	for {
		select {
		case <-q.stop:
			q.flush(&spare)
			return
		case <-t.C:
		case <-q.kick:
		}
		q.flush(&spare)
	}
}

// flush swaps each shard's buffer for spare and writes the full one.
func (q *QueryLog) flush(spare *[]byte) {
	q.mu.Lock()
	shards := q.shards
	q.mu.Unlock()
	for _, s := range shards {
		s.mu.Lock()
		full, n := s.buf, s.n
		if len(full) == 0 {
			s.mu.Unlock()
			continue
		}
		s.buf, s.n = (*spare)[:0], 0
		s.mu.Unlock()
		q.lines.Add(float64(n))
		if _, err := q.w.Write(full); err != nil {
			q.writeErrs.Inc()
			q.log.Warn("query log write", "err", err)
		}
		if cap(full) > 4*qlBufSize {
			full = make([]byte, 0, qlBufSize) // do not keep a buffer grown by one burst
		}
		*spare = full[:0]
	}
}

// Close flushes what is buffered and stops the flusher.
func (q *QueryLog) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// qlEntry is what a line says of one query.
type qlEntry struct {
	at      time.Time
	zone    *zone // nil: no hosted zone holds the name
	qname   []byte
	qtype   uint16
	rcode   int
	tr      Transport
	remote  netip.AddrPort
	ecs     netip.Prefix
	setID   string
	dropped bool // response rate limiting dropped the reply
	slipped bool // ... or sent it truncated
}

// logTo appends e to the shard; the line is dropped when the shard is full.
func (q *QueryLog) logTo(s *qlShard, e *qlEntry) {
	s.mu.Lock()
	if len(s.buf) >= q.maxBuf {
		s.mu.Unlock()
		q.dropped.Inc()
		return
	}
	s.buf = q.appendLine(s.buf, e)
	s.n++
	full := len(s.buf) >= q.maxBuf/4
	s.mu.Unlock()
	if full {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// appendLine appends e as a JSON object and a newline.
func (q *QueryLog) appendLine(b []byte, e *qlEntry) []byte {
	b = append(b, `{"time":"`...)
	b = e.at.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, `","zone_id":`...)
	if e.zone != nil {
		b = appendJSONString(b, e.zone.id)
		b = append(b, `,"zone":`...)
		b = appendJSONString(b, e.zone.origin)
	} else {
		b = append(b, `"","zone":""`...)
	}
	b = append(b, `,"qname":`...)
	b = appendJSONString(b, string(e.qname)) // no allocation: the conversion does not escape
	b = append(b, `,"qtype":"`...)
	if s, ok := dns.TypeToString[e.qtype]; ok {
		b = append(b, s...)
	} else {
		b = append(b, "TYPE"...)
		b = strconv.AppendUint(b, uint64(e.qtype), 10)
	}
	b = append(b, `","rcode":"`...)
	if s, ok := dns.RcodeToString[e.rcode]; ok {
		b = append(b, s...)
	} else {
		b = strconv.AppendInt(b, int64(e.rcode), 10)
	}
	b = append(b, `","transport":"`...)
	b = append(b, e.tr.String()...)
	b = append(b, `","resolver":"`...)
	if e.remote.IsValid() {
		b = e.remote.Addr().Unmap().AppendTo(b)
	}
	b = append(b, `","ecs":"`...)
	if e.ecs.IsValid() {
		b = e.ecs.AppendTo(b)
	}
	b = append(b, `","set_id":`...)
	b = appendJSONString(b, e.setID)
	if e.dropped || e.slipped {
		b = append(b, `,"rrl":"`...)
		if e.dropped {
			b = append(b, "drop"...)
		} else {
			b = append(b, "slip"...)
		}
		b = append(b, '"')
	}
	b = append(b, `,"node":`...)
	b = appendJSONString(b, q.node)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

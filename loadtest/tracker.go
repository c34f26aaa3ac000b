package loadtest

import (
	"sync/atomic"
	"time"
)

// idSpace is the number of DNS message ids, and so the most queries one
// socket or connection can have in flight.
const idSpace = 1 << 16

// tracker follows the queries in flight on one socket or connection. Query
// number n (its sequence) uses id n mod 65,536; ts[id] holds its send time
// (ns since the run's start, plus 1) while it is in flight and 0 once it is
// answered or lost. Because ids are used in sequence, send times grow with
// the sequence and one cursor (oldest) finds every expired query in order.
//
// One goroutine sends (acquire, stamp, unstamp, sweep, which own next and
// oldest); one, possibly the same, receives (reply, which owns hist and
// rcodes). They meet only in ts and qi, through atomics: whoever swaps a
// send time to 0 decides whether the query was answered or lost, so a query
// counts once.
type tracker struct {
	timeout int64  // ns
	limit   uint64 // most queries in flight

	ts []atomic.Int64  // by id: send time + 1, or 0
	qi []atomic.Uint32 // by id: the query's index in the file

	next   uint64 // sequence of the next query; sender-owned
	oldest uint64 // no query before it is in flight; sender-owned

	sent, received, lost atomic.Uint64
	late                 atomic.Uint64 // replies to no query in flight (after its timeout, or unknown)

	hist   Histogram  // receiver-owned
	rcodes [16]uint64 // receiver-owned, by the header's 4-bit RCODE
}

func newTracker(timeout time.Duration, limit int) *tracker {
	l := uint64(idSpace)
	if limit > 0 && limit < idSpace {
		l = uint64(limit)
	}
	return &tracker{
		timeout: int64(timeout),
		limit:   l,
		ts:      make([]atomic.Int64, idSpace),
		qi:      make([]atomic.Uint32, idSpace),
	}
}

func (t *tracker) inFlight() uint64 {
	// Read lost and received before sent, so that a concurrent reply can
	// only make the figure too high, never wrap below zero.
	done := t.lost.Load() + t.received.Load()
	return t.sent.Load() - done
}

// acquire returns the id for the next query, or false while that id (or the
// in-flight limit) is taken by a query younger than the timeout.
func (t *tracker) acquire(now int64) (uint16, bool) {
	if t.limit < idSpace && t.inFlight() >= t.limit {
		t.sweep(now)
		if t.inFlight() >= t.limit {
			return 0, false
		}
	}
	id := uint16(t.next)
	if v := t.ts[id].Load(); v != 0 {
		if now-(v-1) < t.timeout {
			return 0, false
		}
		t.sweep(now) // expires it, and any before it, in order
		if t.ts[id].Load() != 0 {
			return 0, false
		}
	}
	return id, true
}

// stamp records that query qi goes out now with the id acquire returned.
// It must come before the write: a reply may be read before the write
// returns.
func (t *tracker) stamp(id uint16, qi int, now int64) {
	t.qi[id].Store(uint32(qi))
	t.ts[id].Store(now + 1)
	t.next++
	t.sent.Add(1)
}

// unstamp takes back the last stamp after a failed write.
func (t *tracker) unstamp(id uint16) {
	if v := t.ts[id].Load(); v != 0 && t.ts[id].CompareAndSwap(v, 0) {
		t.next--
		t.sent.Add(^uint64(0))
	}
}

// sweep counts as lost every query older than the timeout and moves oldest
// past every query no longer in flight.
func (t *tracker) sweep(now int64) {
	for t.oldest < t.next {
		id := uint16(t.oldest)
		if v := t.ts[id].Load(); v != 0 {
			if now-(v-1) < t.timeout {
				return
			}
			if t.ts[id].CompareAndSwap(v, 0) {
				t.lost.Add(1)
			}
		}
		t.oldest++
	}
}

// idle reports whether no query is in flight (after a sweep).
func (t *tracker) idle() bool { return t.oldest == t.next }

// nextExpiry returns when the oldest query in flight expires, and false when
// none is in flight.
func (t *tracker) nextExpiry() (int64, bool) {
	for s := t.oldest; s < t.next; s++ {
		if v := t.ts[uint16(s)].Load(); v != 0 {
			return v - 1 + t.timeout, true
		}
	}
	return 0, false
}

// reply matches one reply read at now against the query in flight with its
// id: the id must be in flight and, when the reply has a question, it must
// be the query's. Anything else counts as late.
func (t *tracker) reply(msg []byte, now int64, queries []Query) {
	if len(msg) < 12 || msg[2]&0x80 == 0 {
		t.late.Add(1)
		return
	}
	id := uint16(msg[0])<<8 | uint16(msg[1])
	v := t.ts[id].Load()
	if v == 0 {
		t.late.Add(1)
		return
	}
	q := &queries[t.qi[id].Load()]
	if msg[4] != 0 || msg[5] != 0 { // QDCOUNT; FORMERR replies may have none
		if !sameQuestion(msg[12:], q.wire[12:]) {
			t.late.Add(1)
			return
		}
	}
	if !t.ts[id].CompareAndSwap(v, 0) {
		t.late.Add(1)
		return
	}
	t.received.Add(1)
	t.hist.Record(time.Duration(now - (v - 1)))
	t.rcodes[msg[3]&0x0f]++
}

// sameQuestion reports whether the reply's question section starts with the
// query's question q (uncompressed name, type, class), the name compared
// without regard to ASCII case.
func sameQuestion(reply, q []byte) bool {
	if len(reply) < len(q) || len(q) < 5 {
		return false
	}
	nameLen := len(q) - 4
	for i := 0; i < nameLen; i++ {
		a, b := reply[i], q[i]
		if a != b && lower(a) != lower(b) {
			return false
		}
	}
	return string(reply[nameLen:len(q)]) == string(q[nameLen:])
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

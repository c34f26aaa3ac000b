package loadtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// tcpConn is one pipelined TCP connection (RFC 7766) and its successors: a
// writer sends queries with RFC 1035's two-byte length prefix without
// waiting for replies, a reader matches the replies as they come.
//
// Servers close a connection after some number of queries (healthdns and
// miekg/dns after 128), dropping those they did not read. Queries left
// unanswered by a connection the server closed early are sent again on the
// next one, first, keeping their first send time as a retrying client
// would. The number of replies such a connection gave becomes the budget of
// the next ones: a connection takes that many queries, then the writer
// half-closes it and the server answers all of them before it closes; a
// query unanswered on such a connection was read and ignored, and is left to
// expire. Every 16th clean connection tries an eighth more, so a budget
// learnt low (a reset connection loses replies) recovers.
type tcpConn struct {
	*worker
	server  string
	timeout time.Duration

	budget   uint64 // queries a connection takes; 0 while unknown
	good     uint64 // most queries a connection was seen to take
	cleanRun int    // clean connections since the last probe or early close

	// By id, writer-owned: the connection a query was last sent on, or
	// needResend. Read together with the tracker's send time, since ids
	// are reused.
	on      []uint32
	resends []uint16 // ids to send again, in sequence order
	conns   uint32   // connections opened

	reconnects, sendErrors uint64
	lastErr                error
}

const (
	needResend   = ^uint32(0)
	probeEvery   = 16
	probeDivisor = 8
)

// connState is one connection's bookkeeping.
type connState struct {
	conn       net.Conn
	id         uint32
	sent       uint64        // writer-owned
	replies    atomic.Uint64 // reader-owned
	eof        bool          // the server ended it cleanly (reader-owned until done)
	reset      bool          // the server reset it (reader-owned until done)
	broken     bool          // the server closed it first, as the writer saw (writer-owned)
	halfClosed bool          // the writer sent FIN (writer-owned)
	closedAt   int64         // when, ns since the run's start
	done       chan struct{} // closed when the reader ends
}

func (c *tcpConn) run(ctx context.Context) error {
	c.on = make([]uint32, idSpace)
	stopped := false
	for {
		now := c.now()
		c.tr.sweep(now)
		if !stopped && !c.sending(ctx, now) {
			stopped = true
			c.stoppedAt = now
		}
		if stopped && c.tr.idle() {
			return nil
		}
		conn, err := net.DialTimeout("tcp", c.server, c.timeout)
		if err != nil {
			c.sendErrors++
			c.lastErr = err
			// Nothing goes out meanwhile; what is in flight expires.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if c.conns > 0 {
			c.reconnects++
		}
		c.conns++
		cs := &connState{conn: conn, id: c.conns, done: make(chan struct{})}
		go func() {
			defer close(cs.done)
			c.read(cs)
		}()
		c.write(ctx, cs, &stopped)
		conn.Close()
		<-cs.done
		c.settle(cs)
	}
}

// settle learns from a connection that ended and marks its unanswered
// queries for sending again when the server may not have read them.
func (c *tcpConn) settle(cs *connState) {
	tookAll := cs.halfClosed && cs.eof
	switch {
	case tookAll:
		c.good = max(c.good, cs.sent)
		c.budget = c.good
		if c.cleanRun++; c.cleanRun >= probeEvery {
			c.cleanRun = 0
			c.budget = c.good + c.good/probeDivisor + 1
		}
	case cs.sent > cs.replies.Load() && (cs.eof || cs.reset || cs.broken):
		// Closed early by the server: it takes no more than this.
		c.cleanRun = 0
		if r := cs.replies.Load(); r > 0 {
			c.good = max(c.good, r)
			if c.budget == 0 || c.budget > c.good {
				c.budget = c.good
			}
		}
	}
	if tookAll {
		return
	}
	tr := c.tr
	for s := tr.oldest; s < tr.next; s++ {
		id := uint16(s)
		if c.on[id] == cs.id && tr.ts[id].Load() != 0 {
			c.on[id] = needResend
			c.resends = append(c.resends, id)
		}
	}
}

// write sends on cs until the run is over and every query answered or lost,
// the connection's budget is spent and its replies are in, or the
// connection fails.
func (c *tcpConn) write(ctx context.Context, cs *connState, stopped *bool) {
	tr := c.tr
	buf := make([]byte, 0, 64*1024)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	for {
		now := c.now()
		buf = buf[:0]
		// Queries a closed connection left unanswered go first.
		for len(c.resends) > 0 && c.room(cs) > 0 {
			id := c.resends[0]
			c.resends = c.resends[1:]
			if c.on[id] != needResend || tr.ts[id].Load() == 0 {
				continue // answered late, expired, or its id reused
			}
			c.on[id] = cs.id
			buf = appendFrame(buf, &c.queries[tr.qi[id].Load()], id)
			cs.sent++
		}
		want, sent := 0, 0
		if !*stopped && c.sending(ctx, now) {
			want = min(c.want(now, sendBatch), c.room(cs))
			for sent < want {
				now = c.now()
				id, ok := tr.acquire(now)
				if !ok {
					break
				}
				buf = appendFrame(buf, &c.queries[c.qpos], id)
				c.stamp(id, c.nextQuery(), now)
				c.on[id] = cs.id
				sent++
			}
			cs.sent += uint64(sent)
		} else if !*stopped {
			*stopped = true
			c.stoppedAt = now
		}
		// A failed write leaves its queries in flight on cs, to go again
		// on the next connection.
		if !c.flush(cs, buf) {
			return
		}
		now = c.now()
		tr.sweep(now)
		if *stopped && tr.idle() {
			return
		}
		if c.room(cs) == 0 && !cs.halfClosed {
			// Spent: tell the server, which answers what it read and closes.
			if tc, ok := cs.conn.(*net.TCPConn); ok && tc.CloseWrite() == nil {
				cs.halfClosed = true
				cs.closedAt = now
			} else {
				return
			}
		}
		if cs.halfClosed && now-cs.closedAt > int64(c.timeout) {
			return // the server keeps it open; what it did not answer has expired
		}
		select {
		case <-cs.done:
			return
		default:
		}
		if sent > 0 && sent == want {
			runtime.Gosched()
			continue
		}
		wake := now + int64(maxIdleWait)
		if !*stopped && !cs.halfClosed {
			if sent < want {
				// Out of ids or over MaxOutstanding: the reader frees them.
				wake = min(wake, now+int64(time.Millisecond))
			}
			if c.pace.rate > 0 {
				wake = min(wake, int64(c.pace.at(int64(tr.next))))
			}
			if now < int64(c.dur) {
				wake = min(wake, int64(c.dur))
			}
		}
		if e, ok := tr.nextExpiry(); ok {
			wake = min(wake, e)
		}
		if wake <= now {
			continue
		}
		timer.Reset(time.Duration(wake - now))
		select {
		case <-cs.done:
			return
		case <-timer.C:
		}
	}
}

// room returns how many more queries cs may take.
func (c *tcpConn) room(cs *connState) int {
	if c.budget == 0 {
		return idSpace
	}
	if cs.sent >= c.budget {
		return 0
	}
	return int(min(c.budget-cs.sent, idSpace))
}

// flush writes buf, bounded by the timeout; false means the connection is
// no good.
func (c *tcpConn) flush(cs *connState, buf []byte) bool {
	if len(buf) == 0 {
		return true
	}
	cs.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := cs.conn.Write(buf); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			cs.broken = true // the server closed first: not worth reporting
		} else {
			c.sendErrors++
			c.lastErr = err
		}
		return false
	}
	return true
}

// read matches replies until the connection fails or is closed.
func (c *tcpConn) read(cs *connState) {
	br := bufio.NewReaderSize(cs.conn, 64*1024)
	msg := make([]byte, 65535)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			// A server that closes with queries unread resets the
			// connection instead of ending it.
			cs.eof = errors.Is(err, io.EOF)
			cs.reset = errors.Is(err, syscall.ECONNRESET)
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(br, msg[:n]); err != nil {
			return
		}
		cs.replies.Add(1)
		c.tr.reply(msg[:n], c.now(), c.queries)
	}
}

// appendFrame appends query q with id, length first.
func appendFrame(buf []byte, q *Query, id uint16) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(q.wire)))
	start := len(buf)
	buf = append(buf, q.wire...)
	buf[start], buf[start+1] = byte(id>>8), byte(id)
	return buf
}

package loadtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"time"
)

// tcpConn is one pipelined TCP connection (RFC 7766): a writer sends queries
// with RFC 1035's two-byte length prefix without waiting for replies, a
// reader matches the replies as they come. When the server closes the
// connection (healthdns and miekg/dns do after 128 queries) the writer opens
// another and sends again the queries the old one left unanswered, keeping
// their first send times, as a client retrying on a new connection would.
type tcpConn struct {
	*worker
	server  string
	timeout time.Duration

	reconnects, sendErrors uint64
	lastErr                error
}

func (c *tcpConn) run(ctx context.Context) error {
	opened := false
	stopped := false
	for {
		conn, err := net.DialTimeout("tcp", c.server, c.timeout)
		if err != nil {
			c.sendErrors++
			c.lastErr = err
			// Nothing goes out meanwhile; what is in flight expires.
			time.Sleep(10 * time.Millisecond)
			now := c.now()
			c.tr.sweep(now)
			if !stopped && !c.sending(ctx, now) {
				stopped = true
				c.stoppedAt = now
			}
			if stopped && c.tr.idle() {
				return nil
			}
			continue
		}
		if opened {
			c.reconnects++
		}
		opened = true
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			c.read(conn)
		}()
		finished := c.write(ctx, conn, readerDone, &stopped)
		conn.Close()
		<-readerDone
		if finished {
			return nil
		}
	}
}

// write sends on conn until the run is over and every query is answered or
// lost (true), or until the connection fails (false).
func (c *tcpConn) write(ctx context.Context, conn net.Conn, readerDone <-chan struct{}, stopped *bool) bool {
	tr := c.tr
	buf := make([]byte, 0, 64*1024)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	// Queries left unanswered by the last connection go again first.
	tr.sweep(c.now())
	for s := tr.oldest; s < tr.next; s++ {
		id := uint16(s)
		if tr.ts[id].Load() != 0 {
			buf = appendFrame(buf, &c.queries[tr.qi[id].Load()], id)
		}
	}
	if !c.flush(conn, buf) {
		return false
	}

	for {
		now := c.now()
		want, sent := 0, 0
		if !*stopped && c.sending(ctx, now) {
			want = c.want(now, sendBatch)
			buf = buf[:0]
			for sent < want {
				now = c.now()
				id, ok := tr.acquire(now)
				if !ok {
					break
				}
				buf = appendFrame(buf, &c.queries[c.qpos], id)
				tr.stamp(id, c.nextQuery(), now)
				sent++
			}
			// A failed write leaves its queries in flight, to go again on
			// the next connection.
			if !c.flush(conn, buf) {
				return false
			}
		} else if !*stopped {
			*stopped = true
			c.stoppedAt = now
		}
		now = c.now()
		tr.sweep(now)
		if *stopped && tr.idle() {
			return true
		}
		select {
		case <-readerDone:
			return false
		default:
		}
		if sent > 0 && sent == want {
			runtime.Gosched()
			continue
		}
		wake := now + int64(maxIdleWait)
		if !*stopped {
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
		case <-readerDone:
			return false
		case <-timer.C:
		}
	}
}

// flush writes buf, bounded by the timeout; false means the connection is
// no good.
func (c *tcpConn) flush(conn net.Conn, buf []byte) bool {
	if len(buf) == 0 {
		return true
	}
	conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := conn.Write(buf); err != nil {
		c.sendErrors++
		c.lastErr = err
		return false
	}
	return true
}

// read matches replies until the connection fails or is closed.
func (c *tcpConn) read(conn net.Conn) {
	br := bufio.NewReaderSize(conn, 64*1024)
	msg := make([]byte, 65535)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(br, msg[:n]); err != nil {
			return
		}
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

package loadtest

import (
	"context"
	"fmt"
	"net"
	"time"
)

const (
	sendBatch   = 64                    // most queries a socket sends before replies are read
	recvBatch   = 256                   // most replies a socket reads before sending again
	maxIdleWait = 50 * time.Millisecond // an idle loop looks at its context this often
	socketBuf   = 4 << 20               // asked for; the kernel caps it (net.core.rmem_max)
)

// udpSocket is one connected UDP socket, driven by runUDP: at a fixed rate
// (where Ps allow) one goroutine sends and another receives, as dnsperf's
// threads do; as fast as possible one loop does both, since a sender
// sharing a core with its receiver would keep the core while replies
// overflow the socket buffer and count as lost.
type udpSocket struct {
	*worker
	conn    *net.UDPConn
	sys     udpSys // the platform's calls
	stopped bool   // no more sending
	blocked bool   // the last send stopped for want of an id (or MaxOutstanding)

	sendErrors uint64
	lastErr    error
}

func newUDPSocket(w *worker, server string) (*udpSocket, error) {
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("udp socket to %s: %w", server, err)
	}
	conn.SetReadBuffer(socketBuf)
	conn.SetWriteBuffer(socketBuf)
	s := &udpSocket{worker: w, conn: conn}
	if err := s.sys.init(s); err != nil {
		conn.Close()
		return nil, fmt.Errorf("udp socket to %s: %w", server, err)
	}
	return s, nil
}

func (s *udpSocket) close() { s.conn.Close() }

// receive reads the replies that have arrived, without waiting, and
// returns how many.
func (s *udpSocket) receive() int {
	return s.sys.drain(recvBatch)
}

// transmit sends what is due and returns how many went out.
func (s *udpSocket) transmit(ctx context.Context) int {
	now := s.now()
	if !s.stopped && s.sending(ctx, now) {
		return s.sys.send(s.want(now, sendBatch))
	}
	if !s.stopped {
		s.stopped = true
		s.stoppedAt = now
	}
	return 0
}

// finished expires what is too old and reports whether the socket is done:
// done sending, with nothing in flight.
func (s *udpSocket) finished() bool {
	s.tr.sweep(s.now())
	return s.stopped && s.tr.idle()
}

// wake returns when, short of a reply, the socket next has something to do:
// a query falls due, the sending ends, or a query expires. A socket out of
// ids waits for a reply or an expiry.
func (s *udpSocket) wake(now int64) int64 {
	wake := now + int64(maxIdleWait)
	if !s.stopped && !s.blocked {
		if s.pace.rate > 0 {
			wake = min(wake, int64(s.pace.at(int64(s.tr.next))))
		}
		if now < int64(s.dur) {
			wake = min(wake, int64(s.dur))
		}
	}
	if e, ok := s.tr.nextExpiry(); ok {
		wake = min(wake, e)
	}
	return wake
}

// packet returns query q's message with id set, in buf.
func packet(buf []byte, q *Query, id uint16) []byte {
	b := append(buf[:0], q.wire...)
	b[0], b[1] = byte(id>>8), byte(id)
	return b
}

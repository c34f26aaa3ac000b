package loadtest

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"
)

const (
	sendBatch   = 64                    // most queries sent before replies are read
	recvBatch   = 256                   // most replies read before sending again
	maxIdleWait = 50 * time.Millisecond // an idle socket looks at its context this often
	socketBuf   = 4 << 20               // asked for; the kernel caps it (net.core.rmem_max)
)

// udpSocket is one connected UDP socket. A single goroutine sends and
// receives on it in one loop, as dnsperf does with poll(2): with two
// goroutines on one core, the sender would keep the core and the replies
// would overflow the socket's buffer and count as lost.
type udpSocket struct {
	*worker
	conn *net.UDPConn
	sys  udpSys // the platform's send and receive calls

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

// run sends and receives until the run is over and every query is answered
// or lost.
func (s *udpSocket) run(ctx context.Context) error {
	tr := s.tr
	stopped := false
	for {
		now := s.now()
		sent := 0
		if !stopped && s.sending(ctx, now) {
			sent = s.sys.send(s.want(now, sendBatch))
		} else if !stopped {
			stopped = true
			s.stoppedAt = now
		}
		got := s.sys.drain(recvBatch)
		now = s.now()
		tr.sweep(now)
		if stopped && tr.idle() {
			return nil
		}
		if sent > 0 || got > 0 {
			// Let this core's other sockets have a turn: they are runnable,
			// not parked, while the run keeps them busy.
			runtime.Gosched()
			continue
		}
		// Nothing to do: wait for a reply, the next query due, or the next
		// query to expire.
		wake := now + int64(maxIdleWait)
		if !stopped {
			if s.pace.rate > 0 {
				wake = min(wake, int64(s.pace.at(int64(tr.next))))
			}
			if now < int64(s.dur) {
				wake = min(wake, int64(s.dur))
			}
		}
		if e, ok := tr.nextExpiry(); ok {
			wake = min(wake, e)
		}
		if wake > now {
			s.sys.wait(s.start.Add(time.Duration(wake)))
		}
	}
}

// packet returns query qi's message with id set, in buf.
func packet(buf []byte, q *Query, id uint16) []byte {
	b := append(buf[:0], q.wire...)
	b[0], b[1] = byte(id>>8), byte(id)
	return b
}

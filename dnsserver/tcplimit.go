package dnsserver

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener caps the TCP connections served at once, so that clients
// that open connections and then send slowly or nothing (slowloris) cannot
// take every goroutine and socket: at the cap, Accept waits for a
// connection to close (new ones wait in the kernel's backlog). When more
// than half the slots are taken, each read is given at most busyTimeout
// (those under way too), as NSD does, so that idle and slow connections give way quickly; a
// message must arrive whole within the read timeout in any case (miekg/dns
// sets one deadline per message, which dribbled octets do not extend).
type limitListener struct {
	net.Listener
	sem         chan struct{}
	busyTimeout time.Duration
	open        atomic.Int64
	waits       atomic.Uint64 // Accepts that found every slot taken
	closeOnce   sync.Once
	done        chan struct{}
	mu          sync.Mutex
	conns       map[*limitConn]struct{}
}

func newLimitListener(ln net.Listener, n int, busyTimeout time.Duration) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), busyTimeout: busyTimeout, done: make(chan struct{}),
		conns: make(map[*limitConn]struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		l.waits.Add(1)
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	lc := &limitConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	if l.open.Add(1)*2 > int64(cap(l.sem)) && l.busyTimeout > 0 {
		// Busy: connections opened before now keep no longer deadline
		// than those opened from now on.
		t := time.Now().Add(l.busyTimeout)
		l.mu.Lock()
		for o := range l.conns {
			if o.deadline.IsZero() || t.Before(o.deadline) {
				o.deadline = t
				o.Conn.SetReadDeadline(t)
			}
		}
		l.mu.Unlock()
	}
	return lc, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// busy reports whether more than half the slots are taken.
func (l *limitListener) busy() bool { return int(l.open.Load())*2 > cap(l.sem) }

type limitConn struct {
	net.Conn
	l        *limitListener
	once     sync.Once
	deadline time.Time // the read deadline last set (under l.mu)
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		c.l.open.Add(-1)
		<-c.l.sem
	})
	return err
}

// SetReadDeadline shortens the deadline to busyTimeout while the listener
// is busy.
func (c *limitConn) SetReadDeadline(t time.Time) error {
	if c.l.busyTimeout > 0 && c.l.busy() {
		if b := time.Now().Add(c.l.busyTimeout); t.IsZero() || b.Before(t) {
			t = b
		}
	}
	c.l.mu.Lock()
	c.deadline = t
	err := c.Conn.SetReadDeadline(t)
	c.l.mu.Unlock()
	return err
}

//go:build !linux

package loadtest

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// udpSys sends and receives through the net package where ppoll(2) is not
// at hand; each socket has its own goroutine, and idle waits are subject to
// the runtime's timer granularity.
type udpSys struct {
	s    *udpSocket
	buf  []byte
	rbuf []byte
}

func (u *udpSys) init(s *udpSocket) error {
	u.s = s
	u.buf = make([]byte, 0, 512)
	u.rbuf = make([]byte, 4096)
	return nil
}

func (u *udpSys) send(n int) int {
	s := u.s
	s.blocked = false
	done := 0
	for done < n {
		now := s.now()
		id, ok := s.tr.acquire(now)
		if !ok {
			s.blocked = true
			break
		}
		u.buf = packet(u.buf, &s.queries[s.qpos], id)
		s.stamp(id, s.qpos, now)
		if _, err := s.conn.Write(u.buf); err != nil {
			s.tr.unstamp(id)
			s.sendErrors++
			s.lastErr = err
			break
		}
		s.nextQuery()
		done++
	}
	return done
}

func (u *udpSys) drain(n int) int {
	return u.read(n, time.Now())
}

// read reads up to n replies, the first one waiting until deadline.
func (u *udpSys) read(n int, deadline time.Time) int {
	s := u.s
	done := 0
	for done < n {
		s.conn.SetReadDeadline(deadline)
		m, err := s.conn.Read(u.rbuf)
		if err != nil {
			break // the deadline, or an ICMP error of a query that will time out
		}
		s.tr.reply(u.rbuf[:m], s.now(), s.queries)
		done++
		deadline = time.Now()
	}
	s.conn.SetReadDeadline(time.Time{})
	return done
}

// runUDP gives each socket a goroutine that sends and receives; split is
// Linux's.
func runUDP(ctx context.Context, socks []*udpSocket, _ bool) error {
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got := s.receive()
				sent := s.transmit(ctx)
				if s.finished() {
					return
				}
				if got > 0 || sent > 0 {
					runtime.Gosched()
					continue
				}
				now := s.now()
				if wake := s.wake(now); wake > now {
					s.sys.read(recvBatch, s.start.Add(time.Duration(wake)))
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

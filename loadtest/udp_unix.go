//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// udpSys sends and receives with write(2) and read(2) on the socket's
// descriptor, a batch per trip through the runtime's poller: the net
// package's per-call locking and deadline checks cost as much as the
// system call itself on loopback.
type udpSys struct {
	s    *udpSocket
	rc   syscall.RawConn
	buf  []byte // the query being sent
	rbuf []byte // the reply being read; only its header and question matter

	// The callbacks and their arguments and results, kept here so that a
	// batch allocates nothing.
	writeFn, readFn, waitFn func(fd uintptr) bool
	want, done              int
}

func (u *udpSys) init(s *udpSocket) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	u.s, u.rc = s, rc
	u.buf = make([]byte, 0, 512)
	u.rbuf = make([]byte, 4096)
	u.writeFn, u.readFn, u.waitFn = u.writeBatch, u.readBatch, u.readOrPark
	return nil
}

// send sends up to n queries and returns how many went out.
func (u *udpSys) send(n int) int {
	if n <= 0 {
		return 0
	}
	u.want, u.done = n, 0
	u.rc.Write(u.writeFn)
	return u.done
}

func (u *udpSys) writeBatch(fd uintptr) bool {
	s := u.s
	for u.done < u.want {
		now := s.now()
		id, ok := s.tr.acquire(now)
		if !ok {
			break
		}
		q := &s.queries[s.qpos]
		u.buf = packet(u.buf, q, id)
		s.tr.stamp(id, s.qpos, now)
		_, err := syscall.Write(int(fd), u.buf)
		for err == syscall.EINTR {
			_, err = syscall.Write(int(fd), u.buf)
		}
		if err != nil {
			// EAGAIN (buffer full) or an ICMP error of an earlier query
			// (ECONNREFUSED): this one did not go; try again next round.
			s.tr.unstamp(id)
			s.sendErrors++
			s.lastErr = err
			break
		}
		s.nextQuery()
		u.done++
	}
	return true
}

// drain reads up to n replies that have arrived, without waiting.
func (u *udpSys) drain(n int) int {
	u.want, u.done = n, 0
	u.rc.Read(u.readFn)
	return u.done
}

// readBatch reads until the socket is empty or want replies are read; it
// reports whether it read anything.
func (u *udpSys) readBatch(fd uintptr) bool {
	s := u.s
	for u.done < u.want {
		n, err := syscall.Read(int(fd), u.rbuf)
		if err != nil {
			if err == syscall.EINTR || err == syscall.ECONNREFUSED {
				// ECONNREFUSED reports (once) an ICMP error for a query
				// sent earlier, which will time out.
				continue
			}
			break
		}
		s.tr.reply(u.rbuf[:n], s.now(), s.queries)
		u.done++
	}
	return true
}

func (u *udpSys) readOrPark(fd uintptr) bool {
	u.readBatch(fd)
	return u.done > 0 // false: park until readable or the deadline
}

// wait blocks until a reply arrives (and reads what has) or until deadline.
func (u *udpSys) wait(deadline time.Time) {
	u.want, u.done = recvBatch, 0
	if err := u.s.conn.SetReadDeadline(deadline); err != nil {
		return
	}
	u.rc.Read(u.waitFn) // at the deadline it fails with os.ErrDeadlineExceeded: nothing to do
	u.s.conn.SetReadDeadline(time.Time{})
}

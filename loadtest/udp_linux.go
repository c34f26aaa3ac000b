package loadtest

import (
	"context"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSys sends and receives with write(2) and read(2) straight on the
// socket's descriptor (non-blocking, as the net package made it), and runUDP
// waits in ppoll(2), as dnsperf does: the runtime's timers wake a
// goroutine no sooner than a millisecond after an idle wait begins, which
// would send a paced load in bursts, and its poller adds a scheduling delay
// to every reply's latency. The descriptor stays valid because the
// connection is closed only after the loop ends.
type udpSys struct {
	s    *udpSocket
	fd   int
	buf  []byte // the query being sent
	rbuf []byte // the reply being read; only its header and question matter
}

// rawPollMax is the longest wait made as a raw system call.
const rawPollMax = time.Millisecond

func (u *udpSys) init(s *udpSocket) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	if err := rc.Control(func(fd uintptr) { u.fd = int(fd) }); err != nil {
		return err
	}
	u.s = s
	u.buf = make([]byte, 0, 512)
	u.rbuf = make([]byte, 4096)
	return nil
}

// send sends up to n queries and returns how many went out.
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
		_, err := syscall.Write(u.fd, u.buf)
		for err == syscall.EINTR {
			_, err = syscall.Write(u.fd, u.buf)
		}
		if err != nil {
			// EAGAIN (buffer full) or the ICMP error of an earlier query
			// (ECONNREFUSED): this one did not go; try again next round.
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

// drain reads up to n replies that have arrived, without waiting.
func (u *udpSys) drain(n int) int {
	s := u.s
	done := 0
	for done < n {
		m, err := syscall.Read(u.fd, u.rbuf)
		if err != nil {
			if err == syscall.EINTR || err == syscall.ECONNREFUSED {
				// ECONNREFUSED reports, once, the ICMP error of a query
				// sent earlier, which will time out.
				continue
			}
			break // EAGAIN: empty
		}
		s.tr.reply(u.rbuf[:m], s.now(), s.queries)
		done++
	}
	return done
}

// runUDP drives socks in one loop until all are finished.
func runUDP(ctx context.Context, socks []*udpSocket) error {
	fds := make([]unix.PollFd, len(socks))
	for i, s := range socks {
		fds[i] = unix.PollFd{Fd: int32(s.sys.fd), Events: unix.POLLIN}
	}
	busy := true // read every socket until ppoll says which are readable
	for {
		readAll := busy
		busy = false
		for i, s := range socks {
			busy = s.receive(readAll || fds[i].Revents != 0) > 0 || busy
		}
		for _, s := range socks {
			busy = s.transmit(ctx) > 0 || busy
		}
		finished := true
		for _, s := range socks {
			finished = s.finished() && finished
		}
		if finished {
			return nil
		}
		for i := range fds {
			fds[i].Revents = 0
		}
		if busy {
			continue
		}
		// Idle: wait for a reply or for the first socket with something
		// to do.
		now := socks[0].now()
		wake := now + int64(maxIdleWait)
		for _, s := range socks {
			wake = min(wake, s.wake(now))
		}
		if wake <= now {
			busy = true
			continue
		}
		ts := unix.NsecToTimespec(wake - now)
		if wake-now <= int64(rawPollMax) {
			// A short wait (the gap to the next send at a fixed rate) as a
			// raw system call: a blocking one the runtime's way hands this
			// thread's P to another thread and wakes sysmon, thousands of
			// times a second, which on a busy core delays reading replies
			// and so inflates the latency measured (the server does the
			// same, dnsserver/udp_linux.go). Holding the P a few hundred
			// microseconds delays only the progress line.
			_, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
				uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
			if errno != 0 {
				busy = true
			}
		} else if _, err := unix.Ppoll(fds, &ts, nil); err != nil {
			busy = true // EINTR: look at every socket
		}
	}
}

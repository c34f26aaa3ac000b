package loadtest

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSys sends with write(2) (a raw call, rawWrite) and reads with
// recvmmsg(2) straight on the socket's descriptor (non-blocking, as the net
// package made it), and runUDP waits in ppoll(2), as dnsperf does: the
// runtime's timers wake a goroutine no sooner than a millisecond after an
// idle wait begins, which would send a paced load in bursts, and its poller
// adds a scheduling delay to every reply's latency. A socket is read only
// when ppoll says it is readable, and one recvmmsg that returns fewer
// replies than it asked for has emptied it: no read comes back empty, so
// the loop spends a system call per reply and per query, about what dnsperf
// spends. The descriptor stays valid because the connection is closed only
// after the loop ends.
type udpSys struct {
	s   *udpSocket
	fd  int
	buf []byte // the query being sent

	hdrs [readBatch]mmsghdr
	iovs [readBatch]unix.Iovec
	bufs [readBatch][replyRoom]byte // only a reply's header and question matter
}

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

const (
	readBatch = 32  // most replies one recvmmsg reads
	replyRoom = 512 // octets kept of each reply; the kernel drops the rest and reports the length kept
)

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
	for i := range u.hdrs {
		u.iovs[i].Base = &u.bufs[i][0]
		u.iovs[i].SetLen(replyRoom)
		u.hdrs[i].hdr.Iov = &u.iovs[i]
		u.hdrs[i].hdr.SetIovlen(1)
	}
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
		err := rawWrite(u.fd, u.buf)
		for err == syscall.EINTR {
			err = rawWrite(u.fd, u.buf)
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

// drain reads up to n replies that have arrived, without waiting, and
// stops at the first recvmmsg that finds fewer than it asked for.
func (u *udpSys) drain(n int) int {
	s := u.s
	done := 0
	for done < n {
		want := min(n-done, readBatch)
		got, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(u.fd), uintptr(unsafe.Pointer(&u.hdrs[0])),
			uintptr(want), unix.MSG_DONTWAIT, 0, 0)
		if errno == syscall.EINTR || errno == syscall.ECONNREFUSED {
			// ECONNREFUSED reports, once, the ICMP error of a query sent
			// earlier, which will time out.
			continue
		}
		if errno != 0 {
			break // EAGAIN: empty
		}
		now := s.now()
		for i := range int(got) {
			// Without MSG_TRUNC in the call's flags, len is what was
			// kept: at most replyRoom.
			s.tr.reply(u.bufs[i][:u.hdrs[i].len], now, s.queries)
		}
		done += int(got)
		if int(got) < want {
			break
		}
	}
	return done
}

// runUDP drives socks until all are finished. With split (a paced run with
// two Ps for this loop) it sends from this goroutine and reads replies on a
// second one, as dnsperf's sender and receiver threads do: both wait in raw
// ppoll calls, so each keeps its P and its thread, and a reply is read when
// it arrives, whatever the sender is doing. At 20,000 queries a second
// (docs/benchmarks.md) the split took dnsload's CPU for 5 s of load from
// 3.25 s to 2.19 s (dnsperf 2.06 s), and the median ratio of its average
// latency to dnsperf's from 1.163 (one loop) to 0.87-1.14 over later sets;
// with the raw write (rawWrite) 1.014-1.027, within 10% in 29 of 32 rounds
// on a quiet machine (dnsperf against itself: 31 of 32; on a busier one 6
// and 7 of 12). As fast as possible, or short of
// Ps, one loop does both, so that sending cannot starve reading on a
// shared core (and goroutines holding their Ps in raw calls do not starve
// each other).
func runUDP(ctx context.Context, socks []*udpSocket, split bool) error {
	if split {
		return runSplit(ctx, socks)
	}
	fds := pollFds(socks)
	for {
		receiveReady(socks, fds)
		for _, s := range socks {
			s.transmit(ctx)
		}
		if allFinished(socks) {
			return nil
		}
		// Wait for a reply or for the first socket with something to do;
		// when a socket has something to do now, only look for replies.
		now := socks[0].now()
		poll(fds, max(nextWake(socks, now), now)-now)
	}
}

// runSplit sends on this goroutine and receives on another until every
// socket is finished.
func runSplit(ctx context.Context, socks []*udpSocket) error {
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fds := pollFds(socks)
		for !done.Load() {
			poll(fds, int64(rawPollMax))
			receiveReady(socks, fds)
		}
	}()
	for {
		blocked := false
		for _, s := range socks {
			s.transmit(ctx)
			blocked = blocked || s.blocked
		}
		if allFinished(socks) {
			break
		}
		now := socks[0].now()
		wake := nextWake(socks, now)
		if blocked {
			// Out of ids: a reply read by the receiver frees one.
			wake = min(wake, now+int64(rawPollMax))
		}
		poll(nil, max(wake, now)-now)
	}
	done.Store(true)
	wg.Wait()
	return nil
}

// nextWake returns when the first of socks next has something to do short
// of a reply (udpSocket.wake), at the latest maxIdleWait after now.
func nextWake(socks []*udpSocket, now int64) int64 {
	wake := now + int64(maxIdleWait)
	for _, s := range socks {
		wake = min(wake, s.wake(now))
	}
	return wake
}

func pollFds(socks []*udpSocket) []unix.PollFd {
	fds := make([]unix.PollFd, len(socks))
	for i, s := range socks {
		fds[i] = unix.PollFd{Fd: int32(s.sys.fd), Events: unix.POLLIN}
	}
	return fds
}

// receiveReady reads every socket that the last poll found readable.
func receiveReady(socks []*udpSocket, fds []unix.PollFd) {
	for i, s := range socks {
		if fds[i].Revents != 0 { // POLLIN, or POLLERR for an ICMP error
			s.receive()
		}
		fds[i].Revents = 0
	}
}

func allFinished(socks []*udpSocket) bool {
	finished := true
	for _, s := range socks {
		finished = s.finished() && finished
	}
	return finished
}

// poll waits up to ns for a reply on fds (or only the time, with none).
func poll(fds []unix.PollFd, ns int64) {
	ts := unix.NsecToTimespec(ns)
	var p unsafe.Pointer
	if len(fds) > 0 {
		p = unsafe.Pointer(&fds[0])
	}
	if ns <= int64(rawPollMax) {
		// A short wait (the gap to the next send at a fixed rate) as a
		// raw system call: a blocking one the runtime's way hands this
		// thread's P to another thread and wakes sysmon, thousands of
		// times a second, which on a busy core delays reading replies
		// and so inflates the latency measured (the server does the
		// same, dnsserver/udp_linux.go). Holding the P up to rawPollMax
		// delays other goroutines, such as the progress line, as long.
		_, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(p), uintptr(len(fds)), uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno != 0 { // EINTR: look at every socket
			markAll(fds)
		}
	} else if _, err := unix.Ppoll(fds, &ts, nil); err != nil {
		markAll(fds)
	}
}

// markAll marks every socket as readable, for when ppoll was interrupted.
func markAll(fds []unix.PollFd) {
	for i := range fds {
		fds[i].Revents = unix.POLLIN
	}
}

// rawWrite writes b to the non-blocking descriptor fd as a raw system call.
// syscall.Write tells the runtime it may block: when it runs past a sysmon
// tick (20 us and up; a write on the loopback delivers the datagram to the
// server's socket and wakes its reader, 5-35 us), sysmon hands the P to
// another thread, and the sender comes back to find its P gone and hops to
// a third thread. A write on a non-blocking socket never blocks.
func rawWrite(fd int, b []byte) error {
	_, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return errno
	}
	return nil
}

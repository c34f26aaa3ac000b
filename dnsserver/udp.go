package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/miekg/dns"
)

// udpLoop reads one UDP socket and answers each query before reading the
// next: the fast path from prepared octets into a reused buffer, anything
// else through Answer. Nothing is allocated per query on the fast path, and
// no goroutine is started per query (miekg/dns starts one).
type udpLoop struct {
	s      *Server
	conn   *net.UDPConn
	counts *queryCounts
	// pktinfo: the socket is bound to a wildcard address; the reply must
	// leave from the address the query was sent to.
	pktinfo bool
	ql      *qlShard // nil: no query log
	q       fastQuery
	in      []byte
	out     []byte
	oob     []byte
	woob    []byte
}

func (s *Server) newUDPLoop(c *net.UDPConn, slot int) *udpLoop {
	var ql *qlShard
	if s.ql != nil {
		ql = s.ql.shard()
	}
	return &udpLoop{
		s:       s,
		conn:    c,
		ql:      ql,
		counts:  s.metrics.newShard(slot),
		pktinfo: c != nil && isWildcard(c.LocalAddr().String()),
		in:      make([]byte, udpReadSize),
		out:     make([]byte, 0, udpReadSize),
		oob:     make([]byte, oobSize),
		woob:    make([]byte, 0, oobSize),
	}
}

// run serves until the socket is closed.
func (l *udpLoop) run() {
	if batchSupported && !l.s.opts.UDPNoBatch {
		if rc, err := l.conn.SyscallConn(); err == nil {
			l.runBatch(rc)
			return
		}
	}
	for {
		var (
			n, oobn int
			from    netip.AddrPort
			err     error
		)
		if l.pktinfo {
			n, oobn, _, from, err = l.conn.ReadMsgUDPAddrPort(l.in, l.oob)
		} else {
			n, from, err = l.conn.ReadFromUDPAddrPort(l.in)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.s.log.Debug("dns read", "err", err, "transport", "udp")
			continue
		}
		out := l.serve(l.in[:n], from, l.out[:0], time.Now())
		if out == nil {
			continue
		}
		if l.pktinfo {
			l.woob = l.woob[:0]
			if dst, ok := packetDst(l.oob[:oobn]); ok {
				l.woob = appendSourceOOB(l.woob, dst)
			}
			_, _, err = l.conn.WriteMsgUDPAddrPort(out, l.woob, from)
		} else {
			_, err = l.conn.WriteToUDPAddrPort(out, from)
		}
		if err != nil {
			l.s.log.Debug("dns write", "err", err, "transport", "udp")
		}
	}
}

// serve returns the reply to the datagram pkt, read at start, written into
// buf if it has room, or nil to send none.
func (l *udpLoop) serve(pkt []byte, from netip.AddrPort, buf []byte, start time.Time) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			l.s.metrics.panics.Inc()
			l.s.log.Error("dns fast path panicked", "panic", r, "remote", from.String(), "stack", string(debug.Stack()))
			out = nil
		}
	}()
	var e qlEntry
	out, info, ok := appendFast(l.s.opts.Table.Load(), &l.q, pkt, buf[:0])
	if ok {
		l.counts.observe(info.qtype, info.rcode, UDP, false)
		if info.zone != nil {
			info.zone.qc.inc(l.counts.zoneSlot)
		}
		if l.ql == nil && l.s.rrl == nil {
			l.counts.observeReply(UDP, time.Since(start), len(out))
			return out
		}
		e = qlEntry{zone: info.zone, qname: l.q.name[:l.q.nameLen], qtype: info.qtype, rcode: info.rcode, setID: info.setID}
	} else {
		var ep *qlEntry
		if l.ql != nil || l.s.rrl != nil {
			ep = &e
		}
		if out = l.slow(pkt, from, buf, ep); out == nil {
			return nil
		}
	}
	if l.s.rrl != nil {
		switch l.s.rrl.decide(start.UnixNano(), l.s.rrl.classKey(from.Addr(), e.rcode, e.qtype, e.qname, e.zone)) {
		case rrlDrop:
			l.counts.rrl[0].Add(1)
			e.dropped = true
			out = nil
		case rrlSlip:
			l.counts.rrl[1].Add(1)
			e.slipped = true
			out, _ = slipReply(out)
		}
	}
	if out != nil {
		l.counts.observeReply(UDP, time.Since(start), len(out))
	}
	if l.ql != nil {
		e.at, e.tr, e.remote = start, UDP, from
		l.s.ql.logTo(l.ql, &e)
	}
	return out
}

// slow answers as miekg/dns's server and the handler do: datagrams shorter
// than a header and responses are dropped, those that do not unpack get
// FORMERR (uncounted, as miekg/dns sends it before any handler), the rest
// go through Answer.
func (l *udpLoop) slow(pkt []byte, from netip.AddrPort, buf []byte, e *qlEntry) []byte {
	if len(pkt) < headerLen || pkt[2]&0x80 != 0 {
		return nil
	}
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil {
		req.SetRcodeFormatError(req)
		req.Zero = false
		req.Ns, req.Answer, req.Extra = nil, nil, nil
		if e != nil {
			e.rcode = dns.RcodeFormatError
		}
		out, err := req.PackBuffer(buf[:cap(buf)]) // PackBuffer uses len, not cap
		if err != nil {
			return nil
		}
		return out
	}
	return l.s.reply(req, UDP, from, buf[:cap(buf)], l.counts, e)
}

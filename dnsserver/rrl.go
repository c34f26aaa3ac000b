package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Response rate limiting (RRL), as BIND, Knot and NSD do it against
// reflection attacks: a spoofed flood aims many identical replies at one
// victim, so replies over UDP are counted per client network (/24 for IPv4,
// /56 for IPv6) and per response class — the query name and type for
// answers and NODATA, the zone for NXDOMAIN (so that random names do not
// each get a fresh budget), the response code for errors. Each class has a
// token bucket of Rate replies per second (a burst of one second's worth);
// past it, replies are dropped, except every Slip-th, which goes out as an
// empty truncated reply (TC=1): a real resolver behind the spoofed address
// retries over TCP, which is never limited, while the reflected traffic
// shrinks to the size of a header and question.

// RRLOptions turn on response rate limiting; a zero Rate turns it off.
type RRLOptions struct {
	// Rate is the replies per second one client network gets for one
	// response class.
	Rate float64
	// Slip: every Slip-th limited reply is sent truncated instead of being
	// dropped (default 2, as in BIND; a negative value drops them all; 1
	// truncates every limited reply).
	Slip int
	// IPv4Prefix and IPv6Prefix are the client network sizes (default 24
	// and 56).
	IPv4Prefix, IPv6Prefix int
	// Slots is the size of the table of buckets (default 65536); classes
	// that hash to a busy slot take it over.
	Slots int
}

// rrlAction is what RRL does with a reply.
type rrlAction uint8

const (
	rrlSend rrlAction = iota
	rrlDrop
	rrlSlip
)

type rrl struct {
	rate, burst float64
	slip        uint32
	v4, v6      int
	locks       [64]paddedMutex
	slots       []rrlSlot
}

// paddedMutex keeps each lock on a cache line of its own: every UDP loop
// takes one per reply.
type paddedMutex struct {
	sync.Mutex
	_ [56]byte
}

type rrlSlot struct {
	key     uint64
	last    int64 // unix nanoseconds of the last refill
	tokens  float64
	limited uint32 // replies limited since the bucket last had a token
}

func newRRL(o RRLOptions) *rrl {
	if o.Rate <= 0 {
		return nil
	}
	r := &rrl{rate: o.Rate, burst: max(o.Rate, 1), v4: o.IPv4Prefix, v6: o.IPv6Prefix}
	switch {
	case o.Slip == 0:
		r.slip = 2
	case o.Slip > 0:
		r.slip = uint32(o.Slip)
	}
	if r.v4 <= 0 || r.v4 > 32 {
		r.v4 = 24
	}
	if r.v6 <= 0 || r.v6 > 128 {
		r.v6 = 56
	}
	n := o.Slots
	if n <= 0 {
		n = 1 << 16
	}
	r.slots = make([]rrlSlot, n)
	return r
}

// classKey hashes the client's network and the reply's class (FNV-1a).
func (r *rrl) classKey(client netip.Addr, rcode int, qtype uint16, qname []byte, z *zone) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	a := client.Unmap()
	if a.Is4() {
		p, _ := a.Prefix(r.v4)
		b := p.Addr().As4()
		for _, c := range b {
			mix(c)
		}
	} else {
		p, _ := a.Prefix(r.v6)
		b := p.Addr().As16()
		for _, c := range b {
			mix(c)
		}
	}
	mix(byte(rcode))
	switch {
	case rcode == dns.RcodeSuccess && qtype != 0 && len(qname) > 0:
		mix(1)
		var t [2]byte
		binary.BigEndian.PutUint16(t[:], qtype)
		mix(t[0])
		mix(t[1])
		for _, c := range qname {
			mix(c)
		}
	case rcode == dns.RcodeNameError && z != nil:
		mix(2)
		for i := 0; i < len(z.origin); i++ {
			mix(z.origin[i])
		}
	}
	return h
}

// decide takes a token for the class, or says how to limit the reply.
func (r *rrl) decide(now int64, key uint64) rrlAction {
	i := key % uint64(len(r.slots))
	mu := &r.locks[i%uint64(len(r.locks))]
	mu.Lock()
	s := &r.slots[i]
	if s.key != key || s.last == 0 {
		*s = rrlSlot{key: key, last: now, tokens: r.burst}
	} else if d := now - s.last; d > 0 {
		s.tokens = min(r.burst, s.tokens+float64(d)*r.rate/float64(time.Second))
		s.last = now
	}
	if s.tokens >= 1 {
		s.tokens--
		s.limited = 0
		mu.Unlock()
		return rrlSend
	}
	s.limited++
	n := s.limited
	mu.Unlock()
	if r.slip > 0 && n%r.slip == 0 {
		return rrlSlip
	}
	return rrlDrop
}

// slipReply turns the reply in out into an empty truncated one: header and
// question, TC set, no records (no OPT either: it is optional in a reply to
// be retried over TCP). false when out is not a reply with one question.
func slipReply(out []byte) ([]byte, bool) {
	if len(out) < headerLen || binary.BigEndian.Uint16(out[4:]) != 1 {
		return out, false
	}
	off := headerLen
	for {
		if off >= len(out) {
			return out, false
		}
		c := int(out[off])
		if c&0xC0 != 0 {
			return out, false // the question is never compressed
		}
		off++
		if c == 0 {
			break
		}
		off += c
	}
	if off+4 > len(out) {
		return out, false
	}
	out = out[:off+4]
	out[2] |= 0x02 // TC
	clear(out[6:12])
	return out, true
}

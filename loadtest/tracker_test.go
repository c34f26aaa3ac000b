package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// reply packs a reply to query q with id and rcode; noQuestion drops the
// question, as some FORMERR replies do.
func replyTo(t *testing.T, q Query, id uint16, rcode int, qname string, noQuestion bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, q.Type)
	m.Id = id
	m.Response = true
	m.Rcode = rcode
	if noQuestion {
		m.Question = nil
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrackerMatching(t *testing.T) {
	qs := mustQueries(t, "a.test A\nb.test MX\n")
	tr := newTracker(time.Second, 0)
	ms := int64(time.Millisecond)

	send := func(qi int, now int64) uint16 {
		id, ok := tr.acquire(now)
		if !ok {
			t.Fatalf("no id at %d", now)
		}
		tr.stamp(id, qi, now)
		return id
	}
	id0 := send(0, 0)
	id1 := send(1, 1*ms)
	id2 := send(0, 2*ms)

	tr.reply(replyTo(t, qs[0], id0, dns.RcodeSuccess, "A.TEST.", false), 5*ms, qs) // case differs: still it
	tr.reply(replyTo(t, qs[0], id0, dns.RcodeSuccess, "a.test.", false), 6*ms, qs) // duplicate: late
	tr.reply(replyTo(t, qs[1], id1, dns.RcodeSuccess, "other.test.", false), 6*ms, qs)
	tr.reply(replyTo(t, qs[1], 999, dns.RcodeSuccess, "b.test.", false), 6*ms, qs) // no such id
	tr.reply(replyTo(t, qs[0], id2, dns.RcodeFormatError, "", true), 12*ms, qs)    // FORMERR, no question
	tr.reply([]byte{1, 2, 3}, 12*ms, qs)                                           // runt
	if tr.received.Load() != 2 || tr.late.Load() != 4 {
		t.Fatalf("received %d late %d, want 2 and 4", tr.received.Load(), tr.late.Load())
	}
	if tr.rcodes[dns.RcodeSuccess] != 1 || tr.rcodes[dns.RcodeFormatError] != 1 {
		t.Errorf("rcodes %v", tr.rcodes)
	}
	if tr.hist.Min() != 5*time.Millisecond || tr.hist.Max() != 10*time.Millisecond {
		t.Errorf("latencies %v..%v, want 5ms..10ms", tr.hist.Min(), tr.hist.Max())
	}

	// b.test, still in flight, expires at 1.001 s, not before.
	tr.sweep(1000 * ms)
	if tr.lost.Load() != 0 || tr.idle() {
		t.Fatal("expired early")
	}
	if at, ok := tr.nextExpiry(); !ok || at != 1001*ms {
		t.Fatalf("next expiry %v %v", at, ok)
	}
	tr.sweep(1001 * ms)
	if tr.lost.Load() != 1 || !tr.idle() {
		t.Fatalf("lost %d idle %v", tr.lost.Load(), tr.idle())
	}
	// Its reply, too late now, counts as late, not received.
	tr.reply(replyTo(t, qs[1], id1, dns.RcodeSuccess, "b.test.", false), 1002*ms, qs)
	if tr.received.Load() != 2 || tr.late.Load() != 5 {
		t.Errorf("received %d late %d after a late reply", tr.received.Load(), tr.late.Load())
	}
	if tr.sent.Load() != tr.received.Load()+tr.lost.Load() {
		t.Errorf("sent %d != received %d + lost %d", tr.sent.Load(), tr.received.Load(), tr.lost.Load())
	}
}

func TestTrackerLimits(t *testing.T) {
	tr := newTracker(time.Second, 2)
	for i := range 2 {
		id, ok := tr.acquire(0)
		if !ok {
			t.Fatalf("query %d refused", i)
		}
		tr.stamp(id, 0, 0)
	}
	if _, ok := tr.acquire(int64(time.Millisecond)); ok {
		t.Fatal("a third query in flight over a limit of 2")
	}
	// Once the first two expire, the limit lets more through.
	if _, ok := tr.acquire(int64(time.Second)); !ok || tr.lost.Load() != 2 {
		t.Fatalf("after the timeout: lost %d", tr.lost.Load())
	}

	// The id space: 65,536 in flight, then the oldest must go first.
	tr = newTracker(time.Second, 0)
	for i := range idSpace {
		id, ok := tr.acquire(0)
		if !ok || id != uint16(i) {
			t.Fatalf("query %d: id %d %v", i, id, ok)
		}
		tr.stamp(id, 0, 0)
	}
	if _, ok := tr.acquire(1); ok {
		t.Fatal("an id in use was handed out again")
	}
	// A failed write gives its id back.
	tr.ts[0].Store(0)
	tr.received.Add(1)
	tr.sweep(1)
	id, ok := tr.acquire(1)
	if !ok || id != 0 {
		t.Fatalf("freed id 0: got %d %v", id, ok)
	}
	tr.stamp(id, 0, 1)
	tr.unstamp(id)
	if tr.next != idSpace || tr.ts[0].Load() != 0 || tr.sent.Load() != idSpace {
		t.Errorf("unstamp: next %d sent %d", tr.next, tr.sent.Load())
	}
}

// BenchmarkTrackerRoundTrip is the bookkeeping of one query: an id, a
// packet, and its reply matched.
func BenchmarkTrackerRoundTrip(b *testing.B) {
	qs, err := ParseQueries(strings.NewReader("www.example.com A\n"))
	if err != nil {
		b.Fatal(err)
	}
	tr := newTracker(time.Second, 0)
	buf := make([]byte, 0, 512)
	reply := append([]byte(nil), qs[0].wire...)
	reply[2] |= 0x80
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now := int64(i)
		id, ok := tr.acquire(now)
		if !ok {
			b.Fatal("no id")
		}
		buf = packet(buf, &qs[0], id)
		tr.stamp(id, 0, now)
		reply[0], reply[1] = buf[0], buf[1]
		tr.reply(reply, now+1000, qs)
		tr.sweep(now)
	}
}

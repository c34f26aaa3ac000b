package dnsserver

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// udpModes are the ways the server can serve UDP.
var udpModes = map[string]Options{
	"batches":        {},
	"one-by-one":     {UDPNoBatch: true},
	"three-sockets":  {UDPSockets: 3},
	"miekg-dns-loop": {MiekgUDP: true},
}

// TestUDPModes runs the answer cases over every UDP mode.
func TestUDPModes(t *testing.T) {
	tb := testTable(t)
	for mode, opts := range udpModes {
		s := startServer(t, tb, opts)
		for _, c := range answerCases() {
			r := exchange(t, "udp", s.Addr(), newQuery(c.qname, c.qtype, 1232, false))
			t.Run(mode+"/"+c.name, func(t *testing.T) { checkReply(t, c, r) })
		}
	}
}

// rawAsk sends pkt over UDP and returns the reply, or nil when none comes
// within wait.
func rawAsk(t *testing.T, addr string, pkt []byte, wait time.Duration) []byte {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		t.Fatal(err)
	}
	return buf[:n]
}

// TestUDPLoopAsMiekg checks that the server's own UDP loop answers odd
// datagrams as miekg/dns's server with the same handler does: drops what it
// drops, FORMERR for what does not unpack.
func TestUDPLoopAsMiekg(t *testing.T) {
	tb := testTable(t)
	ours := startServer(t, tb, Options{})
	ref := startServer(t, tb, Options{MiekgUDP: true})
	good, err := newQuery("mail.example.org.", dns.TypeA, 1232, false).Pack()
	if err != nil {
		t.Fatal(err)
	}
	resp := bytes.Clone(good)
	resp[2] |= 0x80
	badLabel := append(bytes.Clone(good[:headerLen]), 0x45, 'x')
	onlyHeader := bytes.Clone(good[:headerLen])
	for name, pkt := range map[string][]byte{
		"good":        good,
		"response":    resp,
		"short":       good[:5],
		"bad label":   badLabel,
		"only header": onlyHeader,
		"cut OPT":     good[:len(good)-3],
	} {
		wait := time.Second
		want := rawAsk(t, ref.Addr(), pkt, wait)
		if want == nil {
			wait = 200 * time.Millisecond // expecting silence
		}
		got := rawAsk(t, ours.Addr(), pkt, wait)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: ours %x, miekg/dns %x", name, got, want)
		}
	}
}

// TestUDPBurst sends many queries before reading any reply, so that the
// loop reads several per system call, and checks each reply.
func TestUDPBurst(t *testing.T) {
	tb := testTable(t)
	s := startServer(t, tb, Options{UDPSockets: 1})
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 200
	names := []string{"mail.example.org.", "nothing.example.org.", "www.example.org.", "MAIL.EXAMPLE.ORG."}
	for i := range n {
		q := newQuery(names[i%len(names)], dns.TypeA, 1232, false)
		q.Id = uint16(i)
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint16]bool{}
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(seen) < n {
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%d of %d replies: %v", len(seen), n, err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:k]); err != nil {
			t.Fatal(err)
		}
		if seen[r.Id] || r.Question[0].Name != names[int(r.Id)%len(names)] {
			t.Fatalf("reply %d: %v", r.Id, r)
		}
		seen[r.Id] = true
		wantRcode := dns.RcodeSuccess
		if r.Id%4 == 1 {
			wantRcode = dns.RcodeNameError
		}
		if r.Rcode != wantRcode {
			t.Errorf("reply %d: rcode %s", r.Id, dns.RcodeToString[r.Rcode])
		}
	}
}

// TestUDPWildcardAddress checks that on a wildcard address replies leave
// from the address the query was sent to: a connected client drops others.
func TestUDPWildcardAddress(t *testing.T) {
	tb := testTable(t)
	for _, mode := range []string{"batches", "one-by-one", "miekg-dns-loop"} {
		opts := udpModes[mode]
		opts.Addr = "0.0.0.0:0"
		opts.Table = tb
		s, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(s.Addr())
		for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			r, _, err := c.Exchange(newQuery("mail.example.org.", dns.TypeA, 1232, false), net.JoinHostPort(ip, port))
			if err != nil || len(r.Answer) != 1 {
				t.Errorf("%s, query to %s: %v %v", mode, ip, r, err)
			}
		}
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

package dnsserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/healthdns/healthdns/internal/syncbuf"
	"github.com/healthdns/healthdns/zones"
)

// TestQueryLog sends queries that take each path (fast, slow, TCP, ECS,
// routed) and reads the lines back.
func TestQueryLog(t *testing.T) {
	tb := testTable(t)
	h := newTestHealth()
	h.set(false, "hc-down")
	tb.SetHealth(h)
	if err := tb.Apply([]zones.ZoneDelta{{Origin: "example.org.", Put: []*zones.Set{
		rset(t, "f.example.org. 60 IN A 192.0.2.4", failover("primary", zones.FailoverPrimary, "hc-down")),
		rset(t, "f.example.org. 60 IN A 192.0.2.5", failover("secondary", zones.FailoverSecondary, "hc-up")),
	}}}); err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	reg := prometheus.NewPedanticRegistry()
	ql, err := NewQueryLog(QueryLogOptions{Writer: &out, Node: "node-1", FlushInterval: 10 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, tb, Options{QueryLog: ql, Registerer: reg})

	ecsQuery := newQuery("f.example.org.", dns.TypeA, 1232, false)
	ecsQuery.IsEdns0().Option = append(ecsQuery.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("198.51.100.0").To4()})
	exchange(t, "udp", s.Addr(), newQuery("Mail.Example.org.", dns.TypeA, 1232, false)) // fast path
	exchange(t, "udp", s.Addr(), newQuery("nothing.example.org.", dns.TypeAAAA, 0, false))
	exchange(t, "udp", s.Addr(), newQuery("www.example.org.", dns.TypeA, 0, false)) // CNAME: slow path
	exchange(t, "tcp", s.Addr(), newQuery("f.example.org.", dns.TypeA, 0, false))
	exchange(t, "udp", s.Addr(), ecsQuery)
	exchange(t, "udp", s.Addr(), newQuery("elsewhere.invalid.", dns.TypeTXT, 0, false))
	if err := ql.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	type line struct {
		Time, ZoneID, Zone, Qname, Qtype, Rcode, Transport, Resolver, ECS, SetID, Node string
	}
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"time", "zone_id", "zone", "qname", "qtype", "rcode", "transport", "resolver", "ecs", "set_id", "node"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("line %q has no %q", sc.Text(), k)
			}
		}
		str := func(k string) string { s, _ := raw[k].(string); return s }
		if _, err := time.Parse(time.RFC3339Nano, str("time")); err != nil {
			t.Errorf("time %q: %v", str("time"), err)
		}
		lines = append(lines, line{str("time"), str("zone_id"), str("zone"), str("qname"), str("qtype"), str("rcode"),
			str("transport"), str("resolver"), str("ecs"), str("set_id"), str("node")})
	}
	// Lines come in batches per loop: order them by time.
	slices.SortStableFunc(lines, func(a, b line) int { return strings.Compare(a.Time, b.Time) })
	want := []line{
		{Zone: "example.org.", Qname: "mail.example.org.", Qtype: "A", Rcode: "NOERROR", Transport: "udp"},
		{Zone: "example.org.", Qname: "nothing.example.org.", Qtype: "AAAA", Rcode: "NXDOMAIN", Transport: "udp"},
		{Zone: "example.org.", Qname: "www.example.org.", Qtype: "A", Rcode: "NOERROR", Transport: "udp"},
		{Zone: "example.org.", Qname: "f.example.org.", Qtype: "A", Rcode: "NOERROR", Transport: "tcp", SetID: "secondary"},
		{Zone: "example.org.", Qname: "f.example.org.", Qtype: "A", Rcode: "NOERROR", Transport: "udp", SetID: "secondary", ECS: "198.51.100.0/24"},
		{Qname: "elsewhere.invalid.", Qtype: "TXT", Rcode: "REFUSED", Transport: "udp"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		g := lines[i]
		if w.Zone != "" && g.ZoneID == "" {
			t.Errorf("line %d: no zone_id", i)
		}
		w.Time, w.ZoneID, w.Resolver, w.Node = g.Time, g.ZoneID, "127.0.0.1", "node-1"
		if g != w {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if v := counterValue(t, ql.lines); v != float64(len(want)) {
		t.Errorf("healthdns_querylog_lines_total = %v, want %d", v, len(want))
	}
}

// TestQueryLogNeverBlocks: a writer that never returns does not hold up
// answers; lines beyond the buffer are dropped and counted.
func TestQueryLogNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	w := writerFunc(func(p []byte) (int, error) { <-block; return len(p), nil })
	ql, err := NewQueryLog(QueryLogOptions{Writer: w, FlushInterval: time.Millisecond, MaxBuffer: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(block); ql.Close(context.Background()) }()
	s := startServer(t, testTable(t), Options{QueryLog: ql})
	for range 100 {
		exchange(t, "udp", s.Addr(), newQuery("mail.example.org.", dns.TypeA, 0, false))
	}
	if counterValue(t, ql.dropped) == 0 {
		t.Error("no line dropped although the writer is stuck and the buffer holds ~10 lines")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain.example.", `quo"te\back`, "ctl\x00\x1f\x7f", "bad\xffutf8", "ünï.example."} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Errorf("%q: round trip %q, want %q", s, got, want)
		}
	}
}

// askFrom sends one query from a socket bound to src and returns the reply,
// or nil when none came within wait.
func askFrom(t *testing.T, conn *net.UDPConn, server netip.AddrPort, id uint16, name string, wait time.Duration) *dns.Msg {
	t.Helper()
	q := newQuery(name, dns.TypeA, 0, false)
	q.Id = id
	pkt, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteToUDPAddrPort(pkt, server); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		var m dns.Msg
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatalf("reply does not unpack: %v", err)
		}
		if m.Id == id {
			return &m
		}
	}
}

// TestRRL: a flood from one client network is limited (drops, and every
// second limited reply slips out truncated), while a client in another
// network asking the same name at the same time is answered in full.
func TestRRL(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := startServer(t, testTable(t), Options{RRL: RRLOptions{Rate: 5, Slip: 2}, Registerer: reg})
	server := netip.MustParseAddrPort(s.Addr())
	flooder, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	flooder.SetReadBuffer(4 << 20)
	// 127.0.1.2 is in another /24; Linux routes all of 127/8 to lo.
	other, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.1.2:0")))
	if err != nil {
		t.Skipf("cannot bind 127.0.1.2 (a second loopback network is needed for the other client): %v", err)
	}
	defer other.Close()

	// The flood: 200 queries sent at once (well within a second, so that at
	// most the burst of 5 plus what refills can be answered in full).
	q := newQuery("mail.example.org.", dns.TypeA, 0, false)
	for i := range 200 {
		q.Id = uint16(i + 1)
		pkt, _ := q.Pack()
		if _, err := flooder.WriteToUDPAddrPort(pkt, server); err != nil {
			t.Fatal(err)
		}
	}
	// Read until every query is accounted for: answered in full, slipped
	// (read here truncated) or dropped (counted by the server), with 5 s
	// to get there.
	full, truncated, dropped := 0, 0, 0
	buf := make([]byte, 4096)
	end := time.Now().Add(5 * time.Second)
	for full+truncated+dropped < 200 && time.Now().Before(end) {
		flooder.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := flooder.Read(buf)
		if err != nil { // a pause: look at the drop count again
			dropped = int(rrlLimited(t, reg)["dropped"])
			continue
		}
		var m dns.Msg
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Truncated && len(m.Answer) == 0 && len(m.Question) == 1:
			truncated++
		case !m.Truncated && len(m.Answer) == 1:
			full++
		default:
			t.Fatalf("unexpected reply:\n%v", &m)
		}
	}
	t.Logf("flood of 200: %d full answers, %d truncated, %d dropped", full, truncated, 200-full-truncated)
	if full < 5 || full > 50 {
		t.Errorf("flood got %d full answers, want the burst (5) plus a few refills", full)
	}
	if truncated < 50 || truncated > 120 {
		t.Errorf("flood got %d truncated replies, want about half of the limited ones (slip 2)", truncated)
	}
	// Meanwhile the other client gets every answer, in full.
	for i := range 5 {
		m := askFrom(t, other, server, uint16(1000+i), "mail.example.org.", 2*time.Second)
		if m == nil || m.Truncated || len(m.Answer) != 1 {
			t.Fatalf("other client, query %d: %v", i, m)
		}
	}
	// TCP is never limited: the flooder's network still gets answers there.
	if m := exchange(t, "tcp", s.Addr(), newQuery("mail.example.org.", dns.TypeA, 0, false)); len(m.Answer) != 1 {
		t.Errorf("TCP answer: %v", m)
	}
	got := rrlLimited(t, reg)
	if got["slipped"] != float64(truncated) || got["dropped"] != float64(200-full-truncated) {
		t.Errorf("healthdns_dns_rrl_limited_total = %v, want slipped %d, dropped %d", got, truncated, 200-full-truncated)
	}
}

// rrlLimited returns healthdns_dns_rrl_limited_total by its action label.
func rrlLimited(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "healthdns_dns_rrl_limited_total" {
			for _, m := range mf.GetMetric() {
				got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}

func TestRRLDecide(t *testing.T) {
	r := newRRL(RRLOptions{Rate: 2, Slip: 3})
	a := netip.MustParseAddr("192.0.2.7")
	k := r.classKey(a, dns.RcodeSuccess, dns.TypeA, []byte("a.example."), nil)
	if k2 := r.classKey(netip.MustParseAddr("192.0.2.200"), dns.RcodeSuccess, dns.TypeA, []byte("a.example."), nil); k2 != k {
		t.Error("two addresses of one /24 have different keys")
	}
	if k2 := r.classKey(netip.MustParseAddr("192.0.3.7"), dns.RcodeSuccess, dns.TypeA, []byte("a.example."), nil); k2 == k {
		t.Error("two /24s share a key")
	}
	if k2 := r.classKey(a, dns.RcodeSuccess, dns.TypeA, []byte("b.example."), nil); k2 == k {
		t.Error("two names share a key")
	}
	z := &zone{origin: "example."}
	if r.classKey(a, dns.RcodeNameError, dns.TypeA, []byte("x1.example."), z) != r.classKey(a, dns.RcodeNameError, dns.TypeA, []byte("x2.example."), z) {
		t.Error("NXDOMAIN for two names of one zone have different keys")
	}
	now := time.Unix(1000, 0).UnixNano()
	var got []rrlAction
	for range 8 {
		got = append(got, r.decide(now, k))
	}
	want := []rrlAction{rrlSend, rrlSend, rrlDrop, rrlDrop, rrlSlip, rrlDrop, rrlDrop, rrlSlip}
	if !slicesEqual(got, want) {
		t.Errorf("burst: %v, want %v", got, want)
	}
	// Half a second later one token is back.
	if a := r.decide(now+int64(500*time.Millisecond), k); a != rrlSend {
		t.Errorf("after refill: %v", a)
	}
	if off := newRRL(RRLOptions{}); off != nil {
		t.Error("rate 0 is not off")
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSlipReply(t *testing.T) {
	m := newQuery("mail.example.org.", dns.TypeA, 1232, false)
	r := Answer(testTable(t).Load(), m, UDP, netip.AddrPort{})
	out, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	slipped, ok := slipReply(out)
	if !ok {
		t.Fatal("not slipped")
	}
	var got dns.Msg
	if err := got.Unpack(slipped); err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || len(got.Answer)+len(got.Ns)+len(got.Extra) != 0 || len(got.Question) != 1 || got.Id != m.Id {
		t.Errorf("slipped reply:\n%v", &got)
	}
	if _, ok := slipReply(out[:5]); ok {
		t.Error("a short reply slipped")
	}
}

// TestTCPSlowloris: clients that hold every TCP slot open, sending nothing
// or a few octets, do not keep a real client from an answer: at the cap new
// connections wait, and with more than half the slots taken reads time out
// after the busy timeout.
func TestTCPSlowloris(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := startServer(t, testTable(t), Options{MaxTCPConns: 8, TCPBusyTimeout: 200 * time.Millisecond,
		TCPReadTimeout: 30 * time.Second, TCPIdleTimeout: 30 * time.Second, Registerer: reg})
	var hogs []net.Conn
	defer func() {
		for _, c := range hogs {
			c.Close()
		}
	}()
	for i := range 16 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			c.Write([]byte{0, 40, 0}) // a length and one octet of a query that never comes
		}
		hogs = append(hogs, c)
	}
	// Without the busy timeout each hog would hold its slot for the 30 s
	// read timeout; the real client must get through long before that.
	deadline := time.Now().Add(20 * time.Second)
	c := &dns.Client{Net: "tcp", Timeout: 20 * time.Second}
	m, _, err := c.Exchange(newQuery("mail.example.org.", dns.TypeA, 0, false), s.Addr())
	if err != nil {
		t.Fatalf("real client starved: %v", err)
	}
	if len(m.Answer) != 1 || time.Now().After(deadline) {
		t.Errorf("answer %v", m)
	}
	// The hogs were cut: each read sees the connection closed.
	for i, h := range hogs[:8] {
		h.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := h.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
			t.Errorf("hog %d still open: %v", i, err)
		}
	}
	var open, waits float64
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "healthdns_dns_tcp_connections":
			open = mf.GetMetric()[0].GetGauge().GetValue()
		case "healthdns_dns_tcp_accept_waits_total":
			waits = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if waits == 0 {
		t.Error("healthdns_dns_tcp_accept_waits_total is 0 with 16 connections at a cap of 8")
	}
	if open > 8 {
		t.Errorf("healthdns_dns_tcp_connections = %v, above the cap", open)
	}
}

// TestTCPFramingSlow: a query dribbled octet by octet within the read
// timeout is still answered (the cap is not a limit on slow networks).
func TestTCPFramingSlow(t *testing.T) {
	s := startServer(t, testTable(t), Options{})
	pkt, err := newQuery("mail.example.org.", dns.TypeA, 0, false).Pack()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(pkt)))
	msg = append(msg, pkt...)
	for _, b := range msg {
		c.Write([]byte{b})
		time.Sleep(time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(body); err != nil || len(m.Answer) != 1 {
		t.Fatalf("reply %v, %v", &m, err)
	}
}

// TestResponseHistograms: latency and size are observed per transport.
func TestResponseHistograms(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := startServer(t, testTable(t), Options{Registerer: reg})
	for range 3 {
		exchange(t, "udp", s.Addr(), newQuery("mail.example.org.", dns.TypeA, 0, false))
	}
	r := exchange(t, "tcp", s.Addr(), newQuery("mail.example.org.", dns.TypeA, 0, false))
	r.Compress = true
	size, _ := r.Pack()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	hist := map[string]*dto.Histogram{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				hist[mf.GetName()+" "+m.GetLabel()[0].GetValue()] = h
			}
		}
	}
	for key, n := range map[string]uint64{
		"healthdns_dns_response_duration_seconds udp": 3, "healthdns_dns_response_duration_seconds tcp": 1,
		"healthdns_dns_response_size_bytes udp": 3, "healthdns_dns_response_size_bytes tcp": 1,
	} {
		h := hist[key]
		if h.GetSampleCount() != n {
			t.Errorf("%s count %d, want %d", key, h.GetSampleCount(), n)
		}
	}
	if got := hist["healthdns_dns_response_size_bytes tcp"].GetSampleSum(); got != float64(len(size)) {
		t.Errorf("tcp size sum %v, want %d", got, len(size))
	}
	if got := hist["healthdns_dns_response_duration_seconds udp"].GetSampleSum(); got <= 0 || got > 10 {
		t.Errorf("udp latency sum %v s", got)
	}
}

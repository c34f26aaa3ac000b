package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server.
type Options struct {
	// Addr is the UDP and TCP listen address, host:port. With port 0 both
	// transports get the same free port.
	Addr string
	// Table is what the server answers from; required.
	Table *Table
	// Logger receives panics and serving errors; nil discards.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
	// TCPReadTimeout and TCPWriteTimeout bound each TCP read and write
	// (default 2 s); TCPIdleTimeout bounds the wait for the next query on
	// a TCP connection (default 8 s, RFC 7766).
	TCPReadTimeout  time.Duration
	TCPWriteTimeout time.Duration
	TCPIdleTimeout  time.Duration
	// MaxTCPQueries closes a TCP connection after that many queries
	// (default 128; -1 unlimited).
	MaxTCPQueries int
	// UDPSockets is the number of UDP sockets bound to Addr with
	// SO_REUSEPORT, each read by its own loop that answers prepared
	// replies without allocating (fast.go); 0 means GOMAXPROCS. Where
	// SO_REUSEPORT is missing (not Linux) it is 1.
	UDPSockets int
	// MiekgUDP serves UDP with miekg/dns's server instead (a goroutine and
	// an Unpack and Pack per query, as TCP is served): for comparison.
	MiekgUDP bool
	// UDPNoBatch reads and writes one datagram per system call instead of
	// batches of them with recvmmsg and sendmmsg (Linux): for comparison.
	UDPNoBatch bool
	// MaxTCPConns caps the TCP connections served at once (default 512;
	// see limitListener); TCPBusyTimeout is the read timeout while more
	// than half of them are taken (default 500ms).
	MaxTCPConns    int
	TCPBusyTimeout time.Duration
	// QueryLog, when set, receives a line per query.
	QueryLog *QueryLog
	// RRL limits UDP replies per client network; off when RRL.Rate is 0.
	RRL RRLOptions
}

// sharedSlot is the per-zone counter slot of queries not read by a UDP
// loop (TCP, miekg/dns's UDP server); UDP loops take the 7 before it,
// sharing them past 7 loops.
const sharedSlot = 7

// Defaults of Options.
const (
	DefaultMaxTCPConns    = 512
	DefaultTCPBusyTimeout = 500 * time.Millisecond
)

// packBufs recycles reply buffers; replies up to this size need no new one.
var packBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// udpReadSize is the UDP read buffer: larger than any sane query, so that
// EDNS queries with options are read whole (miekg's default is 512).
const udpReadSize = 4096

// Server is the authoritative DNS responder: UDP and TCP on one address.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	rrl     *rrl                          // nil: off
	ql      *QueryLog                     // nil: off
	tcpQL   *qlShard                      // the TCP handlers' query log buffer
	tcpLn   atomic.Pointer[limitListener] // set by Start

	mu      sync.Mutex
	udp     *dns.Server // with MiekgUDP
	udpLoop []*udpLoop  // otherwise
	tcp     *dns.Server
	addr    string
	running sync.WaitGroup
}

// New checks the options and returns a server that is not yet listening.
func New(opts Options) (*Server, error) {
	if opts.Table == nil {
		return nil, errors.New("dnsserver: Options.Table is nil")
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, fmt.Errorf("dnsserver: Options.Addr: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxTCPConns <= 0 {
		opts.MaxTCPConns = DefaultMaxTCPConns
	}
	if opts.TCPBusyTimeout <= 0 {
		opts.TCPBusyTimeout = DefaultTCPBusyTimeout
	}
	if opts.RRL.Rate < 0 {
		return nil, errors.New("dnsserver: Options.RRL.Rate is negative")
	}
	s := &Server{opts: opts, log: log, rrl: newRRL(opts.RRL), ql: opts.QueryLog}
	m, err := newMetrics(opts.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.ql != nil {
		s.tcpQL = s.ql.shard()
	}
	return s, nil
}

// Start binds UDP and TCP and returns once both serve.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcp != nil {
		return errors.New("dnsserver: already started")
	}
	n := s.opts.UDPSockets
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if !reusePortSupported {
		n = 1
	}
	miekgUDP := s.opts.MiekgUDP || (!reusePortSupported && isWildcard(s.opts.Addr))
	if miekgUDP {
		n = 1
	}
	conns, rawLn, err := listenSockets(s.opts.Addr, n, !miekgUDP)
	if err != nil {
		return fmt.Errorf("dnsserver: listen: %w", err)
	}
	ln := newLimitListener(rawLn, s.opts.MaxTCPConns, s.opts.TCPBusyTimeout)
	s.tcpLn.Store(ln)
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	servers := []*dns.Server{}
	if miekgUDP {
		s.udp = &dns.Server{
			PacketConn:        conns[0],
			Handler:           s.handler(UDP),
			UDPSize:           udpReadSize,
			MsgAcceptFunc:     acceptMsg,
			NotifyStartedFunc: notify,
		}
		servers = append(servers, s.udp)
	} else {
		for i, c := range conns {
			s.udpLoop = append(s.udpLoop, s.newUDPLoop(c, i%sharedSlot))
		}
		started <- struct{}{}
	}
	s.tcp = &dns.Server{
		Listener:          ln,
		Handler:           s.handler(TCP),
		MsgAcceptFunc:     acceptMsg,
		NotifyStartedFunc: notify,
		ReadTimeout:       s.opts.TCPReadTimeout,
		WriteTimeout:      s.opts.TCPWriteTimeout,
		MaxTCPQueries:     s.opts.MaxTCPQueries,
	}
	if d := s.opts.TCPIdleTimeout; d > 0 {
		s.tcp.IdleTimeout = func() time.Duration { return d }
	}
	servers = append(servers, s.tcp)
	s.addr = conns[0].LocalAddr().String()
	for _, l := range s.udpLoop {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			l.run()
		}()
	}
	errc := make(chan error, 2)
	for _, srv := range servers {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			if err := srv.ActivateAndServe(); err != nil {
				s.log.Error("dns serve", "err", err)
				errc <- err
			}
		}()
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			s.shutdownLocked(context.Background())
			return fmt.Errorf("dnsserver: serve: %w", err)
		}
	}
	s.log.Info("dns listening", "addr", s.addr, "udp_sockets", len(conns), "udp_fast_path", !miekgUDP)
	return nil
}

// Addr returns the bound address (host:port), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops both listeners and waits for queries in flight, until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdownLocked(ctx)
}

func (s *Server) shutdownLocked(ctx context.Context) error {
	if s.tcp == nil {
		return nil
	}
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv == nil {
			continue
		}
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range s.udpLoop {
		if err := l.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	s.udp, s.tcp, s.udpLoop = nil, nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dnsserver: shutdown: %w", err)
	}
	return nil
}

// isWildcard reports whether addr's host is an unspecified address.
func isWildcard(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// listenSockets binds n UDP sockets on addr (sharing the port with
// SO_REUSEPORT when n > 1) and then TCP on the same port; with port 0 it
// retries when the kernel's UDP port is taken for TCP. packetInfo asks for
// each datagram's destination on a wildcard address (see udpLoop).
func listenSockets(addr string, n int, packetInfo bool) ([]*net.UDPConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	packetInfo = packetInfo && isWildcard(addr)
	closeAll := func(conns []*net.UDPConn) {
		for _, c := range conns {
			c.Close()
		}
	}
	var lastErr error
	for range 20 {
		// With port 0, the first socket is bound alone so that the kernel
		// picks a port that no other SO_REUSEPORT socket holds.
		first, err := listenUDP(addr, n > 1 && port != "0", packetInfo)
		if err != nil {
			return nil, nil, err
		}
		_, p, _ := net.SplitHostPort(first.LocalAddr().String())
		bound := net.JoinHostPort(host, p)
		ln, err := net.Listen("tcp", bound)
		if err != nil {
			first.Close()
			lastErr = err
			if port != "0" || !errors.Is(err, syscall.EADDRINUSE) {
				return nil, nil, err
			}
			continue
		}
		conns := []*net.UDPConn{first}
		if n > 1 && port == "0" {
			first.Close()
			conns = nil
		}
		for len(conns) < n {
			c, err := listenUDP(bound, true, packetInfo)
			if err != nil {
				lastErr = err
				break
			}
			conns = append(conns, c)
		}
		if len(conns) == n {
			return conns, ln, nil
		}
		closeAll(conns)
		ln.Close()
		if port != "0" {
			return nil, nil, lastErr
		}
	}
	return nil, nil, lastErr
}

// listenUDP binds one UDP socket, with SO_REUSEPORT and packet info as
// asked.
func listenUDP(addr string, reusePort, packetInfo bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if reusePort {
			if err := setReusePort(c); err != nil {
				return err
			}
		}
		if packetInfo {
			return setPacketInfo(c)
		}
		return nil
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	_ = c.SetReadBuffer(udpSocketBuffer) // best effort: the kernel caps it at net.core.rmem_max
	return c, nil
}

// udpSocketBuffer is the receive buffer asked for each UDP socket: room for
// a burst of some thousands of queries while the loop is descheduled
// (Linux's default, 208 KiB, holds a few hundred).
const udpSocketBuffer = 4 << 20

// acceptMsg replaces miekg's DefaultMsgAcceptFunc, which rejects valid
// queries (ARCOUNT > 2, say) and sends FORMERR without OPT: responses are
// dropped, everything else reaches Answer, which decides.
func acceptMsg(dh dns.Header) dns.MsgAcceptAction {
	const qrBit = 1 << 15
	if dh.Bits&qrBit != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

func (s *Server) handler(tr Transport) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		start := time.Now()
		bp := packBufs.Get().(*[]byte)
		defer packBufs.Put(bp)
		remote := remoteAddr(w.RemoteAddr())
		var e *qlEntry
		if s.ql != nil {
			e = &qlEntry{at: start, tr: tr, remote: remote}
		}
		out := s.reply(req, tr, remote, (*bp)[:cap(*bp)], s.metrics.shared, e) // PackBuffer uses len, not cap
		if out == nil {
			return
		}
		s.metrics.shared.observeReply(tr, time.Since(start), len(out))
		if e != nil {
			s.ql.logTo(s.tcpQL, e) // before the write: the client may close the log's server right after
		}
		if _, err := w.Write(out); err != nil {
			s.log.Debug("dns write", "err", err, "transport", tr.String())
		}
	})
}

// reply computes and packs the reply to req. A panic on the way becomes
// SERVFAIL (logged and counted); every reply is counted. When e is not nil
// it is filled for the query log and RRL.
func (s *Server) reply(req *dns.Msg, tr Transport, remote netip.AddrPort, buf []byte, counts *queryCounts, e *qlEntry) (out []byte) {
	var qtype uint16
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	var resp *dns.Msg
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			s.log.Error("dns answer panicked", "panic", r, "qtype", qtype,
				"remote", remote.String(), "stack", string(debug.Stack()))
			resp = servfail(req)
			out, _ = resp.Pack()
		}
		if resp != nil {
			counts.observe(qtype, resp.Rcode, tr, resp.Truncated)
			if e != nil {
				e.qtype, e.rcode = qtype, resp.Rcode
			}
		}
	}()
	var info answerInfo
	resp = answer(s.opts.Table.Load(), req, tr, remote, nil, &info)
	if info.zone != nil {
		info.zone.qc.inc(counts.zoneSlot) // Apply gives every published zone its counter
	}
	if e != nil {
		e.zone, e.setID = info.zone, info.setID
		if info.fromECS {
			e.ecs = info.client
		}
		if len(req.Question) > 0 {
			e.qname = []byte(lowerASCII(req.Question[0].Name))
		}
	}
	out, err := Pack(resp, buf)
	if err != nil {
		s.log.Error("dns pack", "err", err, "qtype", qtype, "transport", tr.String())
		resp = servfail(req)
		out, _ = resp.Pack()
	}
	return out
}

// servfail is the reply when computing the answer failed.
func servfail(req *dns.Msg) *dns.Msg {
	m := &dns.Msg{}
	m.Id = req.Id
	m.Response = true
	m.Opcode = req.Opcode
	m.RecursionDesired = req.RecursionDesired
	m.Rcode = dns.RcodeServerFailure
	if len(req.Question) == 1 {
		m.Question = req.Question
	}
	if o := req.IsEdns0(); o != nil {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		opt.SetUDPSize(MaxUDPSize)
		m.Extra = []dns.RR{opt}
	}
	return m
}

func remoteAddr(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

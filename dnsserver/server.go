package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
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
}

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

	mu      sync.Mutex
	udp     *dns.Server
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
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Server{opts: opts, log: log, metrics: m}, nil
}

// Start binds UDP and TCP and returns once both serve.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp != nil {
		return errors.New("dnsserver: already started")
	}
	pc, ln, err := listenPair(s.opts.Addr)
	if err != nil {
		return fmt.Errorf("dnsserver: listen: %w", err)
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{
		PacketConn:        pc,
		Handler:           s.handler(UDP),
		UDPSize:           udpReadSize,
		MsgAcceptFunc:     acceptMsg,
		NotifyStartedFunc: notify,
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
	s.addr = pc.LocalAddr().String()
	errc := make(chan error, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
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
	s.log.Info("dns listening", "addr", s.addr)
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
	if s.udp == nil {
		return nil
	}
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := srv.ShutdownContext(ctx); err != nil {
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
	s.udp, s.tcp = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dnsserver: shutdown: %w", err)
	}
	return nil
}

// listenPair binds UDP on addr and then TCP on the same port; with port 0 it
// retries when the kernel's UDP port is taken for TCP.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		_, p, _ := net.SplitHostPort(pc.LocalAddr().String())
		ln, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
		if port != "0" || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
	return nil, nil, lastErr
}

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
		bp := packBufs.Get().(*[]byte)
		defer packBufs.Put(bp)
		out := s.reply(req, tr, remoteAddr(w.RemoteAddr()), *bp)
		if out == nil {
			return
		}
		if _, err := w.Write(out); err != nil {
			s.log.Debug("dns write", "err", err, "transport", tr.String())
		}
	})
}

// reply computes and packs the reply to req. A panic on the way becomes
// SERVFAIL (logged and counted); every reply is counted.
func (s *Server) reply(req *dns.Msg, tr Transport, remote netip.AddrPort, buf []byte) (out []byte) {
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
			s.metrics.observe(qtype, resp.Rcode, tr, resp.Truncated)
		}
	}()
	resp = Answer(s.opts.Table.Load(), req, tr, remote)
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

package healthcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// Route 53's budgets: a probe must connect within ConnectTimeout and answer
// within ResponseTimeout of connecting. Every probe is also bounded by its
// check's interval (the context the Checker passes), so a backend that hangs
// fails as fast as one that refuses when the interval is short.
const (
	ConnectTimeout  = 4 * time.Second
	ResponseTimeout = 2 * time.Second
)

// userAgent is sent with every HTTP probe.
const userAgent = "healthdns-health-checker/1"

// Result is the outcome of one probe.
type Result struct {
	Healthy bool
	// Reason is Route 53-style: "Success: HTTP Status Code 200, OK",
	// "Failure: Connection refused. ...", ...
	Reason   string
	Duration time.Duration
}

// Prober sends probes. The zero value probes from any local address with
// Route 53's budgets and the system resolver. A Prober is safe for
// concurrent use.
type Prober struct {
	// SourceAddr, if valid, is the local address probes are sent from
	// (--checker-source-addr): one host can act as several vantage points.
	SourceAddr netip.Addr
	// Resolver resolves fullyQualifiedDomainName when a check has no
	// ipAddress; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// ConnectTimeout and ResponseTimeout override Route 53's budgets
	// (tests); 0 means the constants.
	ConnectTimeout, ResponseTimeout time.Duration
}

// Probe probes the endpoint of cfg (a normalized endpoint configuration)
// once. ctx bounds the whole probe. Failures are results, never errors. The
// result is the raw one: failureThreshold and inverted are the Checker's.
func (p *Prober) Probe(ctx context.Context, cfg zones.HealthCheckConfig) Result {
	start := time.Now()
	var r Result
	if cfg.Type == TypeTCP {
		r = p.probeTCP(ctx, cfg)
	} else {
		r = p.probeHTTP(ctx, cfg)
	}
	r.Duration = time.Since(start)
	return r
}

func (p *Prober) timeouts() (connect, response time.Duration) {
	connect, response = p.ConnectTimeout, p.ResponseTimeout
	if connect <= 0 {
		connect = ConnectTimeout
	}
	if response <= 0 {
		response = ResponseTimeout
	}
	return connect, response
}

// target returns the address to connect to: ipAddress, or the first address
// fullyQualifiedDomainName resolves to (of the source address's family when
// one is set).
func (p *Prober) target(ctx context.Context, cfg zones.HealthCheckConfig) (string, error) {
	port := strconv.Itoa(cfg.Port)
	if cfg.IPAddress != "" {
		return net.JoinHostPort(cfg.IPAddress, port), nil
	}
	res := p.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupNetIP(ctx, "ip", cfg.FullyQualifiedDomainName)
	if err != nil {
		return "", err
	}
	// Route 53 probes IPv4 unless told otherwise: prefer an IPv4 address, or
	// one of the source address's family when a source is set.
	var pick netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case p.SourceAddr.IsValid():
			if a.Is4() == p.SourceAddr.Unmap().Is4() && !pick.IsValid() {
				pick = a
			}
		case a.Is4() && !pick.Is4():
			pick = a
		case !pick.IsValid():
			pick = a
		}
	}
	if pick.IsValid() {
		return net.JoinHostPort(pick.String(), port), nil
	}
	return "", fmt.Errorf("%s has no address of the source address's family", cfg.FullyQualifiedDomainName)
}

// dial connects to addr from the source address within the connect budget
// and arms the response budget on the connection.
func (p *Prober) dial(ctx context.Context, addr string) (net.Conn, error) {
	connect, response := p.timeouts()
	d := net.Dialer{Timeout: connect}
	if p.SourceAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: p.SourceAddr.AsSlice()}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(response)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	return conn, nil
}

func (p *Prober) probeTCP(ctx context.Context, cfg zones.HealthCheckConfig) Result {
	addr, err := p.target(ctx, cfg)
	if err != nil {
		return Result{Reason: resolveFailure(cfg, err)}
	}
	conn, err := p.dial(ctx, addr)
	if err != nil {
		return Result{Reason: connectFailure(ctx, err)}
	}
	conn.Close()
	return Result{Healthy: true, Reason: "Success: TCP connection established"}
}

func (p *Prober) probeHTTP(ctx context.Context, cfg zones.HealthCheckConfig) Result {
	addr, err := p.target(ctx, cfg)
	if err != nil {
		return Result{Reason: resolveFailure(cfg, err)}
	}
	var connected atomic.Bool // the transport dials on a goroutine of its own
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := p.dial(ctx, addr)
		connected.Store(err == nil)
		return conn, err
	}
	tr := &http.Transport{
		DialContext:            dial,
		DisableKeepAlives:      true, // every probe opens its own connection
		DisableCompression:     true, // the string match reads the body as sent
		MaxResponseHeaderBytes: 64 << 10,
	}
	if isTLS(cfg.Type) {
		sni := ""
		if cfg.EnableSNI {
			sni = cfg.FullyQualifiedDomainName
		}
		tr.DialTLSContext = func(ctx context.Context, network, a string) (net.Conn, error) {
			conn, err := dial(ctx, network, a)
			if err != nil {
				return nil, err
			}
			// No certificate validation (Route 53's rule); SNI only with
			// enableSNI: an empty ServerName sends none.
			tc := tls.Client(conn, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, &tlsError{err}
			}
			return tc, nil
		}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probeURL(cfg), nil)
	if err != nil {
		return Result{Reason: "Failure: invalid request: " + err.Error()}
	}
	req.Host = hostHeader(cfg)
	req.Header.Set("User-Agent", userAgent)
	req.Close = true
	resp, err := tr.RoundTrip(req) // RoundTrip never follows redirects
	if err != nil {
		var te *tlsError
		if !connected.Load() || errors.As(err, &te) {
			return Result{Reason: connectFailure(ctx, err)}
		}
		return Result{Reason: responseFailure(ctx, err)}
	}
	defer resp.Body.Close()
	return judge(resp, cfg.SearchString, isMatch(cfg.Type))
}

// judge decides a probe from an HTTP response: healthy on 2xx and 3xx and,
// for a string match, when search appears within the first SearchBytes of
// the body. It reads at most SearchBytes.
func judge(resp *http.Response, search string, match bool) Result {
	code := resp.StatusCode
	text := http.StatusText(code)
	if text == "" {
		text = "Unknown"
	}
	if code < 200 || code > 399 {
		return Result{Reason: fmt.Sprintf("Failure: HTTP Status Code %d, %s", code, text)}
	}
	ok := Result{Healthy: true, Reason: fmt.Sprintf("Success: HTTP Status Code %d, %s", code, text)}
	if !match {
		return ok
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, SearchBytes))
	if bytes.Contains(body, []byte(search)) {
		return ok
	}
	if err != nil && len(body) < SearchBytes {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return Result{Reason: "Failure: Response timed out while reading the body; search string not found in what arrived"}
		}
	}
	return Result{Reason: "Failure: Search string not found in response body"}
}

// probeURL is scheme://host[:port]/path, host being the FQDN or the address;
// the connection goes to the target address whatever the URL says.
func probeURL(cfg zones.HealthCheckConfig) string {
	scheme := "http"
	if isTLS(cfg.Type) {
		scheme = "https"
	}
	host := cfg.FullyQualifiedDomainName
	if host == "" {
		host = cfg.IPAddress
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + cfg.ResourcePath
}

// hostHeader is Route 53's: the FQDN if given, else the address; with
// ":port" unless the port is the scheme's default.
func hostHeader(cfg zones.HealthCheckConfig) string {
	host := cfg.FullyQualifiedDomainName
	if host == "" {
		host = cfg.IPAddress
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
			host = "[" + host + "]"
		}
	}
	if (isTLS(cfg.Type) && cfg.Port == 443) || (!isTLS(cfg.Type) && cfg.Port == 80) {
		return host
	}
	return host + ":" + strconv.Itoa(cfg.Port)
}

type tlsError struct{ err error }

func (e *tlsError) Error() string { return e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

func resolveFailure(cfg zones.HealthCheckConfig, err error) string {
	return fmt.Sprintf("Failure: DNS resolution of %s failed: %v", cfg.FullyQualifiedDomainName, shortErr(err))
}

// connectFailure describes a failure to establish the connection.
func connectFailure(ctx context.Context, err error) string {
	var te *tlsError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Failure: Connection refused. The endpoint or the network is down, or a firewall blocks connections to it."
	case errors.As(err, &te):
		if isTimeout(ctx, err) {
			return "Failure: Response timed out during the TLS handshake."
		}
		return "Failure: TLS handshake failed: " + shortErr(te.err)
	case isTimeout(ctx, err):
		return "Failure: Connection timed out. The endpoint or the network is down, or a firewall drops connections to it."
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "Failure: The checker's source address is not available on this host: " + shortErr(err)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "Failure: Network unreachable: " + shortErr(err)
	}
	return "Failure: Connection failed: " + shortErr(err)
}

// responseFailure describes a failure after the connection was made.
func responseFailure(ctx context.Context, err error) string {
	switch {
	case isTimeout(ctx, err):
		return "Failure: Response timed out. The endpoint accepted the connection but did not answer in time."
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "Failure: The endpoint closed the connection without a complete HTTP response."
	}
	return "Failure: Invalid HTTP response: " + shortErr(err)
}

func isTimeout(ctx context.Context, err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) || ctx.Err() != nil
}

// shortErr is the innermost useful part of err, clipped.
func shortErr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

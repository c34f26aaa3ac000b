package healthcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// endpoint returns a normalized config of type typ aimed at addr
// ("127.0.0.1:port").
func endpoint(t *testing.T, typ, addr string, mod ...func(*zones.HealthCheckConfig)) zones.HealthCheckConfig {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	cfg := zones.HealthCheckConfig{Type: typ, IPAddress: host, Port: p}
	for _, m := range mod {
		m(&cfg)
	}
	cfg, err = Normalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func probe(t *testing.T, p *Prober, cfg zones.HealthCheckConfig, budget time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	return p.Probe(ctx, cfg)
}

func backend(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func addrOf(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hangingListener accepts connections and never answers (nor closes them
// before the test ends).
func hangingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

func TestProbeHTTPStatus(t *testing.T) {
	var redirectHits atomic.Int64
	target := backend(t, func(w http.ResponseWriter, r *http.Request) {
		redirectHits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "fine")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, target.URL+"/down", http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		case "/weird":
			w.WriteHeader(299)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	for _, tc := range []struct {
		path    string
		healthy bool
		reason  string
	}{
		{"/ok", true, "Success: HTTP Status Code 200, OK"},
		{"/nocontent", true, "Success: HTTP Status Code 204, No Content"},
		{"/moved", true, "Success: HTTP Status Code 302, Found"},
		{"/weird", true, "Success: HTTP Status Code 299, Unknown"},
		{"/missing", false, "Failure: HTTP Status Code 404, Not Found"},
		{"/down", false, "Failure: HTTP Status Code 503, Service Unavailable"},
	} {
		cfg := endpoint(t, TypeHTTP, addrOf(srv.URL), func(c *zones.HealthCheckConfig) { c.ResourcePath = tc.path })
		r := probe(t, &Prober{}, cfg, 5*time.Second)
		if r.Healthy != tc.healthy || r.Reason != tc.reason {
			t.Errorf("%s: got %v %q, want %v %q", tc.path, r.Healthy, r.Reason, tc.healthy, tc.reason)
		}
	}
	if n := redirectHits.Load(); n != 0 {
		t.Errorf("the redirect was followed (%d requests to its target)", n)
	}
}

func TestProbeRefused(t *testing.T) {
	addr := closedAddr(t)
	for _, typ := range []string{TypeHTTP, TypeHTTPS, TypeTCP} {
		r := probe(t, &Prober{}, endpoint(t, typ, addr), 5*time.Second)
		if r.Healthy || !strings.HasPrefix(r.Reason, "Failure: Connection refused") {
			t.Errorf("%s: got %v %q, want Failure: Connection refused", typ, r.Healthy, r.Reason)
		}
	}
}

// TestProbeBoundedByInterval: a backend that accepts and never answers fails
// within the probe's context (the check's interval), well before Route 53's
// 2 s response budget, as a refusing one does.
func TestProbeBoundedByInterval(t *testing.T) {
	hang, refuse := hangingListener(t), closedAddr(t)
	const interval = 300 * time.Millisecond
	for _, tc := range []struct {
		typ, addr, reason string
	}{
		{TypeHTTP, hang, "Failure: Response timed out"},
		{TypeHTTPS, hang, "Failure: Response timed out"},
		{TypeHTTPStrMatch, hang, "Failure: Response timed out"},
		{TypeHTTP, refuse, "Failure: Connection refused"},
		{TypeTCP, refuse, "Failure: Connection refused"},
	} {
		cfg := endpoint(t, tc.typ, tc.addr, func(c *zones.HealthCheckConfig) {
			if isMatch(c.Type) {
				c.SearchString = "x"
			}
		})
		r := probe(t, &Prober{}, cfg, interval)
		if r.Healthy || !strings.HasPrefix(r.Reason, tc.reason) {
			t.Errorf("%s %s: got %v %q, want %q", tc.typ, tc.addr, r.Healthy, r.Reason, tc.reason)
		}
		if r.Duration >= ResponseTimeout {
			t.Errorf("%s %s: took %s, not bounded by the %s interval", tc.typ, tc.addr, r.Duration, interval)
		}
	}
	// Without an interval bound, Route 53's response budget applies (here
	// shortened).
	p := &Prober{ResponseTimeout: 200 * time.Millisecond}
	r := probe(t, p, endpoint(t, TypeHTTP, hang), time.Minute)
	if r.Healthy || !strings.HasPrefix(r.Reason, "Failure: Response timed out") || r.Duration >= 30*time.Second {
		t.Errorf("response budget: got %v %q after %s", r.Healthy, r.Reason, r.Duration)
	}
}

func TestProbeStringMatch(t *testing.T) {
	bodies := map[string]func(w io.Writer){}
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "NEEDLE")
			return
		}
		bodies[r.URL.Path](w)
	})
	pad := func(n int) string { return strings.Repeat("a", n) }
	bodies["/start"] = func(w io.Writer) { io.WriteString(w, "NEEDLE"+pad(10000)) }
	bodies["/edge"] = func(w io.Writer) { io.WriteString(w, pad(SearchBytes-6)+"NEEDLE"+pad(10)) }
	bodies["/across"] = func(w io.Writer) { io.WriteString(w, pad(SearchBytes-3)+"NEEDLE") }
	bodies["/beyond"] = func(w io.Writer) { io.WriteString(w, pad(SearchBytes)+"NEEDLE") }
	bodies["/short"] = func(w io.Writer) { io.WriteString(w, "no") }
	bodies["/huge"] = func(w io.Writer) { // 64 MiB: must not be read
		chunk := []byte(pad(1 << 16))
		for i := 0; i < 1024; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		path    string
		healthy bool
		reason  string
	}{
		{"/start", true, "Success: HTTP Status Code 200, OK"},
		{"/edge", true, "Success: HTTP Status Code 200, OK"},
		{"/across", false, "Failure: Search string not found in response body"},
		{"/beyond", false, "Failure: Search string not found in response body"},
		{"/short", false, "Failure: Search string not found in response body"},
		{"/huge", false, "Failure: Search string not found in response body"},
		{"/down", false, "Failure: HTTP Status Code 503, Service Unavailable"},
	} {
		cfg := endpoint(t, TypeHTTPStrMatch, addrOf(srv.URL), func(c *zones.HealthCheckConfig) {
			c.ResourcePath, c.SearchString = tc.path, "NEEDLE"
		})
		r := probe(t, &Prober{}, cfg, 5*time.Second)
		if r.Healthy != tc.healthy || r.Reason != tc.reason {
			t.Errorf("%s: got %v %q, want %v %q", tc.path, r.Healthy, r.Reason, tc.healthy, tc.reason)
		}
	}
}

// TestProbeHTTPS: no certificate validation (httptest's certificate is
// self-signed), SNI only with enableSNI, Host from the FQDN.
func TestProbeHTTPS(t *testing.T) {
	var (
		mu    sync.Mutex
		sni   []string
		hosts []string
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		fmt.Fprint(w, "secure NEEDLE")
	}))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = append(sni, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the HTTP probe below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := addrOf(srv.URL)
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		name     string
		mod      func(*zones.HealthCheckConfig)
		sni      string
		host     string
		typeName string
	}{
		{"ip only", func(c *zones.HealthCheckConfig) {}, "", "127.0.0.1:" + port, TypeHTTPS},
		{"fqdn without SNI", func(c *zones.HealthCheckConfig) { c.FullyQualifiedDomainName = "www.example.test" }, "", "www.example.test:" + port, TypeHTTPS},
		{"fqdn with SNI", func(c *zones.HealthCheckConfig) { c.FullyQualifiedDomainName = "www.example.test"; c.EnableSNI = true }, "www.example.test", "www.example.test:" + port, TypeHTTPS},
		{"string match", func(c *zones.HealthCheckConfig) { c.SearchString = "NEEDLE" }, "", "127.0.0.1:" + port, TypeHTTPSStrMatch},
	} {
		mu.Lock()
		sni, hosts = nil, nil
		mu.Unlock()
		r := probe(t, &Prober{}, endpoint(t, tc.typeName, addr, tc.mod), 5*time.Second)
		if !r.Healthy || r.Reason != "Success: HTTP Status Code 200, OK" {
			t.Errorf("%s: got %v %q", tc.name, r.Healthy, r.Reason)
			continue
		}
		mu.Lock()
		if len(sni) != 1 || sni[0] != tc.sni || len(hosts) != 1 || hosts[0] != tc.host {
			t.Errorf("%s: SNI %q, Host %q; want %q, %q", tc.name, sni, hosts, tc.sni, tc.host)
		}
		mu.Unlock()
	}
	// An HTTP probe of an HTTPS port fails, and the reverse.
	if r := probe(t, &Prober{}, endpoint(t, TypeHTTP, addr), 5*time.Second); r.Healthy {
		t.Errorf("HTTP to an HTTPS port: %q", r.Reason)
	}
	plain := backend(t, func(w http.ResponseWriter, r *http.Request) {})
	if r := probe(t, &Prober{}, endpoint(t, TypeHTTPS, addrOf(plain.URL)), 5*time.Second); r.Healthy || !strings.HasPrefix(r.Reason, "Failure: TLS handshake failed") {
		t.Errorf("HTTPS to an HTTP port: %v %q", r.Healthy, r.Reason)
	}
}

func TestProbeHostAndResolve(t *testing.T) {
	var (
		mu    sync.Mutex
		hosts []string
	)
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
	})
	_, port, _ := net.SplitHostPort(addrOf(srv.URL))
	p, _ := strconv.Atoi(port)
	// No ipAddress: the FQDN is resolved ("localhost", from the hosts file).
	cfg, err := Normalize(zones.HealthCheckConfig{Type: TypeHTTP, FullyQualifiedDomainName: "localhost", Port: p})
	if err != nil {
		t.Fatal(err)
	}
	if r := probe(t, &Prober{}, cfg, 5*time.Second); !r.Healthy {
		t.Fatalf("resolved probe: %q", r.Reason)
	}
	if r := probe(t, &Prober{}, endpoint(t, TypeHTTP, addrOf(srv.URL)), 5*time.Second); !r.Healthy {
		t.Fatalf("ip probe: %q", r.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"localhost:" + port, "127.0.0.1:" + port}; strings.Join(hosts, " ") != strings.Join(want, " ") {
		t.Errorf("Host headers %q, want %q", hosts, want)
	}
	cfg.FullyQualifiedDomainName = "no-such-name.invalid"
	if r := probe(t, &Prober{}, cfg, 5*time.Second); r.Healthy || !strings.HasPrefix(r.Reason, "Failure: DNS resolution of no-such-name.invalid failed") {
		t.Errorf("unresolvable name: %v %q", r.Healthy, r.Reason)
	}
}

func TestHostHeader(t *testing.T) {
	for _, tc := range []struct {
		cfg  zones.HealthCheckConfig
		want string
	}{
		{zones.HealthCheckConfig{Type: TypeHTTP, IPAddress: "192.0.2.1", Port: 80}, "192.0.2.1"},
		{zones.HealthCheckConfig{Type: TypeHTTP, IPAddress: "2001:db8::1", Port: 8080}, "[2001:db8::1]:8080"},
		{zones.HealthCheckConfig{Type: TypeHTTPS, FullyQualifiedDomainName: "a.example", Port: 443}, "a.example"},
		{zones.HealthCheckConfig{Type: TypeHTTPS, FullyQualifiedDomainName: "a.example", Port: 80}, "a.example:80"},
	} {
		if got := hostHeader(tc.cfg); got != tc.want {
			t.Errorf("hostHeader(%+v) = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func TestProbeTCPAndSourceAddr(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	from := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		from <- host
		c.Close()
	}()
	t.Cleanup(func() { l.Close(); <-done })
	p := &Prober{SourceAddr: netip.MustParseAddr("127.0.0.12")}
	r := probe(t, p, endpoint(t, TypeTCP, l.Addr().String()), 5*time.Second)
	if !r.Healthy || r.Reason != "Success: TCP connection established" {
		t.Fatalf("TCP: %v %q", r.Healthy, r.Reason)
	}
	if got := <-from; got != "127.0.0.12" {
		t.Errorf("probe came from %s, want 127.0.0.12", got)
	}
}

// FuzzJudge feeds arbitrary bytes as an endpoint's HTTP response: judging
// must not panic, must read at most SearchBytes of the body, and may call
// healthy only a 2xx or 3xx response (holding the string when matching).
func FuzzJudge(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nNEEDLE"), "NEEDLE")
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\r\n\r\n"), "x")
	f.Add([]byte("HTTP/1.1 301 Moved\r\nLocation: /\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), "hello")
	f.Add([]byte("HTTP/1.0 200\r\n\r\n"+strings.Repeat("z", 9000)+"NEEDLE"), "NEEDLE")
	f.Add([]byte("garbage\x00\xff"), "")
	f.Fuzz(func(t *testing.T, raw []byte, search string) {
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			return // the transport would have failed the probe
		}
		defer resp.Body.Close()
		counted := &countingReader{r: resp.Body}
		resp.Body = io.NopCloser(counted)
		for _, match := range []bool{false, true} {
			r := judge(resp, search, match)
			if r.Healthy && (resp.StatusCode < 200 || resp.StatusCode > 399) {
				t.Fatalf("status %d judged healthy", resp.StatusCode)
			}
			if !strings.HasPrefix(r.Reason, "Success: ") && !strings.HasPrefix(r.Reason, "Failure: ") {
				t.Fatalf("reason %q", r.Reason)
			}
		}
		if counted.n > SearchBytes {
			t.Fatalf("read %d bytes of the body", counted.n)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

package dnsserver

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

// thirdPartyZones is where the shared third-party test zones live, relative
// to this package's directory.
const thirdPartyZones = "../../shared/testdata/zones-thirdparty"

// diffZone is one zone served by both NSD and healthdns.
type diffZone struct {
	origin string
	file   string // absolute path
	sets   []*zones.Set
}

// ownDiffZones are zones of this package added to the comparison.
func ownDiffZones() map[string]string {
	rename := func(s string) string { return strings.ReplaceAll(s, "test.", "parent.zz.") }
	return map[string]string{
		"example.org.":     exampleZone,
		"parent.zz.":       rename(parentZone),
		"child.parent.zz.": rename(childZone),
		"big.parent.zz.":   rename(bigZone()),
		"casewild.zz.":     caseWildZone,
		"apex-dname.zz.":   apexDNAMEZone,
	}
}

const caseWildZone = `$ORIGIN casewild.zz.
$TTL 300
@        SOA ns1 hostmaster 1 7200 3600 1209600 100
@        NS  ns1
ns1      A   192.0.2.1
*        MX  10 mail
*        A   192.0.2.2
mail     A   192.0.2.3
Mixed    A   192.0.2.4
*.deep.a.b  TXT "deep"
x.*.a.b  TXT "star in the middle"
cut      NS  ns.cut
ns.cut   A   192.0.2.5
*.cut    A   192.0.2.6
`

const apexDNAMEZone = `$ORIGIN apex-dname.zz.
$TTL 300
@        SOA ns1.casewild.zz. hostmaster 1 7200 3600 1209600 100
@        NS  ns1.casewild.zz.
@        DNAME casewild.zz.
@        A   192.0.2.7
`

func findNSD(t *testing.T) string {
	p, err := exec.LookPath("nsd")
	if err != nil {
		t.Skipf("differential test needs NSD (Debian package nsd): %v", err)
	}
	return p
}

// TestDiffNSD serves the same zones from NSD and from healthdns and compares
// the replies to the same queries.
func TestDiffNSD(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test against NSD skipped in -short mode")
	}
	nsdPath := findNSD(t)
	dir := t.TempDir()

	var dz []*diffZone
	zoneDir := thirdPartyZones
	if d := os.Getenv("HEALTHDNS_DIFF_ZONES"); d != "" {
		zoneDir = d // another directory of <origin>.zone files
	}
	files, _ := filepath.Glob(filepath.Join(zoneDir, "*.zone"))
	if len(files) == 0 {
		t.Logf("no zones in %s; comparing this package's zones only", zoneDir)
	}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		origin := strings.TrimSuffix(filepath.Base(f), ".zone") + "."
		dz = append(dz, &diffZone{origin: origin, file: abs})
	}
	for origin, text := range ownDiffZones() {
		path := filepath.Join(dir, origin+"zone")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		dz = append(dz, &diffZone{origin: origin, file: path})
	}
	sort.Slice(dz, func(i, j int) bool { return dz[i].origin < dz[j].origin })

	// Zones that zones.ParseZoneFile refuses are left out of both servers.
	var ok []*diffZone
	for _, z := range dz {
		f, err := os.Open(z.file)
		if err != nil {
			t.Fatal(err)
		}
		z.sets, err = zones.ParseZoneFile(f, z.origin)
		f.Close()
		if err != nil {
			t.Logf("skip zone %s: zones.ParseZoneFile refuses it: %v", z.origin, err)
			continue
		}
		ok = append(ok, z)
	}
	dz = ok

	nsdAddr := startNSD(t, nsdPath, dir, dz)

	// Zones NSD did not load are left out of ours as well.
	ok = nil
	for _, z := range dz {
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(newQuery(z.origin, dns.TypeSOA, 0, false), nsdAddr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !r.Authoritative {
			t.Logf("skip zone %s: NSD does not serve it (err %v, reply %v)", z.origin, err, r)
			continue
		}
		ok = append(ok, z)
	}
	dz = ok
	if len(dz) == 0 {
		t.Fatal("no zone to compare")
	}

	tb := NewTable()
	var deltas []zones.ZoneDelta
	for _, z := range dz {
		deltas = append(deltas, zones.ZoneDelta{Origin: z.origin, Reset: true, Put: z.sets})
	}
	if err := tb.Apply(deltas); err != nil {
		t.Fatal(err)
	}
	ours := startServer(t, tb, Options{MaxTCPQueries: -1})

	queries := diffQueries(dz)
	variants := []variant{
		{"udp", 0}, {"udp", 512}, {"udp", 1232}, {"udp", 4096}, {"tcp", 0}, {"tcp", 1232},
	}
	type job struct {
		q diffQuery
		v variant
	}
	jobs := make(chan job)
	var (
		mu       sync.Mutex
		failures = map[string][]string{} // difference -> variants
		errs     int
		compared int
		perZone  = map[string]int{}
	)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := &prober{addr: nsdAddr}, &prober{addr: ours.Addr()}
			defer a.close()
			defer b.close()
			for j := range jobs {
				m := newQuery(j.q.name, j.q.qtype, j.v.bufsize, false)
				want, errA := a.ask(m, j.v.network)
				got, errB := b.ask(m, j.v.network)
				diff := ""
				switch {
				case errA != nil || errB != nil:
					mu.Lock()
					errs++
					mu.Unlock()
					if (errA == nil) != (errB == nil) {
						diff = fmt.Sprintf("NSD error %v, ours %v", errA, errB)
					}
				default:
					diff = compareReplies(j.q, j.v, want, got, tb.Load())
				}
				mu.Lock()
				compared++
				perZone[j.q.zone]++
				if diff != "" {
					k := fmt.Sprintf("%s %s: %s", j.q.name, dns.TypeToString[j.q.qtype], diff)
					failures[k] = append(failures[k], fmt.Sprintf("%s/%d", j.v.network, j.v.bufsize))
				}
				mu.Unlock()
			}
		}()
	}
	for _, q := range queries {
		for _, v := range variants {
			jobs <- job{q, v}
		}
	}
	close(jobs)
	wg.Wait()

	var zoneList []string
	for _, z := range dz {
		zoneList = append(zoneList, fmt.Sprintf("%s(%d)", z.origin, perZone[z.origin]))
	}
	t.Logf("compared %d exchanges (%d queries x %d variants, %d with a network error) over %d zones: %s",
		compared, len(queries), len(variants), errs, len(dz), strings.Join(zoneList, " "))
	keys := slices.Sorted(maps.Keys(failures))
	for i, k := range keys {
		if i == 80 {
			t.Errorf("... and %d more differences", len(keys)-i)
			break
		}
		t.Errorf("%s [%s]", k, strings.Join(failures[k], " "))
	}
}

type variant struct {
	network string
	bufsize uint16
}

type diffQuery struct {
	zone  string
	name  string
	qtype uint16
}

// diffQueries lists, per zone: every owner name and empty non-terminal with
// every type present there plus the common ones, names that do not exist
// (below each name), names under wildcards and below delegations, DS at
// cuts, and mixed-case forms.
func diffQueries(dz []*diffZone) []diffQuery {
	common := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeNS, dns.TypeSOA, dns.TypeANY}
	var out []diffQuery
	seen := map[diffQuery]bool{}
	addQ := func(q diffQuery) {
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for _, z := range dz {
		types := map[string][]uint16{}
		var names []string
		addName := func(n string) {
			if _, ok := types[n]; !ok {
				types[n] = nil
				names = append(names, n)
			}
		}
		cuts := map[string]bool{}
		for _, s := range z.sets {
			addName(s.Name)
			types[s.Name] = append(types[s.Name], s.Qtype)
			if s.Qtype == dns.TypeNS && s.Name != z.origin {
				cuts[s.Name] = true
			}
			for n := s.Name; n != z.origin && n != "."; {
				n = parentName(n)
				addName(n) // empty non-terminals
			}
		}
		for _, n := range names {
			ts := append(slices.Clone(types[n]), common...)
			if cuts[n] || n == z.origin {
				ts = append(ts, dns.TypeDS)
			}
			for _, qt := range ts {
				addQ(diffQuery{z.origin, n, qt})
			}
			// Mixed case, and names that do not exist below every name.
			addQ(diffQuery{z.origin, mixCase(n), dns.TypeA})
			if len(types[n]) > 0 {
				addQ(diffQuery{z.origin, mixCase(n), types[n][0]})
			}
			probe := "nx-probe." + n
			if isWildcardName(n) {
				probe = "wc-probe." + n[2:]
				addQ(diffQuery{z.origin, "a.b." + probe, dns.TypeA})
			}
			for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX, dns.TypeCNAME, dns.TypeDS, dns.TypeANY} {
				addQ(diffQuery{z.origin, probe, qt})
			}
			if _, ok := dns.IsDomainName("deeper.nx-probe." + n); ok {
				addQ(diffQuery{z.origin, "deeper.nx-probe." + n, dns.TypeA})
			}
		}
	}
	return out
}

// mixCase upper-cases every other letter.
func mixCase(s string) string {
	b := []byte(s)
	up := true
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			if up {
				b[i] = c - 'a' + 'A'
			}
			up = !up
		}
	}
	return string(b)
}

// compareReplies returns "" when the replies agree, allowing what the RFCs
// leave free: which RRset answers ANY (RFC 8482) and NSD's apex NS RRset in
// the authority section of positive answers. Over TCP, where size does not
// decide, our additional section must be part of NSD's (which also holds
// addresses for that apex NS RRset).
func compareReplies(q diffQuery, v variant, nsd, ours *dns.Msg, snap *Snapshot) string {
	var d []string
	if nsd.Rcode != ours.Rcode {
		d = append(d, fmt.Sprintf("rcode NSD %s, ours %s", dns.RcodeToString[nsd.Rcode], dns.RcodeToString[ours.Rcode]))
	}
	if nsd.Authoritative != ours.Authoritative {
		d = append(d, fmt.Sprintf("AA NSD %v, ours %v", nsd.Authoritative, ours.Authoritative))
	}
	if nsd.Truncated != ours.Truncated {
		d = append(d, fmt.Sprintf("TC NSD %v, ours %v", nsd.Truncated, ours.Truncated))
	}
	if q.qtype == dns.TypeANY {
		if (len(nsd.Answer) == 0) != (len(ours.Answer) == 0) {
			d = append(d, fmt.Sprintf("ANY answer NSD %q, ours %q", diffStrings(nsd.Answer), diffStrings(ours.Answer)))
		}
	} else if a, b := diffStrings(nsd.Answer), diffStrings(ours.Answer); !slices.Equal(a, b) {
		d = append(d, fmt.Sprintf("answer\n\tNSD  %q\n\tours %q", a, b))
	}
	nsdAuth := nsd.Ns
	if len(nsd.Answer) > 0 && nsd.Rcode == dns.RcodeSuccess {
		nsdAuth = slices.DeleteFunc(slices.Clone(nsdAuth), func(rr dns.RR) bool {
			h := rr.Header()
			return h.Rrtype == dns.TypeNS && snap.zones[lowerASCII(h.Name)] != nil
		})
	}
	if a, b := diffStrings(nsdAuth), diffStrings(ours.Ns); !slices.Equal(a, b) {
		d = append(d, fmt.Sprintf("authority\n\tNSD  %q\n\tours %q", a, b))
	}
	if v.network == "tcp" {
		have := map[string]bool{}
		for _, x := range diffStrings(nsd.Extra) {
			have[x] = true
		}
		for _, x := range diffStrings(ours.Extra) {
			if !have[x] {
				d = append(d, fmt.Sprintf("additional %q is not in NSD's %q", x, diffStrings(nsd.Extra)))
				break
			}
		}
	}
	return strings.Join(d, "; ")
}

// prober sends queries over kept-open connections.
type prober struct {
	addr string
	conn map[string]*dns.Conn
	id   uint16
}

func (p *prober) ask(m *dns.Msg, network string) (*dns.Msg, error) {
	if p.conn == nil {
		p.conn = map[string]*dns.Conn{}
	}
	for attempt := 0; ; attempt++ {
		c := p.conn[network]
		if c == nil {
			var err error
			c, err = dns.DialTimeout(network, p.addr, 2*time.Second)
			if err != nil {
				return nil, err
			}
			c.UDPSize = dns.MaxMsgSize
			p.conn[network] = c
		}
		p.id++
		m.Id = p.id
		c.SetDeadline(time.Now().Add(2 * time.Second))
		r, err := exchangeOn(c, m)
		if err == nil {
			return r, nil
		}
		c.Close()
		delete(p.conn, network)
		// A server may close an idle TCP connection: retry once on a new one.
		if attempt > 0 || network != "tcp" {
			return nil, err
		}
	}
}

func exchangeOn(c *dns.Conn, m *dns.Msg) (*dns.Msg, error) {
	if err := c.WriteMsg(m); err != nil {
		return nil, err
	}
	for {
		r, err := c.ReadMsg()
		if err != nil {
			return nil, err
		}
		if r.Id == m.Id {
			return r, nil
		}
	}
}

func (p *prober) close() {
	for _, c := range p.conn {
		c.Close()
	}
}

// startNSD runs NSD on a free loopback port serving dz and returns its
// address once it answers; t.Cleanup stops it by PID.
func startNSD(t *testing.T, nsdPath, dir string, dz []*diffZone) string {
	t.Helper()
	var lastErr error
	for attempt := range 3 {
		pcs, ln, err := listenSockets("127.0.0.1:0", 1, false)
		if err != nil {
			t.Fatal(err)
		}
		addr := pcs[0].LocalAddr().String()
		_, port, _ := strings.Cut(addr, ":")
		pcs[0].Close()
		ln.Close()

		run := filepath.Join(dir, fmt.Sprintf("nsd%d", attempt))
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		var conf bytes.Buffer
		fmt.Fprintf(&conf, `server:
  ip-address: 127.0.0.1@%s
  server-count: 1
  rrl-ratelimit: 0
  username: ""
  zonesdir: %q
  database: ""
  pidfile: %q
  xfrdfile: %q
  zonelistfile: %q
  logfile: %q
  verbosity: 1
remote-control:
  control-enable: no
`, port, run, filepath.Join(run, "nsd.pid"), filepath.Join(run, "xfrd.state"),
			filepath.Join(run, "zone.list"), filepath.Join(run, "nsd.log"))
		for _, z := range dz {
			fmt.Fprintf(&conf, "zone:\n  name: %q\n  zonefile: %q\n", z.origin, z.file)
		}
		confPath := filepath.Join(run, "nsd.conf")
		if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(run, "nsd.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nsdPath, "-d", "-c", confPath)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			out.Close()
			t.Skipf("cannot start nsd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				// NSD's own children share its process group.
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
			out.Close()
		}
		if err := waitNSD(addr, dz[0].origin, exited); err != nil {
			stop()
			log, _ := os.ReadFile(filepath.Join(run, "nsd.log"))
			lastErr = fmt.Errorf("%w\n%s", err, log)
			continue
		}
		t.Cleanup(stop)
		return addr
	}
	t.Fatalf("nsd did not start: %v", lastErr)
	return ""
}

// waitNSD polls until NSD answers on UDP and TCP or exits.
func waitNSD(addr, zone string, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("nsd exited: %v", err)
		default:
		}
		up := true
		for _, network := range []string{"udp", "tcp"} {
			c := &dns.Client{Net: network, Timeout: 200 * time.Millisecond}
			if _, _, err := c.Exchange(newQuery(zone, dns.TypeSOA, 0, false), addr); err != nil {
				up = false
			}
		}
		if up {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("nsd did not answer within 10s")
}

// diffStrings is rrStrings lower-cased throughout: NSD compresses names in
// RDATA against the question, so their case follows the query's.
func diffStrings(rrs []dns.RR) []string {
	out := rrStrings(rrs)
	for i := range out {
		out[i] = strings.ToLower(out[i])
	}
	slices.Sort(out)
	return out
}

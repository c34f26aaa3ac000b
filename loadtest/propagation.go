package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// Defaults of PropagationOptions.
const (
	DefaultChanges       = 100
	DefaultPollInterval  = 2 * time.Millisecond
	DefaultChangeTimeout = 30 * time.Second

	apiTimeout = 30 * time.Second // bounds each API call
)

// PropagationOptions configure Propagation.
type PropagationOptions struct {
	// API is the healthdns API the changes go through. Required.
	API *client.Client
	// DNS are the host:port addresses of the DNS nodes to watch. Required.
	DNS []string
	// Changes is the number of changes to time (default 100).
	Changes int
	// Zone is the temporary zone's name (default propagation-RANDOM.test).
	// It must not exist: Propagation creates it and deletes it.
	Zone string
	// PollInterval is how often each node is asked (default 2 ms).
	PollInterval time.Duration
	// ChangeTimeout bounds the wait for one change (and for the new zone)
	// to show on every node (default 30 s).
	ChangeTimeout time.Duration
	// Progress, if not nil, receives a line a second.
	Progress io.Writer
}

// PropagationResult holds, for each change in order, the time from the
// API's answer to the first DNS answer that showed it: per node, and to the
// last of them.
type PropagationResult struct {
	Zone    string
	ToAll   []time.Duration
	PerNode map[string][]time.Duration
}

// Summary is the nearest-rank p50 and p99 and the maximum of a sample.
type Summary struct {
	P50, P99, Max time.Duration
}

// Summarize returns ds's Summary; the zero Summary when ds is empty.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(float64(len(s))*q+0.999999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Summary{P50: rank(0.5), P99: rank(0.99), Max: s[len(s)-1]}
}

// Propagation creates a temporary zone through the API, then makes
// o.Changes changes one after the other (an UPSERT of one TXT record with a
// new value each time) and times each from the API's answer until every DNS
// node answers with the new value. It deletes the record and the zone
// before it returns, whatever happened, even when ctx is cancelled. The
// result holds the changes timed before any error.
func Propagation(ctx context.Context, o PropagationOptions) (res *PropagationResult, err error) {
	if o.API == nil || len(o.DNS) == 0 {
		return nil, errors.New("an API client and at least one DNS address are needed")
	}
	if o.Changes < 0 || o.PollInterval < 0 || o.ChangeTimeout < 0 {
		return nil, errors.New("changes, poll interval and change timeout must not be negative")
	}
	if o.Changes == 0 {
		o.Changes = DefaultChanges
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.ChangeTimeout == 0 {
		o.ChangeTimeout = DefaultChangeTimeout
	}
	nonce := randomHex(6)
	zone := o.Zone
	if zone == "" {
		zone = "propagation-" + nonce + ".test"
	}
	zone = dns.CanonicalName(zone)

	probers := make([]*prober, 0, len(o.DNS))
	defer func() {
		for _, p := range probers {
			p.conn.Close()
		}
	}()
	for _, addr := range o.DNS {
		p, err := newProber(addr, zone, o.PollInterval)
		if err != nil {
			return nil, err
		}
		probers = append(probers, p)
	}

	// API writes run to completion even when ctx ends (an interrupt): one
	// abandoned mid-flight could leave behind a zone or a record that the
	// clean-up does not know of.
	write := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	}
	wctx, cancel := write()
	z, _, err := o.API.CreateZone(wctx, zones.CreateZoneRequest{
		Name: zone, CallerReference: "dnsload-propagation-" + nonce,
		Comment: "temporary zone of dnsload propagation; deleted when it ends",
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("create zone %s: %w", zone, err)
	}
	defer func() {
		// Clean up even when ctx is cancelled (an interrupt).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*apiTimeout)
		defer cancel()
		if cerr := deleteZone(cctx, o.API, z.ID); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up zone %s (%s): %w", zone, z.ID, cerr))
		}
	}()

	res = &PropagationResult{Zone: zone, PerNode: map[string][]time.Duration{}}
	// The zone itself must reach every node before a change can.
	if _, err := watchAll(ctx, probers, o.ChangeTimeout, time.Now(), func(m *dns.Msg) bool {
		return m.Rcode == dns.RcodeSuccess && m.Authoritative
	}, dns.TypeSOA, zone); err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("interrupted before the first change: %w", ctx.Err())
		}
		return res, fmt.Errorf("new zone %s: %w", zone, err)
	}

	name := "probe." + zone
	ttl := int64(1)
	lastLine := time.Now()
	for i := 0; i < o.Changes; i++ {
		value := fmt.Sprintf("dnsload-%s-%d", nonce, i)
		rs := zones.RecordSet{Name: name, Type: "TXT", TTL: &ttl, Values: []string{`"` + value + `"`}}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("interrupted after %d changes: %w", i, err)
		}
		wctx, cancel := write()
		_, err := o.API.ChangeRecordSets(wctx, z.ID, zones.ChangeBatch{
			Comment: "dnsload propagation",
			Changes: []zones.Change{{Action: zones.ActionUpsert, RecordSet: rs}},
		})
		cancel()
		if err != nil {
			return res, fmt.Errorf("change %d: %w", i+1, err)
		}
		answered := time.Now()
		times, err := watchAll(ctx, probers, o.ChangeTimeout, answered, func(m *dns.Msg) bool {
			return hasTXT(m, value)
		}, dns.TypeTXT, name)
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("interrupted after %d changes: %w", i, ctx.Err())
			}
			return res, fmt.Errorf("change %d: %w", i+1, err)
		}
		var last time.Duration
		for j, p := range probers {
			res.PerNode[p.addr] = append(res.PerNode[p.addr], times[j])
			last = max(last, times[j])
		}
		res.ToAll = append(res.ToAll, last)
		if o.Progress != nil && time.Since(lastLine) >= time.Second {
			lastLine = time.Now()
			fmt.Fprintf(o.Progress, "dnsload: %d/%d changes, the last took %.2f ms to reach every node\n",
				i+1, o.Changes, float64(last)/float64(time.Millisecond))
		}
	}
	return res, nil
}

// watchAll polls every node at once until check holds for its answer to
// (qname, qtype), and returns for each node the time from since to that
// answer.
func watchAll(ctx context.Context, probers []*prober, timeout time.Duration, since time.Time,
	check func(*dns.Msg) bool, qtype uint16, qname string) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	times := make([]time.Duration, len(probers))
	errs := make([]error, len(probers))
	var wg sync.WaitGroup
	for i, p := range probers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at, err := p.watch(ctx, qname, qtype, check)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", p.addr, err)
				return
			}
			times[i] = at.Sub(since)
		}()
	}
	wg.Wait()
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return times, errors.New(strings.Join(msgs, "; "))
	}
	return times, nil
}

// prober asks one DNS node, over UDP.
type prober struct {
	addr     string
	conn     *net.UDPConn
	interval time.Duration
	id       uint16
	buf      []byte
}

func newProber(addr, zone string, interval time.Duration) (*prober, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("DNS address %s: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("DNS address %s: %w", addr, err)
	}
	return &prober{addr: addr, conn: conn, interval: interval, buf: make([]byte, 65535)}, nil
}

// watch asks for (qname, qtype) every interval until an answer satisfies
// check, and returns when that answer arrived. A reply to an earlier query
// counts too: what matters is that the node served it.
func (p *prober) watch(ctx context.Context, qname string, qtype uint16, check func(*dns.Msg) bool) (time.Time, error) {
	q := new(dns.Msg)
	q.SetQuestion(qname, qtype)
	q.RecursionDesired = false
	var lastRcode = -1
	for next := time.Now(); ; {
		if err := ctx.Err(); err != nil {
			if lastRcode >= 0 {
				return time.Time{}, fmt.Errorf("%w (the last answer had rcode %s)", err, dns.RcodeToString[lastRcode])
			}
			return time.Time{}, fmt.Errorf("%w (no answer)", err)
		}
		p.id++
		q.Id = p.id
		wire, err := q.Pack()
		if err != nil {
			return time.Time{}, err
		}
		p.conn.Write(wire) // a failure shows as no answer; try again next tick
		next = next.Add(p.interval)
		if now := time.Now(); next.Before(now) {
			next = now // fell behind: do not send a burst
		}
		for {
			p.conn.SetReadDeadline(next)
			n, err := p.conn.Read(p.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				// ECONNREFUSED for an earlier query: nothing listens (yet).
				time.Sleep(time.Until(next))
				break
			}
			at := time.Now()
			var m dns.Msg
			if m.Unpack(p.buf[:n]) != nil || len(m.Question) != 1 ||
				!strings.EqualFold(m.Question[0].Name, qname) || m.Question[0].Qtype != qtype {
				continue
			}
			lastRcode = m.Rcode
			if check(&m) {
				return at, nil
			}
		}
	}
}

func hasTXT(m *dns.Msg, value string) bool {
	if m.Rcode != dns.RcodeSuccess {
		return false
	}
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok && slices.Contains(t.Txt, value) {
			return true
		}
	}
	return false
}

// deleteZone deletes every record set of the zone but the apex SOA and NS,
// then the zone.
func deleteZone(ctx context.Context, api *client.Client, id string) error {
	z, err := api.GetZone(ctx, id)
	if err != nil {
		return err
	}
	var del []zones.Change
	err = api.EachRecordSet(ctx, id, zones.ListRecordSetsInput{}, func(rs zones.RecordSet) bool {
		if dns.CanonicalName(rs.Name) == dns.CanonicalName(z.Name) && (rs.Type == "SOA" || rs.Type == "NS") {
			return true
		}
		del = append(del, zones.Change{Action: zones.ActionDelete, RecordSet: rs})
		return true
	})
	if err != nil {
		return err
	}
	if len(del) > 0 {
		if _, err := api.ChangeRecordSets(ctx, id, zones.ChangeBatch{Comment: "dnsload propagation: clean up", Changes: del}); err != nil {
			return err
		}
	}
	_, err = api.DeleteZone(ctx, id)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

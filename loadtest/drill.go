package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// DrillOptions configure a failover drill.
type DrillOptions struct {
	API       *client.Client
	DNS       []string      // DNS nodes to query, host:port
	Interval  int           // health check requestInterval, seconds
	Threshold int           // health check failureThreshold
	Rate      float64       // queries per second to each node
	Timeout   time.Duration // bound on each phase (default 60s)
	Progress  io.Writer     // nil: quiet
}

// DrillResult is what a drill measured. Times are from the moment the
// primary backend was stopped (detection, flip) or started again (fail-back).
type DrillResult struct {
	DetectionSeconds float64            `json:"detectionSeconds"`
	FlipSeconds      map[string]float64 `json:"flipSeconds"`
	FailbackSeconds  map[string]float64 `json:"failbackSeconds"`
	Queries          int                `json:"queries"`
	Servfail         int                `json:"servfail"`
	Timeouts         int                `json:"timeouts"`
	WrongAnswers     int                `json:"wrongAnswers"`
}

const (
	drillPrimary   = "192.0.2.1"
	drillSecondary = "192.0.2.2"
)

// drillBackend is a local HTTP server that can stop and start again on the
// same port.
type drillBackend struct {
	addr string
	srv  *http.Server
}

func startDrillBackend(addr string) (*drillBackend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &drillBackend{addr: ln.Addr().String(), srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})}}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *drillBackend) port() int {
	_, p, _ := net.SplitHostPort(b.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Drill runs a failover drill against a running healthdns: it starts two
// local HTTP backends, creates a health check for each, a temporary zone and
// a failover pair, queries every DNS node continuously, stops the primary's
// backend, then starts it again, and measures detection, flip and fail-back
// times and every SERVFAIL, timeout and wrong answer. It removes what it
// created, also on error.
func Drill(ctx context.Context, o DrillOptions) (*DrillResult, error) {
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Rate <= 0 {
		o.Rate = 200
	}
	logf := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "drill: "+format+"\n", args...)
		}
	}
	primary, err := startDrillBackend("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer func() { primary.srv.Close() }()
	secondary, err := startDrillBackend("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer secondary.srv.Close()

	cleanup := context.WithoutCancel(ctx)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	var checks []string
	defer func() {
		for _, id := range checks {
			o.API.DeleteHealthCheck(cleanup, id)
		}
	}()
	for _, b := range []*drillBackend{primary, secondary} {
		hc, err := o.API.CreateHealthCheck(ctx, "dnsload-drill-"+suffix+"-"+b.addr, zones.HealthCheckConfig{Type: "HTTP",
			IPAddress: "127.0.0.1", Port: b.port(), RequestInterval: o.Interval, FailureThreshold: o.Threshold})
		if err != nil {
			return nil, fmt.Errorf("create health check: %w", err)
		}
		checks = append(checks, hc.ID)
	}
	zone := "drill-" + suffix + ".test."
	z, _, err := o.API.CreateZone(ctx, zones.CreateZoneRequest{Name: zone, Comment: "dnsload drill"})
	if err != nil {
		return nil, fmt.Errorf("create zone: %w", err)
	}
	ttl := int64(1)
	sets := []zones.RecordSet{
		{Name: "www." + zone, Type: "A", TTL: &ttl, Values: []string{drillPrimary}, SetIdentifier: "primary", Failover: "PRIMARY", HealthCheckID: checks[0]},
		{Name: "www." + zone, Type: "A", TTL: &ttl, Values: []string{drillSecondary}, SetIdentifier: "secondary", Failover: "SECONDARY", HealthCheckID: checks[1]},
	}
	var batch zones.ChangeBatch
	for _, s := range sets {
		batch.Changes = append(batch.Changes, zones.Change{Action: zones.ActionCreate, RecordSet: s})
	}
	defer func() {
		var del zones.ChangeBatch
		for _, s := range sets {
			del.Changes = append(del.Changes, zones.Change{Action: zones.ActionDelete, RecordSet: s})
		}
		o.API.ChangeRecordSets(cleanup, z.ID, del)
		o.API.DeleteZone(cleanup, z.ID)
	}()
	ci, err := o.API.ChangeRecordSets(ctx, z.ID, batch)
	if err != nil {
		return nil, fmt.Errorf("create the failover pair: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	_, err = o.API.WaitChange(wctx, ci.ID, 20*time.Millisecond)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("waiting for INSYNC: %w", err)
	}
	qname := "www." + zone

	// Query every node continuously; remember per node the last answer.
	res := &DrillResult{FlipSeconds: map[string]float64{}, FailbackSeconds: map[string]float64{}}
	var mu sync.Mutex
	last := map[string]string{}
	qctx, stopQueries := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, addr := range o.DNS {
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			c := &dns.Client{Timeout: time.Second}
			tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
			defer tick.Stop()
			m := new(dns.Msg)
			m.SetQuestion(qname, dns.TypeA)
			for {
				select {
				case <-qctx.Done():
					return
				case <-tick.C:
				}
				r, _, err := c.Exchange(m, addr)
				mu.Lock()
				res.Queries++
				switch {
				case err != nil:
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						res.Timeouts++
					} else {
						res.Timeouts++
					}
				case r.Rcode == dns.RcodeServerFailure:
					res.Servfail++
				default:
					got := ""
					if len(r.Answer) == 1 {
						if a, ok := r.Answer[0].(*dns.A); ok {
							got = a.A.String()
						}
					}
					if got != drillPrimary && got != drillSecondary {
						res.WrongAnswers++
					}
					last[addr] = got
				}
				mu.Unlock()
			}
		}(addr)
	}
	defer func() { stopQueries(); wg.Wait() }()
	all := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range o.DNS {
			if last[a] != want {
				return false
			}
		}
		return true
	}
	waitEach := func(want string, since time.Time, into map[string]float64) error {
		deadline := time.Now().Add(o.Timeout)
		for {
			mu.Lock()
			for _, a := range o.DNS {
				if _, done := into[a]; !done && last[a] == want {
					into[a] = time.Since(since).Seconds()
				}
			}
			n := len(into)
			mu.Unlock()
			if n == len(o.DNS) {
				return nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("not every node answered %s within %s", want, o.Timeout)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Steady state: every node answers the primary and the check was observed.
	deadline := time.Now().Add(o.Timeout)
	for !all(drillPrimary) {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("the nodes never answered the primary")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		st, err := o.API.HealthCheckStatus(ctx, checks[0])
		if err == nil && st.Status == "HEALTHY" && len(st.Observations) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("the primary's check was never observed HEALTHY")
		}
		time.Sleep(50 * time.Millisecond)
	}
	logf("steady: %d nodes answer the primary; stopping the primary's backend", len(o.DNS))
	primary.srv.Close()
	down := time.Now()
	flipDone := make(chan error, 1)
	go func() { flipDone <- waitEach(drillSecondary, down, res.FlipSeconds) }()
	for {
		st, err := o.API.HealthCheckStatus(ctx, checks[0])
		if err == nil && st.Status == "UNHEALTHY" {
			res.DetectionSeconds = time.Since(down).Seconds()
			break
		}
		if time.Since(down) > o.Timeout {
			return res, fmt.Errorf("the primary's check never turned UNHEALTHY")
		}
		time.Sleep(20 * time.Millisecond)
	}
	logf("detected after %.2fs", res.DetectionSeconds)
	if err := <-flipDone; err != nil {
		return res, err
	}
	logf("flipped on every node; starting the primary's backend again")
	if primary, err = startDrillBackend(primary.addr); err != nil {
		return res, fmt.Errorf("restart the primary backend: %w", err)
	}
	if err := waitEach(drillPrimary, time.Now(), res.FailbackSeconds); err != nil {
		return res, err
	}
	logf("failed back on every node")
	return res, nil
}

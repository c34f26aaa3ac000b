package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/loadtest"
)

// propagationReport is propagation's --json output.
type propagationReport struct {
	Changes    int     `json:"changes"`
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e6) / 1e6
}

func (c *cli) propagation(args []string) error {
	fs := newFlags("propagation")
	var (
		o               loadtest.PropagationOptions
		apiURL, dnsList string
		token           string
		jsonOut, quiet  bool
	)
	fs.StringVar(&apiURL, "api", "", "healthdns API base URL, e.g. http://127.0.0.1:8053 (required)")
	fs.StringVar(&dnsList, "dns", "", "comma list of the DNS nodes to watch, host:port (required)")
	fs.IntVar(&o.Changes, "changes", loadtest.DefaultChanges, "number of changes to time")
	fs.StringVar(&token, "token", os.Getenv("HEALTHDNS_TOKEN"), "API bearer token (env HEALTHDNS_TOKEN)")
	durationFlag(fs, &o.ChangeTimeout, "timeout", loadtest.DefaultChangeTimeout, "how long one change may take to show on every node")
	durationFlag(fs, &o.PollInterval, "interval", loadtest.DefaultPollInterval, "how often each node is asked")
	fs.StringVar(&o.Zone, "zone", "", "name of the temporary zone (default propagation-RANDOM.test); it must not exist")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if apiURL == "" {
		return usagef("--api is required")
	}
	if u, err := url.Parse(apiURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--api %q: want a URL such as http://127.0.0.1:8053", apiURL)
	}
	o.DNS = splitList(dnsList)
	if len(o.DNS) == 0 {
		return usagef("--dns is required")
	}
	for _, a := range o.DNS {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return usagef("--dns %q: want host:port", a)
		}
	}
	if o.Changes < 1 {
		return usagef("--changes %d: want 1 or more", o.Changes)
	}
	o.API = client.New(apiURL, token, nil)
	if !quiet && !jsonOut {
		o.Progress = c.stderr
	}

	res, err := loadtest.Propagation(c.ctx, o)
	if err != nil {
		if c.ctx.Err() == nil || res == nil || len(res.ToAll) == 0 {
			return err
		}
		// Interrupted: report what was measured, as qps does.
		fmt.Fprintf(c.stderr, "dnsload propagation: %v\n", err)
	}
	if jsonOut {
		s := loadtest.Summarize(res.ToAll)
		return writeJSON(c.stdout, propagationReport{
			Changes: len(res.ToAll), P50Seconds: seconds(s.P50), P99Seconds: seconds(s.P99), MaxSeconds: seconds(s.Max),
		})
	}
	return printPropagation(c.stdout, o, res)
}

func printPropagation(w io.Writer, o loadtest.PropagationOptions, r *loadtest.PropagationResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Zone\t%s (temporary, deleted)\n", r.Zone)
	fmt.Fprintf(tw, "Changes\t%d, each timed from the API's answer, nodes asked every %v\n", len(r.ToAll), o.PollInterval)
	fmt.Fprintf(tw, "\tp50\tp99\tmax\n")
	row := func(label string, ds []time.Duration) {
		s := loadtest.Summarize(ds)
		fmt.Fprintf(tw, "%s\t%v\t%v\t%v\n", label, round(s.P50), round(s.P99), round(s.Max))
	}
	row("Every node", r.ToAll)
	for _, addr := range o.DNS {
		row("  "+addr, r.PerNode[addr])
	}
	return tw.Flush()
}

// round keeps three significant figures or so: 1.27ms, 165µs, 2.5s.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

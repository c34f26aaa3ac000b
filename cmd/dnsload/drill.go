package main

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/loadtest"
)

func (c *cli) drill(args []string) error {
	fs := newFlags("drill")
	var (
		o                            loadtest.DrillOptions
		apiURL, dnsList, backendList string
		token                        string
		jsonOut, quiet               bool
	)
	fs.StringVar(&apiURL, "api", "", "healthdns API base URL, e.g. http://127.0.0.1:8053 (required)")
	fs.StringVar(&dnsList, "dns", "", "comma list of the DNS nodes to query, host:port (required)")
	fs.IntVar(&o.Interval, "interval", 1, "health check request interval, seconds (1-30)")
	fs.IntVar(&o.Threshold, "threshold", 2, "health check failure threshold (1-10)")
	fs.Float64Var(&o.Rate, "rate", 200, "queries per second to each node (1-100000)")
	fs.StringVar(&token, "token", os.Getenv("HEALTHDNS_TOKEN"), "API bearer token (env HEALTHDNS_TOKEN)")
	durationFlag(fs, &o.Timeout, "timeout", 0, "bound on each phase (default 60s)")
	fs.StringVar(&o.Trigger, "trigger", loadtest.TriggerBackend, "what takes the primary down: backend (stop the primary's local backend, later start it again) "+
		"or routing-control (the primary's record routes on a CALCULATED check of its backend's check AND a ROUTING_CONTROL check; "+
		"turn the control OFF, later ON; detection is then control OFF -> the CALCULATED check UNHEALTHY)")
	fs.StringVar(&o.Record, "record", loadtest.RecordFailover, "how the backends are published: failover (a PRIMARY/SECONDARY pair: a node has flipped "+
		"at its first answer of the secondary) or weighted (two sets of weight 1: a node has flipped at the first of "+strconv.Itoa(loadtest.FlipStreak)+
		" answers in a row without the primary; an answer of the primary after that, until the revival, counts as wrong; "+
		"fail-back is the first answer of the primary after the revival)")
	fs.StringVar(&backendList, "backends", "", "the primary's and the secondary's URL, comma-separated, e.g. http://127.0.0.1:8081/health,http://127.0.0.1:8082/health: "+
		"health checked in place of two local backends the drill starts (it cannot stop them, so this needs --trigger routing-control)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if u, err := url.Parse(apiURL); apiURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--api %q: want a URL such as http://127.0.0.1:8053", apiURL)
	}
	o.DNS = splitList(dnsList)
	if len(o.DNS) == 0 {
		return usagef("--dns is required")
	}
	if o.Interval < 1 || o.Interval > 30 || o.Threshold < 1 || o.Threshold > 10 {
		return usagef("--interval must be 1-30 and --threshold 1-10")
	}
	if !(o.Rate >= 1 && o.Rate <= 100000) { // also NaN
		return usagef("--rate %v: want 1 to 100000 queries per second", o.Rate)
	}
	o.Backends = splitList(backendList)
	o.API = client.New(apiURL, token, nil)
	if err := o.Normalize(); err != nil { // trigger, record, backends
		return usagef("%v", err)
	}
	if !quiet && !jsonOut {
		o.Progress = c.stderr
	}
	res, err := loadtest.Drill(c.ctx, o)
	if err != nil {
		if res != nil && jsonOut {
			writeJSON(c.stdout, res)
		}
		return err
	}
	if jsonOut {
		return writeJSON(c.stdout, res)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	cause := "backend down"
	if res.Trigger == loadtest.TriggerRoutingControl {
		cause = "control OFF"
	}
	fmt.Fprintf(tw, "detection (%s -> check UNHEALTHY)\t%.2fs\n", cause, res.DetectionSeconds)
	nodes := append([]string(nil), o.DNS...)
	sort.Strings(nodes)
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\tflip %.2fs\tfail-back %.2fs\n", n, res.FlipSeconds[n], res.FailbackSeconds[n])
	}
	fmt.Fprintf(tw, "queries\t%d\tservfail %d\ttimeouts %d\twrong answers %d\n", res.Queries, res.Servfail, res.Timeouts, res.WrongAnswers)
	return tw.Flush()
}

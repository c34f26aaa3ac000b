package main

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/loadtest"
)

func (c *cli) drill(args []string) error {
	fs := newFlags("drill")
	var (
		o               loadtest.DrillOptions
		apiURL, dnsList string
		token           string
		jsonOut, quiet  bool
	)
	fs.StringVar(&apiURL, "api", "", "healthdns API base URL, e.g. http://127.0.0.1:8053 (required)")
	fs.StringVar(&dnsList, "dns", "", "comma list of the DNS nodes to query, host:port (required)")
	fs.IntVar(&o.Interval, "interval", 1, "health check request interval, seconds (1-30)")
	fs.IntVar(&o.Threshold, "threshold", 2, "health check failure threshold (1-10)")
	fs.Float64Var(&o.Rate, "rate", 200, "queries per second to each node")
	fs.StringVar(&token, "token", os.Getenv("HEALTHDNS_TOKEN"), "API bearer token (env HEALTHDNS_TOKEN)")
	durationFlag(fs, &o.Timeout, "timeout", 0, "bound on each phase (default 60s)")
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
	o.API = client.New(apiURL, token, nil)
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
	fmt.Fprintf(tw, "detection (backend down -> check UNHEALTHY)\t%.2fs\n", res.DetectionSeconds)
	nodes := append([]string(nil), o.DNS...)
	sort.Strings(nodes)
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\tflip %.2fs\tfail-back %.2fs\n", n, res.FlipSeconds[n], res.FailbackSeconds[n])
	}
	fmt.Fprintf(tw, "queries\t%d\tservfail %d\ttimeouts %d\twrong answers %d\n", res.Queries, res.Servfail, res.Timeouts, res.WrongAnswers)
	return tw.Flush()
}

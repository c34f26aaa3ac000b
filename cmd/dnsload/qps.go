package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/healthdns/healthdns/loadtest"
)

// defaultOutstanding is dnsperf's default -q, so that the two measure the
// same thing unless told otherwise.
const defaultOutstanding = 100

// qpsReport is qps's --json output.
type qpsReport struct {
	Sent      uint64            `json:"sent"`
	Received  uint64            `json:"received"`
	Lost      uint64            `json:"lost"`
	QPS       float64           `json:"qps"`
	LatencyMs latencyMs         `json:"latencyMs"`
	Rcodes    map[string]uint64 `json:"rcodes"`
}

type latencyMs struct {
	Avg  float64 `json:"avg"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

func newQPSReport(r *loadtest.Result) qpsReport {
	h := r.Latency
	return qpsReport{
		Sent: r.Sent, Received: r.Received, Lost: r.Lost,
		QPS: math.Round(r.QPS*10) / 10,
		LatencyMs: latencyMs{
			Avg: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
			P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)),
		},
		Rcodes: r.Rcodes,
	}
}

func (c *cli) qps(args []string) error {
	fs := newFlags("qps")
	var (
		o         loadtest.Options
		queryFile string
		jsonOut   bool
		quiet     bool
	)
	fs.StringVar(&o.Server, "server", "", "DNS server, host:port (required)")
	fs.StringVar(&queryFile, "queries", "", "query file in dnsperf's format, \"name TYPE\" a line; - for stdin (required)")
	fs.Float64Var(&o.Rate, "rate", 0, "queries per second over all sockets; 0 sends as fast as it can")
	durationFlag(fs, &o.Duration, "duration", loadtest.DefaultDuration, "how long to send")
	fs.BoolVar(&o.TCP, "tcp", false, "send over pipelined TCP connections instead of UDP")
	fs.IntVar(&o.Sockets, "sockets", loadtest.DefaultSockets, "UDP sockets, or TCP connections")
	fs.IntVar(&o.Threads, "threads", 1, "loops the UDP sockets are spread over, each can keep a core busy")
	durationFlag(fs, &o.Timeout, "timeout", loadtest.DefaultTimeout, "a query unanswered this long counts as lost")
	fs.Int64Var(&o.MaxQueries, "max-queries", 0, "stop after sending this many queries (0: no limit)")
	fs.IntVar(&o.MaxOutstanding, "outstanding", defaultOutstanding,
		"most queries in flight over all sockets, as dnsperf's -q; 0 keeps the rate whatever the server does (65536 a socket)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	switch {
	case o.Server == "":
		return usagef("--server is required")
	case queryFile == "":
		return usagef("--queries is required")
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return usagef("--rate %v: want a number of queries per second, 0 for as fast as possible", o.Rate)
	case o.Sockets < 1 || o.Sockets > 1024:
		return usagef("--sockets %d: want 1 to 1024", o.Sockets)
	case o.Threads < 1 || o.Threads > o.Sockets:
		return usagef("--threads %d: want 1 to --sockets (%d)", o.Threads, o.Sockets)
	case o.MaxQueries < 0:
		return usagef("--max-queries %d: want 0 or more", o.MaxQueries)
	case o.MaxOutstanding < 0:
		return usagef("--outstanding %d: want 0 or more", o.MaxOutstanding)
	}
	if _, port, err := net.SplitHostPort(o.Server); err != nil || port == "" {
		return usagef("--server %q: want host:port", o.Server)
	}

	var err error
	if queryFile == "-" {
		o.Queries, err = loadtest.ParseQueries(os.Stdin)
		if err != nil {
			err = fmt.Errorf("stdin: %w", err)
		}
	} else {
		o.Queries, err = loadtest.ReadQueryFile(queryFile)
	}
	if err != nil {
		return err
	}
	if !quiet && !jsonOut {
		o.Progress = c.stderr
	}
	res, err := loadtest.Run(c.ctx, o)
	if err != nil {
		return err
	}
	if res.Sent == 0 && res.SendErrors > 0 {
		return fmt.Errorf("no query could be sent to %s: %v", o.Server, res.SendError)
	}
	if jsonOut {
		return writeJSON(c.stdout, newQPSReport(res))
	}
	return printQPS(c.stdout, o, res, c.ctx.Err() != nil)
}

func printQPS(w io.Writer, o loadtest.Options, r *loadtest.Result, interrupted bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	transport := "UDP, " + plural(o.Sockets, "socket")
	if o.TCP {
		transport = "TCP, " + plural(o.Sockets, "connection") + ", " + plural(int(r.Reconnects), "reconnect")
	}
	fmt.Fprintf(tw, "Server\t%s (%s)\n", o.Server, transport)
	rate := "as fast as possible"
	if o.Rate > 0 {
		rate = fmt.Sprintf("%g queries/s", o.Rate)
	}
	inFlight := "open loop"
	if o.MaxOutstanding > 0 {
		inFlight = fmt.Sprintf("at most %d in flight", o.MaxOutstanding)
	}
	fmt.Fprintf(tw, "Rate\t%s, %s, %v of sending, %d queries in the file\n", rate, inFlight, r.Elapsed.Round(time.Millisecond), len(o.Queries))
	if interrupted {
		fmt.Fprintf(tw, "Note\tinterrupted: the figures cover the run so far\n")
	}
	fmt.Fprintf(tw, "Sent\t%d\n", r.Sent)
	if r.Target > 0 && float64(r.Sent) < 0.99*float64(r.Target) && !interrupted {
		fmt.Fprintf(tw, "Behind\tthe schedule called for %d: the server or the generator could not keep up\n", r.Target)
	}
	if r.Delayed > 0 {
		fmt.Fprintf(tw, "Delayed\t%d went out over 1 ms late (%.2f%%; the in-flight cap or a busy generator); their latency leaves out the wait\n",
			r.Delayed, 100*float64(r.Delayed)/float64(max(r.Sent, 1)))
	}
	fmt.Fprintf(tw, "Received\t%d\n", r.Received)
	fmt.Fprintf(tw, "Lost\t%d (%.3f%%, unanswered within %v)\n", r.Lost, r.LossPercent(), o.Timeout)
	if r.Late > 0 {
		fmt.Fprintf(tw, "Late\t%d replies after their query's timeout, or unmatched\n", r.Late)
	}
	if r.SendErrors > 0 {
		fmt.Fprintf(tw, "Send errors\t%d (last: %v)\n", r.SendErrors, r.SendError)
	}
	fmt.Fprintf(tw, "QPS\t%.1f\n", r.QPS)
	h := r.Latency
	fmt.Fprintf(tw, "Latency (ms)\tavg %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  min %.3f  max %.3f\n",
		ms(h.Mean()), ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999)),
		ms(h.Min()), ms(h.Max()))
	var rc []string
	for _, name := range r.RcodeNames() {
		rc = append(rc, fmt.Sprintf("%s %d", name, r.Rcodes[name]))
	}
	if len(rc) == 0 {
		rc = append(rc, "none")
	}
	fmt.Fprintf(tw, "Rcodes\t%s\n", strings.Join(rc, ", "))
	return tw.Flush()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second interrupt ends the process
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad usage: exit code 2, one line on stderr.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp means help was asked for and shown: exit code 0.
var errHelp = errors.New("help shown")

// cli is one invocation's output and context.
type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
}

type command struct {
	name, synopsis, summary string
	run                     func(c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"qps", "--server ADDR --queries FILE [--rate N] [--duration 10s] [--tcp] [--json] [--sockets N] [--timeout 1s]",
			"send a dnsperf query file at a rate (0: flat out) and report qps, loss and latency", (*cli).qps},
		{"propagation", "--api URL --dns ADDR[,ADDR...] [--changes 100] [--json] [--token T]",
			"time changes from the API's answer until every DNS node shows them", (*cli).propagation},
		{"drill", "--api URL --dns ADDR[,ADDR...] [--interval 1] [--threshold 2] [--rate 200] [--json]\n" +
			"            [--trigger backend|routing-control] [--record failover|weighted] [--backends URL,URL]",
			"failover drill: take a primary down (stop its backend or turn a routing control OFF), time detection, flip and fail-back on every node", (*cli).drill},
	}
}

// run executes one dnsload invocation and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "dnsload: missing command: qps, propagation or drill (see dnsload help)")
		return 2
	}
	name := args[0]
	if isHelp(name) {
		c.usage(stdout)
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name != name {
			continue
		}
		err := cmd.run(c, args[1:])
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, errHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "dnsload %s: %s\n", name, ue.msg)
			return 2
		default:
			fmt.Fprintf(stderr, "dnsload %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "dnsload: unknown command %q: want qps, propagation or drill (see dnsload help)\n", name)
	return 2
}

func isHelp(s string) bool {
	return s == "help" || s == "-h" || s == "-help" || s == "--help"
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dnsload COMMAND [flags]")
	fmt.Fprintln(w)
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  dnsload %s %s\n      %s\n", cmd.name, cmd.synopsis, cmd.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`dnsload COMMAND --help` lists a command's flags. Exit codes: 0 ok, 1 run error, 2 bad usage.")
}

// newFlags returns a flag set that reports errors through parse rather than
// printing them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args, allowing flags after positional arguments, and turns
// flag errors into one-line usage errors. -h prints the flags to stdout.
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(c.stdout, "usage: dnsload %s [flags]\n", fs.Name())
			fs.SetOutput(c.stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// secondsOrDuration is a flag taking "10s", "250ms" or a bare number of
// seconds.
type secondsOrDuration struct{ d *time.Duration }

func (s secondsOrDuration) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s secondsOrDuration) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		*s.d = time.Duration(f * float64(time.Second))
	} else if d, err := time.ParseDuration(v); err == nil {
		*s.d = d
	} else {
		return fmt.Errorf("want a duration such as 10s or 250ms")
	}
	if *s.d <= 0 {
		return fmt.Errorf("must be more than 0")
	}
	return nil
}

func durationFlag(fs *flag.FlagSet, d *time.Duration, name string, def time.Duration, usage string) {
	*d = def
	fs.Var(secondsOrDuration{d}, name, usage)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ms rounds d to microseconds, in milliseconds.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

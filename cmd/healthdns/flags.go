package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/healthdns/healthdns/api/client"
)

const (
	defaultAPI     = "http://127.0.0.1:8053"
	defaultTimeout = 60 * time.Second
)

// common holds the flags every client command takes.
type common struct {
	api     string
	token   string
	json    bool
	timeout time.Duration
}

// flagSet returns a FlagSet for the command name with the common flags
// defined; defaults come from HEALTHDNS_API and HEALTHDNS_TOKEN.
func (c *cli) flagSet(name string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("healthdns "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one line by exit
	o := &common{}
	api := c.getenv("HEALTHDNS_API")
	if api == "" {
		api = defaultAPI
	}
	fs.StringVar(&o.api, "api", api, "REST API base `URL` (env HEALTHDNS_API)")
	// The token's default is not shown in help output: it is a secret.
	fs.StringVar(&o.token, "token", "", "bearer `token` (default: env HEALTHDNS_TOKEN)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "bound on the whole command, including --wait (0 = none)")
	return fs, o
}

// parse parses args, flags and positional arguments interspersed, and checks
// that there are between min and max positional arguments (max < 0: any).
// -h prints the command's usage to stdout and returns errHelpShown.
func (c *cli) parse(fs *flag.FlagSet, args []string, synopsis string, min, max int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(c.stdout, "Usage: %s\n\nFlags:\n", strings.TrimSpace(fs.Name()+" "+synopsis))
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return nil, errHelpShown
	}
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	usage := strings.TrimSpace(fs.Name() + " " + synopsis)
	switch {
	case len(pos) < min:
		return nil, usagef("missing arguments (usage: %s)", usage)
	case max >= 0 && len(pos) > max:
		return nil, usagef("unexpected argument %q (usage: %s)", pos[max], usage)
	}
	return pos, nil
}

// parseInterspersed parses flags that may come before, between and after
// positional arguments, which it returns in order. Everything after "--" is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// connect checks the common flags and returns a client and a context bounded
// by --timeout; the caller calls cancel.
func (c *cli) connect(o *common) (*client.Client, context.Context, context.CancelFunc, error) {
	u, err := url.Parse(o.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, nil, usagef("--api: want an http:// or https:// URL, got %q", o.api)
	}
	if o.timeout < 0 {
		return nil, nil, nil, usagef("--timeout: must not be negative")
	}
	c.timeout = o.timeout
	token := o.token
	if token == "" {
		token = c.getenv("HEALTHDNS_TOKEN")
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if o.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
	}
	return client.New(o.api, token, nil), ctx, cancel, nil
}

// optInt64 is an integer flag that remembers whether it was given.
type optInt64 struct {
	v   int64
	set bool
}

func (o *optInt64) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatInt(o.v, 10)
}

func (o *optInt64) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = v, true
	return nil
}

func (o *optInt64) ptr() *int64 {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

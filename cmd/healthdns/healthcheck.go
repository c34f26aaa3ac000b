package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// healthcheckCommands are the `healthdns healthcheck` subcommands.
func healthcheckCommands() []*command {
	return []*command{
		{"healthcheck", "create", "--type T [--ip A] [--fqdn F] [--port N] [--path P] [--search S] [--interval S] [--failure-threshold N] [--inverted] [--disabled] [--sni] [--child ID]... [--health-threshold N] [--config FILE|-] [--caller-reference R]",
			"create a health check (HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, ROUTING_CONTROL)", (*cli).healthcheckCreate},
		{"healthcheck", "list", "", "list health checks (all pages)", (*cli).healthcheckList},
		{"healthcheck", "get", "ID", "show a health check", (*cli).healthcheckGet},
		{"healthcheck", "delete", "ID", "delete a health check", (*cli).healthcheckDelete},
		{"healthcheck", "status", "ID", "show a health check's status and each checker's observation", (*cli).healthcheckStatus},
		{"healthcheck", "routingcontrol", "ID ON|OFF", "turn a ROUTING_CONTROL health check ON (healthy) or OFF", (*cli).healthcheckRoutingControl},
	}
}

// healthcheckMain runs `healthdns healthcheck ...` and returns the exit code.
func (c *cli) healthcheckMain(args []string) int {
	cmds := healthcheckCommands()
	var names []string
	for _, cmd := range cmds {
		names = append(names, cmd.name)
	}
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "healthdns healthcheck: missing subcommand (%s)\n", strings.Join(names, ", "))
		return 2
	}
	if isHelpArg(args[0]) {
		if len(args) > 1 {
			for _, cmd := range cmds {
				if cmd.name == args[1] {
					return c.exit(cmd.fullName(), cmd.run(c, cmd.fullName(), []string{"-h"}))
				}
			}
		}
		c.healthcheckUsage(c.stdout)
		return 0
	}
	for _, cmd := range cmds {
		if cmd.name == args[0] {
			return c.exit(cmd.fullName(), cmd.run(c, cmd.fullName(), args[1:]))
		}
	}
	fmt.Fprintf(c.stderr, "healthdns healthcheck: unknown subcommand %q (%s)\n", args[0], strings.Join(names, ", "))
	return 2
}

func (c *cli) healthcheckUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n")
	for _, cmd := range healthcheckCommands() {
		fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimSpace("healthdns "+cmd.fullName()+" "+cmd.synopsis), cmd.summary)
	}
	fmt.Fprint(w, "\n"+commonFlagsHelp)
	fmt.Fprint(w, `
Create flags (Route 53's defaults: port 80 or 443, --path /, --interval 30
of 1-30 seconds, --failure-threshold 3 of 1-10), or --config FILE|- with a
HealthCheckConfig JSON document:
  --type T  --ip A  --fqdn F  --port N  --path P  --search S (*_STR_MATCH)
  --interval S  --failure-threshold N  --inverted  --disabled  --sni (HTTPS)
  --child ID (CALCULATED, repeat it)  --health-threshold N (CALCULATED)
  --caller-reference R (default: a new random one)
`)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func (c *cli) healthcheckCreate(name string, args []string) error {
	fs, o := c.flagSet(name)
	var cfg zones.HealthCheckConfig
	fs.StringVar(&cfg.Type, "type", "", "health check `type`: HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, ROUTING_CONTROL")
	fs.StringVar(&cfg.IPAddress, "ip", "", "endpoint IP `address`")
	fs.StringVar(&cfg.FullyQualifiedDomainName, "fqdn", "", "endpoint `name`: resolved when --ip is not given; the Host header (and SNI with --sni)")
	fs.IntVar(&cfg.Port, "port", 0, "endpoint `port` (default 80, 443 for HTTPS)")
	fs.StringVar(&cfg.ResourcePath, "path", "", "HTTP resource `path` (default /)")
	fs.StringVar(&cfg.SearchString, "search", "", "`string` the first 5,120 bytes of the body must hold (*_STR_MATCH)")
	fs.IntVar(&cfg.RequestInterval, "interval", 0, "`seconds` between probes, 1-30 (default 30)")
	fs.IntVar(&cfg.FailureThreshold, "failure-threshold", 0, "consecutive results that flip the status, 1-10 (default 3)")
	fs.BoolVar(&cfg.Inverted, "inverted", false, "invert the status")
	fs.BoolVar(&cfg.Disabled, "disabled", false, "do not probe; the check counts as healthy")
	fs.BoolVar(&cfg.EnableSNI, "sni", false, "send --fqdn as SNI in the TLS handshake")
	var children stringList
	fs.Var(&children, "child", "child health check `id` of a CALCULATED check (repeat it)")
	fs.IntVar(&cfg.HealthThreshold, "health-threshold", 0, "healthy children a CALCULATED check needs")
	configFile := fs.String("config", "", "read the HealthCheckConfig JSON from `FILE` (- for standard input) instead of the flags")
	callerRef := fs.String("caller-reference", "", "unique string that makes a retried create safe (default: a new random one)")
	if _, err := c.parse(fs, args, "", 0, 0); err != nil {
		return err
	}
	cfg.ChildHealthChecks = children
	if *configFile != "" {
		given := false
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "config", "caller-reference", "api", "token", "json", "timeout":
			default:
				given = true
			}
		})
		if given {
			return usagef("--config: give the config as a file or as flags, not both")
		}
		in, closeIn, err := c.openInput(*configFile)
		if err != nil {
			return err
		}
		defer closeIn()
		dec := json.NewDecoder(io.LimitReader(in, 1<<20))
		dec.DisallowUnknownFields()
		cfg = zones.HealthCheckConfig{}
		if err := dec.Decode(&cfg); err != nil {
			return usagef("--config %s: %v", *configFile, err)
		}
	}
	if cfg.Type == "" {
		return usagef("--type is required (or --config)")
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	ref := *callerRef
	if ref == "" {
		ref = newCallerReference()
	}
	hc, err := cl.CreateHealthCheck(ctx, ref, cfg)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, hc)
	}
	return printHealthCheck(c.stdout, hc)
}

func (c *cli) healthcheckList(name string, args []string) error {
	fs, o := c.flagSet(name)
	if _, err := c.parse(fs, args, "", 0, 0); err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	hcs, err := cl.AllHealthChecks(ctx)
	if err != nil {
		return err
	}
	if hcs == nil {
		hcs = []client.HealthCheck{}
	}
	if o.json {
		return writeJSON(c.stdout, healthCheckListOutput{HealthChecks: hcs})
	}
	tw := newTable(c.stdout)
	row(tw, "ID", "TYPE", "TARGET", "INTERVAL", "THRESHOLD", "FLAGS")
	for i := range hcs {
		hc := &hcs[i]
		interval, threshold := "", ""
		if hc.Config.RequestInterval > 0 {
			interval = strconv.Itoa(hc.Config.RequestInterval) + "s"
		}
		if hc.Config.FailureThreshold > 0 {
			threshold = strconv.Itoa(hc.Config.FailureThreshold)
		}
		row(tw, hc.ID, hc.Config.Type, target(hc), interval, threshold, flags(hc))
	}
	return tw.Flush()
}

type healthCheckListOutput struct {
	HealthChecks []client.HealthCheck `json:"healthChecks"`
}

func (c *cli) healthcheckGet(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "ID", 1, 1)
	if err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	hc, err := cl.GetHealthCheck(ctx, pos[0])
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, hc)
	}
	return printHealthCheck(c.stdout, hc)
}

func (c *cli) healthcheckDelete(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "ID", 1, 1)
	if err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	if err := cl.DeleteHealthCheck(ctx, pos[0]); err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, map[string]any{"id": pos[0], "deleted": true})
	}
	fmt.Fprintf(c.stdout, "deleted health check %s\n", pos[0])
	return nil
}

func (c *cli) healthcheckStatus(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "ID", 1, 1)
	if err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	st, err := cl.HealthCheckStatus(ctx, pos[0])
	if err != nil {
		return err
	}
	if st.Observations == nil {
		st.Observations = []client.HealthCheckObservation{}
	}
	if o.json {
		return writeJSON(c.stdout, st)
	}
	fmt.Fprintf(c.stdout, "STATUS: %s\n", st.Status)
	if len(st.Observations) == 0 {
		fmt.Fprintln(c.stdout, "no live observations")
		return nil
	}
	tw := newTable(c.stdout)
	row(tw, "CHECKER", "REGION", "HEALTHY", "CHECKED", "REASON")
	for _, ob := range st.Observations {
		row(tw, ob.Checker, ob.Region, strconv.FormatBool(ob.Healthy), ob.CheckedAt.UTC().Format(time.RFC3339), ob.Status)
	}
	return tw.Flush()
}

func (c *cli) healthcheckRoutingControl(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "ID ON|OFF", 2, 2)
	if err != nil {
		return err
	}
	state := strings.ToUpper(pos[1])
	if state != "ON" && state != "OFF" {
		return usagef("state %q: want ON or OFF", pos[1])
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	hc, err := cl.SetRoutingControl(ctx, pos[0], state)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, hc)
	}
	fmt.Fprintf(c.stdout, "routing control %s is %s\n", hc.ID, hc.RoutingControlState)
	return nil
}

// target is what a check looks at, for tables.
func target(hc *client.HealthCheck) string {
	cfg := hc.Config
	switch cfg.Type {
	case "CALCULATED":
		return fmt.Sprintf("%d of %d children", cfg.HealthThreshold, len(cfg.ChildHealthChecks))
	case "ROUTING_CONTROL":
		return "routing control " + hc.RoutingControlState
	}
	host := cfg.IPAddress
	if host == "" {
		host = cfg.FullyQualifiedDomainName
	}
	t := host
	if cfg.Port != 0 {
		t = joinHostPort(host, cfg.Port)
	}
	if cfg.Type != "TCP" {
		t += cfg.ResourcePath
	}
	if cfg.IPAddress != "" && cfg.FullyQualifiedDomainName != "" {
		t += " (" + cfg.FullyQualifiedDomainName + ")"
	}
	return t
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func flags(hc *client.HealthCheck) string {
	var f []string
	if hc.Config.Inverted {
		f = append(f, "inverted")
	}
	if hc.Config.Disabled {
		f = append(f, "disabled")
	}
	if hc.Config.EnableSNI {
		f = append(f, "sni")
	}
	return strings.Join(f, ",")
}

func printHealthCheck(w io.Writer, hc *client.HealthCheck) error {
	tw := newTable(w)
	cfg := hc.Config
	row(tw, "ID:", hc.ID)
	row(tw, "TYPE:", cfg.Type)
	row(tw, "TARGET:", target(hc))
	if cfg.SearchString != "" {
		row(tw, "SEARCH STRING:", strconv.Quote(cfg.SearchString))
	}
	if cfg.RequestInterval > 0 {
		row(tw, "INTERVAL:", strconv.Itoa(cfg.RequestInterval)+"s")
	}
	if cfg.FailureThreshold > 0 {
		row(tw, "FAILURE THRESHOLD:", strconv.Itoa(cfg.FailureThreshold))
	}
	if len(cfg.ChildHealthChecks) > 0 {
		row(tw, "CHILDREN:", strings.Join(cfg.ChildHealthChecks, " "))
	}
	if f := flags(hc); f != "" {
		row(tw, "FLAGS:", f)
	}
	row(tw, "VERSION:", strconv.FormatInt(hc.Version, 10))
	row(tw, "CALLER REFERENCE:", hc.CallerReference)
	if !hc.CreatedAt.IsZero() {
		row(tw, "CREATED:", hc.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

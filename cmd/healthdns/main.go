package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build info is shown.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one healthdns invocation and returns its exit code: 0 ok,
// 1 API or network error, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{
		stdin:  os.Stdin,
		stdout: stdout,
		stderr: stderr,
		getenv: os.Getenv,
		poll:   time.Second,
	}
	return c.run(args)
}

// cli is one invocation's I/O and settings; tests build their own.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	poll           time.Duration // --wait's status poll interval

	timeout time.Duration // the --timeout in force, for error messages
}

// usageError is bad usage: exit code 2, one line on stderr.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelpShown means help was asked for and printed: exit code 0.
var errHelpShown = errors.New("help shown")

// command is one client subcommand.
type command struct {
	group, name string
	synopsis    string // arguments and command-specific flags
	summary     string
	run         func(c *cli, name string, args []string) error
}

func (cmd *command) fullName() string { return cmd.group + " " + cmd.name }

// commands lists the client subcommands in the order help shows them.
func commands() []*command {
	return []*command{
		{"zone", "create", "NAME [--comment C] [--caller-reference R] [--wait]", "create a hosted zone", (*cli).zoneCreate},
		{"zone", "list", "", "list hosted zones", (*cli).zoneList},
		{"zone", "get", "NAME|ID", "show a hosted zone", (*cli).zoneGet},
		{"zone", "delete", "NAME|ID", "delete an empty hosted zone", (*cli).zoneDelete},
		{"zone", "import", "NAME|ID FILE|- [--wait]", "replace a zone's record sets with an RFC 1035 zone file", (*cli).zoneImport},
		{"zone", "export", "NAME|ID", "write the zone as an RFC 1035 zone file to stdout", (*cli).zoneExport},
		{"record", "list", "ZONE [--name N] [--type T]", "list record sets (all pages)", (*cli).recordList},
		{"record", "upsert", "ZONE NAME TYPE TTL VALUE... [routing flags] [--wait]", "create or replace a record set", (*cli).recordUpsert},
		{"record", "create", "ZONE NAME TYPE TTL VALUE... [routing flags] [--wait]", "create a record set that must not exist", (*cli).recordCreate},
		{"record", "delete", "ZONE NAME TYPE [TTL VALUE...] [routing flags] [--wait]", "delete a record set (looked up when TTL and values are left out)", (*cli).recordDelete},
		{"record", "change", "ZONE --file BATCH.json|- [--wait]", "submit a ChangeBatch JSON document", (*cli).recordChange},
		{"change", "get", "ID", "show a change's status", (*cli).changeGet},
		{"change", "wait", "ID", "wait until a change is INSYNC (bounded by --timeout)", (*cli).changeWait},
	}
}

func findCommand(group, name string) *command {
	for _, cmd := range commands() {
		if cmd.group == group && cmd.name == name {
			return cmd
		}
	}
	return nil
}

func isHelpArg(s string) bool {
	return s == "-h" || s == "-help" || s == "--help" || s == "help"
}

func (c *cli) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, "healthdns: missing command (see healthdns help)")
		return 2
	}
	switch arg := args[0]; {
	case arg == "serve":
		return serveMain(args[1:])
	case isHelpArg(arg):
		return c.help(args[1:])
	case arg == "version" || arg == "--version" || arg == "-version":
		fmt.Fprintln(c.stdout, versionLine())
		return 0
	case arg == "zone" || arg == "record" || arg == "change":
		return c.runGroup(arg, args[1:])
	case arg == "healthcheck":
		return c.healthcheckMain(args[1:])
	case arg == "audit":
		return c.auditMain(args[1:])
	default:
		fmt.Fprintf(c.stderr, "healthdns: unknown command %q (see healthdns help)\n", arg)
		return 2
	}
}

func (c *cli) runGroup(group string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "healthdns %s: missing subcommand (%s)\n", group, strings.Join(subcommands(group), ", "))
		return 2
	}
	if isHelpArg(args[0]) {
		c.groupUsage(c.stdout, group)
		return 0
	}
	cmd := findCommand(group, args[0])
	if cmd == nil {
		fmt.Fprintf(c.stderr, "healthdns %s: unknown subcommand %q (%s)\n", group, args[0], strings.Join(subcommands(group), ", "))
		return 2
	}
	err := cmd.run(c, cmd.fullName(), args[1:])
	return c.exit(cmd.fullName(), err)
}

// exit reports err on stderr and maps it to the exit code.
func (c *cli) exit(name string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "healthdns %s: %s\n", name, ue.msg)
		return 2
	case errors.Is(err, context.DeadlineExceeded) && c.timeout > 0:
		fmt.Fprintf(c.stderr, "healthdns %s: timed out after %s (--timeout): %v\n", name, c.timeout, err)
		return 1
	default:
		fmt.Fprintf(c.stderr, "healthdns %s: %v\n", name, err)
		return 1
	}
}

func subcommands(group string) []string {
	var names []string
	for _, cmd := range commands() {
		if cmd.group == group {
			names = append(names, cmd.name)
		}
	}
	return names
}

func versionLine() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("healthdns %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

const commonFlagsHelp = `Flags of every zone, record and change command (they may follow the arguments):
  --api URL        REST API base URL (env HEALTHDNS_API; default ` + defaultAPI + `)
  --token TOKEN    bearer token (env HEALTHDNS_TOKEN)
  --json           print JSON instead of a table
  --timeout D      bound on the whole command, including --wait (default 60s; 0 = none)
`

const recordFlagsHelp = `Record flags:
  NAME is relative to the zone ("www", "@" for the apex) or fully qualified
  with a trailing dot; a NAME already ending in the zone's name is taken as
  fully qualified. Each VALUE is one record's RDATA in presentation format,
  e.g. '10 mail.example.test.' for MX.
  --set-identifier ID   --weight N   --failover PRIMARY|SECONDARY
  --health-check-id ID  --multivalue  --comment C  --wait
`

func (c *cli) help(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "zone", "record", "change":
			if len(args) > 1 {
				if cmd := findCommand(args[0], args[1]); cmd != nil {
					return c.exit(cmd.fullName(), cmd.run(c, cmd.fullName(), []string{"-h"}))
				}
			}
			c.groupUsage(c.stdout, args[0])
			return 0
		case "serve":
			return serveMain([]string{"-h"})
		case "healthcheck":
			return c.healthcheckMain(append([]string{"help"}, args[1:]...))
		case "audit":
			return c.auditMain([]string{"-h"})
		}
	}
	c.usage(c.stdout)
	return 0
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `healthdns: an authoritative DNS server with Route 53-style APIs.

Usage:
  healthdns serve [flags]          run a node: DNS responder, REST API, health checker
                                   (healthdns serve -h lists its flags)
`)
	group := ""
	for _, cmd := range commands() {
		if cmd.group != group {
			group = cmd.group
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimSpace("healthdns "+cmd.fullName()+" "+cmd.synopsis), cmd.summary)
	}
	fmt.Fprint(w, `
  healthdns healthcheck create|list|get|update|delete|status|routingcontrol ...
        manage health checks (healthdns healthcheck help)
  healthdns audit [--since TIME|DURATION]
        the audit log of API writes: who, what, when, result
  healthdns version                print the version
  healthdns help [COMMAND]         show this help, or a command's

ZONE and NAME|ID take a zone's name (with or without the trailing dot) or its id.

`+commonFlagsHelp+`
`+recordFlagsHelp+`
Exit codes: 0 ok; 1 API or network error; 2 bad usage.
`)
}

func (c *cli) groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n")
	for _, cmd := range commands() {
		if cmd.group == group {
			fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimSpace("healthdns "+cmd.fullName()+" "+cmd.synopsis), cmd.summary)
		}
	}
	fmt.Fprint(w, "\n"+commonFlagsHelp)
	if group == "record" {
		fmt.Fprint(w, "\n"+recordFlagsHelp)
	}
}

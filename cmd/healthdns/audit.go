package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// auditMain runs `healthdns audit [--since TIME|DURATION] [--max N]`: the
// audit log of API writes, oldest first.
func (c *cli) auditMain(args []string) int {
	const name = "audit"
	return c.exit(name, c.auditList(name, args))
}

func (c *cli) auditList(name string, args []string) error {
	fs, o := c.flagSet(name)
	since := fs.String("since", "24h", "entries at or after this RFC 3339 time, or this long ago (e.g. 1h)")
	max := fs.Int("max", 1000, "at most this many entries")
	if _, err := c.parse(fs, args, "[--since TIME|DURATION]", 0, 0); err != nil {
		return err
	}
	from := *since
	if d, err := time.ParseDuration(from); err == nil {
		from = time.Now().Add(-d).UTC().Format(time.RFC3339Nano)
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	var all []zones.AuditEntry
	for len(all) < *max {
		page, err := cl.ListAudit(ctx, from, min(1000, *max-len(all)))
		if err != nil {
			return err
		}
		all = append(all, page.Entries...)
		if !page.IsTruncated || page.NextSince == "" {
			break
		}
		from = page.NextSince
	}
	if o.json {
		return writeJSON(c.stdout, map[string]any{"entries": all})
	}
	tw := newTable(c.stdout)
	row(tw, "TIME", "WHO", "METHOD", "PATH", "STATUS", "ERROR", "CHANGE")
	for _, e := range all {
		row(tw, e.Time.Format(time.RFC3339), e.Who, e.Method, e.Path, fmt.Sprint(e.Status), e.ErrorCode, strings.TrimSpace(e.ChangeID))
	}
	return tw.Flush()
}

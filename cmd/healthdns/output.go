package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// JSON output shapes. Lists mirror the API's pages without the paging fields
// (the CLI follows the pages), so fields can be added later.
type (
	zoneListOutput struct {
		Zones []zones.Zone `json:"zones"`
	}
	recordListOutput struct {
		RecordSets []zones.RecordSet `json:"recordSets"`
	}
	changeOutput struct {
		ChangeInfo *zones.ChangeInfo `json:"changeInfo"`
	}
	zoneCreateOutput struct {
		zones.Zone
		ChangeInfo *zones.ChangeInfo `json:"changeInfo,omitempty"`
	}
	zoneDeleteOutput struct {
		ID         string            `json:"id"`
		Name       string            `json:"name"`
		ChangeInfo *zones.ChangeInfo `json:"changeInfo,omitempty"`
	}
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// row writes one table row; cells are cleaned of tabs and line breaks, and
// empty cells other than the last show as "-" so columns stay countable.
func row(tw io.Writer, cells ...string) {
	for i, s := range cells {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, s)
		if s == "" && i < len(cells)-1 {
			s = "-"
		}
		cells[i] = s
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

func printZones(w io.Writer, zs []zones.Zone) error {
	tw := newTable(w)
	row(tw, "ID", "NAME", "RECORDS", "COMMENT")
	for _, z := range zs {
		row(tw, z.ID, z.Name, strconv.Itoa(z.RecordSetCount), z.Comment)
	}
	return tw.Flush()
}

// printZone writes a zone's fields, and the change that created it if ci is
// not nil.
func printZone(w io.Writer, z *zones.Zone, ci *zones.ChangeInfo) error {
	tw := newTable(w)
	row(tw, "ID:", z.ID)
	row(tw, "NAME:", z.Name)
	row(tw, "RECORDS:", strconv.Itoa(z.RecordSetCount))
	row(tw, "NAMESERVERS:", strings.Join(z.NameServers, " "))
	row(tw, "COMMENT:", z.Comment)
	row(tw, "CALLER REFERENCE:", z.CallerReference)
	if !z.CreatedAt.IsZero() {
		row(tw, "CREATED:", z.CreatedAt.UTC().Format(time.RFC3339))
	}
	if ci != nil {
		row(tw, "CHANGE:", ci.ID+" "+ci.Status)
	}
	return tw.Flush()
}

func printChange(w io.Writer, ci *zones.ChangeInfo) error {
	tw := newTable(w)
	row(tw, "ID", "STATUS", "SUBMITTED", "COMMENT")
	submitted := ""
	if !ci.SubmittedAt.IsZero() {
		submitted = ci.SubmittedAt.UTC().Format(time.RFC3339)
	}
	row(tw, ci.ID, ci.Status, submitted, ci.Comment)
	return tw.Flush()
}

// printRecordSets writes NAME TYPE TTL SETID VALUES..., one value per cell.
// An alias record set shows "ALIAS target" as its value.
func printRecordSets(w io.Writer, rss []zones.RecordSet) error {
	tw := newTable(w)
	row(tw, "NAME", "TYPE", "TTL", "SETID", "VALUES")
	for _, rs := range rss {
		ttl := "-"
		if rs.TTL != nil {
			ttl = strconv.FormatInt(*rs.TTL, 10)
		}
		setID := rs.SetIdentifier
		if setID == "" {
			setID = "-"
		}
		cells := []string{rs.Name, rs.Type, ttl, setID}
		cells = append(cells, rs.Values...)
		if rs.AliasTarget != nil {
			cells = append(cells, "ALIAS "+rs.AliasTarget.DNSName)
		}
		row(tw, cells...)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// qualify turns a record NAME argument into a fully qualified, lower-case
// name in zone: "@" is the apex, a trailing dot means already qualified, and
// a name already ending in the zone's name is taken as qualified too (nobody
// means www.example.test.example.test.).
func qualify(name, zone string) string {
	zone = client.CanonicalName(zone)
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "@":
		return zone
	case strings.HasSuffix(n, "."):
		return n
	case n+"." == zone, strings.HasSuffix(n+".", "."+zone):
		return n + "."
	case zone == ".":
		return n + "."
	}
	return n + "." + zone
}

// recordSetsAt lists the record sets named name (and of type typ, if not
// empty). It starts the listing at them and stops at the first other one, so
// it reads only the pages it needs.
func recordSetsAt(ctx context.Context, cl *client.Client, zoneID, name, typ string) ([]zones.RecordSet, error) {
	out := []zones.RecordSet{}
	in := zones.ListRecordSetsInput{Name: name, Type: typ}
	err := cl.EachRecordSet(ctx, zoneID, in, func(rs zones.RecordSet) bool {
		if client.CanonicalName(rs.Name) != name || (typ != "" && !strings.EqualFold(rs.Type, typ)) {
			return false
		}
		out = append(out, rs)
		return true
	})
	return out, err
}

func (c *cli) recordList(name string, args []string) error {
	fs, o := c.flagSet(name)
	nameF := fs.String("name", "", "only record sets of this `name` (relative to the zone or fully qualified)")
	typeF := fs.String("type", "", "only record sets of this `type`")
	pos, err := c.parse(fs, args, "ZONE", 1, 1)
	if err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	z, err := cl.ResolveZoneInfo(ctx, pos[0])
	if err != nil {
		return err
	}
	typ := strings.ToUpper(*typeF)
	var rss []zones.RecordSet
	if *nameF != "" {
		rss, err = recordSetsAt(ctx, cl, z.ID, qualify(*nameF, z.Name), typ)
	} else {
		rss = []zones.RecordSet{}
		err = cl.EachRecordSet(ctx, z.ID, zones.ListRecordSetsInput{}, func(rs zones.RecordSet) bool {
			if typ == "" || strings.EqualFold(rs.Type, typ) {
				rss = append(rss, rs)
			}
			return true
		})
	}
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, recordListOutput{RecordSets: rss})
	}
	return printRecordSets(c.stdout, rss)
}

// writeFlags are the flags of record upsert, create and delete.
type writeFlags struct {
	setID         string
	weight        optInt64
	failover      string
	healthCheckID string
	multivalue    bool
	comment       string
	wait          bool
}

func (c *cli) recordUpsert(name string, args []string) error {
	return c.recordWrite(zones.ActionUpsert, name, args)
}

func (c *cli) recordCreate(name string, args []string) error {
	return c.recordWrite(zones.ActionCreate, name, args)
}

func (c *cli) recordDelete(name string, args []string) error {
	return c.recordWrite(zones.ActionDelete, name, args)
}

// recordWrite submits one change of one record set. A DELETE without TTL and
// values deletes the record set as it is now: Route 53 wants the exact set.
func (c *cli) recordWrite(action, name string, args []string) error {
	fs, o := c.flagSet(name)
	var w writeFlags
	fs.StringVar(&w.setID, "set-identifier", "", "tells apart record sets of one name and type that use routing")
	fs.Var(&w.weight, "weight", "weighted routing: the set's weight `N` (0-255)")
	fs.StringVar(&w.failover, "failover", "", "failover routing: PRIMARY or SECONDARY")
	fs.StringVar(&w.healthCheckID, "health-check-id", "", "health check whose status the set's answers follow")
	fs.BoolVar(&w.multivalue, "multivalue", false, "multivalue answer routing")
	fs.StringVar(&w.comment, "comment", "", "the change's comment")
	fs.BoolVar(&w.wait, "wait", false, "wait until the change is INSYNC")
	synopsis, min := "ZONE NAME TYPE TTL VALUE...", 5
	if action == zones.ActionDelete {
		synopsis, min = "ZONE NAME TYPE [TTL VALUE...]", 3
	}
	pos, err := c.parse(fs, args, synopsis, min, -1)
	if err != nil {
		return err
	}
	if len(pos) == 4 {
		return usagef("give TTL and at least one VALUE, or neither (usage: %s %s)", fs.Name(), synopsis)
	}
	typ := strings.ToUpper(pos[2])
	if typ == "" {
		return usagef("empty TYPE")
	}
	rs := zones.RecordSet{Type: typ}
	if len(pos) >= 5 {
		ttl, err := strconv.ParseInt(pos[3], 10, 64)
		if err != nil || ttl < 0 || ttl > 2147483647 {
			return usagef("TTL %q: want seconds, 0-2147483647", pos[3])
		}
		rs.TTL = &ttl
		rs.Values = pos[4:]
		rs.SetIdentifier = w.setID
		rs.Weight = w.weight.ptr()
		rs.HealthCheckID = w.healthCheckID
		if w.multivalue {
			t := true
			rs.MultiValueAnswer = &t
		}
		if w.failover != "" {
			rs.Failover = strings.ToUpper(w.failover)
			if rs.Failover != "PRIMARY" && rs.Failover != "SECONDARY" {
				return usagef("--failover: want PRIMARY or SECONDARY, got %q", w.failover)
			}
		}
	}

	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	z, err := cl.ResolveZoneInfo(ctx, pos[0])
	if err != nil {
		return err
	}
	rs.Name = qualify(pos[1], z.Name)
	if rs.TTL == nil { // DELETE of the set as it stands
		found, err := c.lookupSet(ctx, cl, z, rs.Name, typ, w.setID)
		if err != nil {
			return err
		}
		rs = found
	}
	batch := zones.ChangeBatch{Comment: w.comment, Changes: []zones.Change{{Action: action, RecordSet: rs}}}
	ci, err := cl.ChangeRecordSets(ctx, z.ID, batch)
	if err != nil {
		return err
	}
	return c.finishChange(ctx, cl, o, ci, w.wait)
}

// lookupSet returns the one record set of name and type (and setID, if
// given) in zone z.
func (c *cli) lookupSet(ctx context.Context, cl *client.Client, z *zones.Zone, name, typ, setID string) (zones.RecordSet, error) {
	sets, err := recordSetsAt(ctx, cl, z.ID, name, typ)
	if err != nil {
		return zones.RecordSet{}, err
	}
	var match []zones.RecordSet
	var ids []string
	for _, s := range sets {
		if setID == "" || s.SetIdentifier == setID {
			match = append(match, s)
			ids = append(ids, strconv.Quote(s.SetIdentifier))
		}
	}
	switch len(match) {
	case 0:
		what := name + " " + typ
		if setID != "" {
			what += " with set identifier " + strconv.Quote(setID)
		}
		return zones.RecordSet{}, &client.APIError{
			Status:  http.StatusNotFound,
			Code:    zones.CodeInvalidChangeBatch,
			Message: fmt.Sprintf("no record set %s in zone %s", what, z.Name),
		}
	case 1:
		return match[0], nil
	}
	return zones.RecordSet{}, usagef("%d record sets %s %s (set identifiers %s): pick one with --set-identifier",
		len(match), name, typ, strings.Join(ids, ", "))
}

func (c *cli) recordChange(name string, args []string) error {
	fs, o := c.flagSet(name)
	file := fs.String("file", "", "ChangeBatch JSON `file` ({\"comment\",\"changes\":[{\"action\",\"recordSet\"}]}); - for stdin")
	comment := fs.String("comment", "", "the change's comment (overrides the file's)")
	wait := fs.Bool("wait", false, "wait until the change is INSYNC")
	pos, err := c.parse(fs, args, "ZONE --file BATCH.json|-", 1, 1)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("--file is required (usage: %s ZONE --file BATCH.json|-)", fs.Name())
	}
	batch, err := c.readBatch(*file)
	if err != nil {
		return err
	}
	if *comment != "" {
		batch.Comment = *comment
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	id, err := cl.ResolveZone(ctx, pos[0])
	if err != nil {
		return err
	}
	ci, err := cl.ChangeRecordSets(ctx, id, *batch)
	if err != nil {
		return err
	}
	return c.finishChange(ctx, cl, o, ci, *wait)
}

// readBatch reads a ChangeBatch document; unknown fields are refused so a
// misspelt field is not silently dropped.
func (c *cli) readBatch(path string) (*zones.ChangeBatch, error) {
	in, closeIn, err := c.openInput(path)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	var b zones.ChangeBatch
	if err := dec.Decode(&b); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, usagef("%s: empty, want a ChangeBatch JSON object", path)
		}
		return nil, usagef("%s: not a ChangeBatch: %v", path, err)
	}
	if dec.More() {
		return nil, usagef("%s: more than one JSON value", path)
	}
	if len(b.Changes) == 0 {
		return nil, usagef("%s: no changes", path)
	}
	return &b, nil
}

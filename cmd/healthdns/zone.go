package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/healthdns/healthdns/zones"
)

func (c *cli) zoneCreate(name string, args []string) error {
	fs, o := c.flagSet(name)
	comment := fs.String("comment", "", "the zone's comment")
	callerRef := fs.String("caller-reference", "", "unique string that makes a retried create safe (default: a new random one)")
	wait := fs.Bool("wait", false, "wait until every DNS node serves the zone (its change is INSYNC)")
	pos, err := c.parse(fs, args, "NAME", 1, 1)
	if err != nil {
		return err
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
	z, ci, err := cl.CreateZone(ctx, zones.CreateZoneRequest{Name: pos[0], Comment: *comment, CallerReference: ref})
	if err != nil {
		return err
	}
	if *wait && ci != nil && ci.Status != zones.StatusInsync {
		if ci, err = cl.WaitChange(ctx, ci.ID, c.poll); err != nil {
			return fmt.Errorf("zone %s (%s) created: %w", z.Name, z.ID, err)
		}
	}
	if o.json {
		return writeJSON(c.stdout, zoneCreateOutput{Zone: *z, ChangeInfo: ci})
	}
	return printZone(c.stdout, z, ci)
}

// newCallerReference returns a reference unique to this invocation, as
// Route 53's CreateHostedZone requires one.
func newCallerReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand's contract)
	return fmt.Sprintf("healthdns-cli-%s-%s", time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(b))
}

func (c *cli) zoneList(name string, args []string) error {
	fs, o := c.flagSet(name)
	if _, err := c.parse(fs, args, "", 0, 0); err != nil {
		return err
	}
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	zs, err := cl.AllZones(ctx)
	if err != nil {
		return err
	}
	if zs == nil {
		zs = []zones.Zone{}
	}
	if o.json {
		return writeJSON(c.stdout, zoneListOutput{Zones: zs})
	}
	return printZones(c.stdout, zs)
}

func (c *cli) zoneGet(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "NAME|ID", 1, 1)
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
	if o.json {
		return writeJSON(c.stdout, z)
	}
	return printZone(c.stdout, z, nil)
}

func (c *cli) zoneDelete(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "NAME|ID", 1, 1)
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
	ci, err := cl.DeleteZone(ctx, z.ID)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, zoneDeleteOutput{ID: z.ID, Name: z.Name, ChangeInfo: ci})
	}
	fmt.Fprintf(c.stdout, "deleted hosted zone %s (%s)\n", z.ID, z.Name)
	return nil
}

func (c *cli) zoneImport(name string, args []string) error {
	fs, o := c.flagSet(name)
	wait := fs.Bool("wait", false, "wait until the change is INSYNC")
	pos, err := c.parse(fs, args, "NAME|ID FILE|-", 2, 2)
	if err != nil {
		return err
	}
	in, closeIn, err := c.openInput(pos[1])
	if err != nil {
		return err
	}
	defer closeIn()
	cl, ctx, cancel, err := c.connect(o)
	if err != nil {
		return err
	}
	defer cancel()
	id, err := cl.ResolveZone(ctx, pos[0])
	if err != nil {
		return err
	}
	ci, err := cl.ImportZoneFile(ctx, id, in)
	if err != nil {
		return err
	}
	return c.finishChange(ctx, cl, o, ci, *wait)
}

func (c *cli) zoneExport(name string, args []string) error {
	fs, o := c.flagSet(name)
	pos, err := c.parse(fs, args, "NAME|ID", 1, 1)
	if err != nil {
		return err
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
	return cl.ExportZoneFile(ctx, id, c.stdout)
}

// openInput opens a file argument; "-" is standard input. A file that cannot
// be opened is bad usage.
func (c *cli) openInput(path string) (io.Reader, func(), error) {
	if path == "-" {
		return c.stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return f, func() { f.Close() }, nil
}

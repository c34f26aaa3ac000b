package main

import (
	"context"

	"github.com/healthdns/healthdns/api/client"
	"github.com/healthdns/healthdns/zones"
)

// finishChange prints a submitted change, first waiting for INSYNC if wait.
func (c *cli) finishChange(ctx context.Context, cl *client.Client, o *common, ci *zones.ChangeInfo, wait bool) error {
	if wait && ci.Status != zones.StatusInsync {
		final, err := cl.WaitChange(ctx, ci.ID, c.poll)
		if err != nil {
			return err
		}
		ci = final
	}
	if o.json {
		return writeJSON(c.stdout, changeOutput{ChangeInfo: ci})
	}
	return printChange(c.stdout, ci)
}

func (c *cli) changeGet(name string, args []string) error {
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
	ci, err := cl.GetChange(ctx, pos[0])
	if err != nil {
		return err
	}
	return c.finishChange(ctx, cl, o, ci, false)
}

func (c *cli) changeWait(name string, args []string) error {
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
	ci, err := cl.WaitChange(ctx, pos[0], c.poll)
	if err != nil {
		return err
	}
	return c.finishChange(ctx, cl, o, ci, false)
}

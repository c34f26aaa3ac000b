package etcdstore

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// NodeOptions configure a Node.
type NodeOptions struct {
	Client *clientv3.Client
	NodeID string
	Logger *slog.Logger
	// TTL of the node's lease (default 10s): a node that dies uncleanly
	// stops counting for INSYNC this long after.
	TTL time.Duration
	// MinInterval spaces the node's status writes (default 20ms).
	MinInterval time.Duration
}

// Node publishes, under a lease, the data revision this DNS node serves, so
// that GetChange can tell when every live node serves a change. The key lives
// outside the watched prefix.
type Node struct {
	o      NodeOptions
	log    *slog.Logger
	served atomic.Int64
	kick   chan struct{}
}

// NewNode returns a Node; Run starts publishing.
func NewNode(o NodeOptions) *Node {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.TTL == 0 {
		o.TTL = 10 * time.Second
	}
	if o.MinInterval == 0 {
		o.MinInterval = 20 * time.Millisecond
	}
	return &Node{o: o, log: o.Logger, kick: make(chan struct{}, 1)}
}

// Serving records that the node now answers from revision rev.
func (n *Node) Serving(rev int64) {
	for {
		cur := n.served.Load()
		if rev <= cur || n.served.CompareAndSwap(cur, rev) {
			break
		}
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run keeps the node registered until ctx ends, then revokes its lease so
// the node stops counting at once.
func (n *Node) Run(ctx context.Context) error {
	key := NodesPrefix + n.o.NodeID
	for ctx.Err() == nil {
		err := n.session(ctx, key)
		if ctx.Err() != nil {
			return nil
		}
		n.log.Warn("node registration lost; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (n *Node) session(ctx context.Context, key string) error {
	cli := n.o.Client
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	lease, err := cli.Grant(c, int64(n.o.TTL/time.Second))
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		cli.Revoke(c, lease.ID)
		cancel()
	}()
	ka, err := cli.KeepAlive(ctx, lease.ID)
	if err != nil {
		return err
	}
	published := int64(-1)
	tick := time.NewTicker(n.o.TTL / 2)
	defer tick.Stop()
	for {
		if rev := n.served.Load(); rev != published {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := cli.Put(c, key, mustJSON(nodeStatus{NodeID: n.o.NodeID, Revision: rev, UpdatedAt: time.Now().UTC()}), clientv3.WithLease(lease.ID))
			cancel()
			if err != nil {
				return err
			}
			published = rev
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ka:
			if !ok {
				return context.Canceled
			}
		case <-n.kick:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(n.o.MinInterval):
			}
		case <-tick.C:
		}
	}
}

package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// listWatch keeps a consumer equal to everything under prefix: it lists the
// prefix at one revision R, in pages, and hands the keys to reset; then it
// watches from R+1 (WithRequireLeader) and hands each response's events to
// apply. On compaction, a failed or closed watch it lists again from
// scratch, after a backoff. It returns when ctx ends. reset and apply run on
// the caller's goroutine.
func listWatch(ctx context.Context, cli *clientv3.Client, prefix string, pageSize int64, log *slog.Logger,
	reset func(kvs []*mvccpb.KeyValue, rev int64), apply func(evs []*clientv3.Event)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		kvs, rev, err := list(ctx, cli, prefix, pageSize)
		if err == nil {
			backoff = 100 * time.Millisecond
			reset(kvs, rev)
			err = watch(ctx, cli, prefix, rev, apply)
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("health check sync interrupted; keeping the last state and retrying", "prefix", prefix, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func list(ctx context.Context, cli *clientv3.Client, prefix string, pageSize int64) ([]*mvccpb.KeyValue, int64, error) {
	var (
		out []*mvccpb.KeyValue
		rev int64
	)
	key, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := cli.Get(c, key, opts...)
		cancel()
		if err != nil {
			return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		out = append(out, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 {
			return out, rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func watch(ctx context.Context, cli *clientv3.Client, prefix string, rev int64, apply func([]*clientv3.Event)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if wr.CompactRevision != 0 {
			return fmt.Errorf("watch: revision %d compacted", wr.CompactRevision)
		}
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		if len(wr.Events) > 0 {
			apply(wr.Events)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("watch closed")
}

package etcdstore

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// For the external tests.
const (
	MetaPrefix = metaPrefix
	LogPrefix  = logPrefix
)

// ApplyEvents applies one watch response's events, as the watch loop does.
func (s *Syncer) ApplyEvents(ctx context.Context, events []*clientv3.Event) error {
	return s.applyEvents(ctx, events)
}

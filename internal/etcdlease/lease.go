// Package etcdlease holds a long etcd lease that many records share, so that
// records which expire after a retention time (change records, audit
// entries, deleted caller references) cost one Grant per reuse period, not
// one per record. Safe for concurrent use.
package etcdlease

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Shared hands out a lease of TTL Retention+Reuse, granting a new one once
// the current one is older than Reuse: every record put under it lives at
// least Retention.
type Shared struct {
	Retention time.Duration
	Reuse     time.Duration

	mu      sync.Mutex
	id      clientv3.LeaseID
	granted time.Time
}

// Get returns the current lease, granting one when needed.
func (s *Shared) Get(ctx context.Context, cli *clientv3.Client) (clientv3.LeaseID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id != 0 && time.Since(s.granted) < s.Reuse {
		return s.id, nil
	}
	resp, err := cli.Grant(ctx, int64((s.Retention+s.Reuse)/time.Second))
	if err != nil {
		return 0, err
	}
	s.id, s.granted = resp.ID, time.Now()
	return resp.ID, nil
}

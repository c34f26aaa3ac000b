package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/zones"
)

// The audit log: one key per API write, ordered by time, outside the
// watched prefix, under a lease so that entries expire after AuditTTL.
const auditPrefix = Root + "audit/"

// AuditTTL is how long audit entries are kept.
const AuditTTL = 30 * 24 * time.Hour

func auditKey(t time.Time, id string) string {
	return fmt.Sprintf("%s%020d-%s", auditPrefix, t.UnixNano(), id)
}

// RecordAudit stores one audit entry.
func (s *Store) RecordAudit(ctx context.Context, e zones.AuditEntry) error {
	if e.ID == "" {
		e.ID = NewID("A")
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if err := s.checkReachable(); err != nil {
		return err
	}
	lease, err := s.auditLease(ctx)
	if err != nil {
		return storeErr("audit", err)
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	_, err = s.cli.Put(c, auditKey(e.Time, e.ID), mustJSON(e), clientv3.WithLease(lease))
	return storeErr("audit", err)
}

func (s *Store) auditLease(ctx context.Context) (clientv3.LeaseID, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	return s.audits.Get(c, s.cli)
}

// ListAudit returns up to maxItems entries made at or after since, oldest
// first, and whether more follow.
func (s *Store) ListAudit(ctx context.Context, since time.Time, maxItems int) ([]zones.AuditEntry, bool, error) {
	if maxItems <= 0 || maxItems > 1000 {
		maxItems = 100
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	from := fmt.Sprintf("%s%020d", auditPrefix, since.UnixNano())
	resp, err := s.cli.Get(c, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(auditPrefix)), clientv3.WithLimit(int64(maxItems)))
	if err != nil {
		return nil, false, storeErr("read audit log", err)
	}
	out := make([]zones.AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e zones.AuditEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, false, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, e)
	}
	return out, resp.More, nil
}

package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/internal/etcderr"
	"github.com/healthdns/healthdns/internal/etcdlease"
	"github.com/healthdns/healthdns/zones"
)

// CodeHealthCheckVersionMismatch (409) is Route 53's error for an update
// whose version is not the check's current one.
const CodeHealthCheckVersionMismatch = "HealthCheckVersionMismatch"

// List page sizes (Route 53's ListHealthChecks).
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// CreateRequest is the body of POST /v1/healthchecks.
type CreateRequest struct {
	CallerReference string                  `json:"callerReference"`
	Config          zones.HealthCheckConfig `json:"config"`
}

// UpdateRequest is the body of PUT /v1/healthchecks/{id}: the whole new
// configuration (the type cannot change) and, optionally, the version the
// caller read; another current version is HealthCheckVersionMismatch.
type UpdateRequest struct {
	Config  zones.HealthCheckConfig `json:"config"`
	Version int64                   `json:"version,omitempty"`
}

// Page is one page of ListHealthChecks, in id order.
type Page struct {
	HealthChecks []HealthCheck `json:"healthChecks"`
	IsTruncated  bool          `json:"isTruncated"`
	NextMarker   string        `json:"nextMarker,omitempty"`
}

// StoreOptions configure a Store.
type StoreOptions struct {
	Client *clientv3.Client
	Logger *slog.Logger
	// RequestTimeout bounds each etcd call (default 5s).
	RequestTimeout time.Duration
	// InUse, if set, is asked before a delete whether something other than
	// a CALCULATED check uses the check (a record set): a non-empty answer,
	// e.g. "record set www.example.test. A in zone Z...", refuses the delete
	// with HealthCheckInUse.
	InUse func(ctx context.Context, id string) (string, error)
	// DeletedRefTTL is how long the callerReference of a deleted check stays
	// refused (default 24h; Route 53 refuses it for a while too).
	DeletedRefTTL time.Duration
}

// Store keeps health checks in etcd. Reads go to etcd (linearizable), so a
// caller reads its own writes on any node. It is safe for concurrent use.
type Store struct {
	o        StoreOptions
	cli      *clientv3.Client
	log      *slog.Logger
	refLease *etcdlease.Shared // frees deleted checks' caller references
}

// NewStore returns a Store.
func NewStore(o StoreOptions) (*Store, error) {
	if o.Client == nil {
		return nil, errors.New("healthcheck: StoreOptions.Client is nil")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.DeletedRefTTL == 0 {
		o.DeletedRefTTL = 24 * time.Hour
	}
	return &Store{o: o, cli: o.Client, log: o.Logger,
		refLease: &etcdlease.Shared{Retention: o.DeletedRefTTL, Reuse: time.Hour}}, nil
}

// maxAttempts bounds the optimistic retries of a write that lost a race.
const maxAttempts = 10

func (s *Store) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.o.RequestTimeout)
}

func noCheck(id string) error {
	return zones.Errorf(zones.CodeNoSuchHealthCheck, "no health check found with id %s", id)
}

func busy() error {
	return zones.Errorf(zones.CodePriorRequestNotComplete, "the health checks changed concurrently too often; retry")
}

// canonical returns the id lower-case or NoSuchHealthCheck.
func canonical(id string) (string, error) {
	cid, ok := CanonicalID(id)
	if !ok {
		return "", zones.Errorf(zones.CodeInvalidInput, "id %q is not a health check id (a UUID)", clip(id))
	}
	return cid, nil
}

// storedCheck is a check with the ModRevision of its key.
type storedCheck struct {
	HealthCheck
	modRev int64
}

func (s *Store) get(ctx context.Context, id string) (storedCheck, bool, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, checkKey(id))
	if err != nil {
		return storedCheck{}, false, storeErr("read health check", err)
	}
	if len(resp.Kvs) == 0 {
		return storedCheck{}, false, nil
	}
	var hc HealthCheck
	if err := json.Unmarshal(resp.Kvs[0].Value, &hc); err != nil {
		return storedCheck{}, false, fmt.Errorf("decode %s: %w", resp.Kvs[0].Key, err)
	}
	return storedCheck{hc, resp.Kvs[0].ModRevision}, true, nil
}

// snapshot reads every check and the guard at one revision.
func (s *Store) snapshot(ctx context.Context) (map[string]storedCheck, int64, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	g, err := s.cli.Get(c, guardKey)
	if err != nil {
		return nil, 0, storeErr("read health checks", err)
	}
	rev := g.Header.Revision
	var guard int64
	if len(g.Kvs) > 0 {
		guard = g.Kvs[0].ModRevision
	}
	all := map[string]storedCheck{}
	key, end := ChecksPrefix, clientv3.GetPrefixRangeEnd(ChecksPrefix)
	for {
		resp, err := s.cli.Get(c, key, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(500))
		if err != nil {
			return nil, 0, storeErr("read health checks", err)
		}
		for _, kv := range resp.Kvs {
			var hc HealthCheck
			if err := json.Unmarshal(kv.Value, &hc); err != nil {
				return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
			}
			all[hc.ID] = storedCheck{hc, kv.ModRevision}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return all, guard, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// checkChildren refuses children that do not exist or would make a cycle
// through the check id, whose configuration becomes cfg.
func checkChildren(all map[string]storedCheck, id string, cfg zones.HealthCheckConfig) error {
	for i, ch := range cfg.ChildHealthChecks {
		if ch == id {
			return invalid("config.childHealthChecks[%d]: a check cannot be its own child", i)
		}
		if _, ok := all[ch]; !ok {
			return invalid("config.childHealthChecks[%d]: no health check found with id %s", i, ch)
		}
	}
	// Is id reachable from its new children? Then the update makes a cycle.
	seen := map[string]bool{}
	var reaches func(from string) bool
	reaches = func(from string) bool {
		if from == id {
			return true
		}
		if seen[from] {
			return false
		}
		seen[from] = true
		for _, ch := range all[from].Config.ChildHealthChecks {
			if reaches(ch) {
				return true
			}
		}
		return false
	}
	for i, ch := range cfg.ChildHealthChecks {
		if reaches(ch) {
			return invalid("config.childHealthChecks[%d]: %s lists this check among its own descendants (a cycle)", i, ch)
		}
	}
	return nil
}

// CreateHealthCheck creates a check, by Route 53's callerReference rules: a
// reference already used with the same configuration returns that check
// (created false); with another configuration, or by a deleted check, it is
// HealthCheckAlreadyExists.
func (s *Store) CreateHealthCheck(ctx context.Context, req CreateRequest) (HealthCheck, bool, error) {
	ref := req.CallerReference
	switch {
	case ref == "":
		return HealthCheck{}, false, invalid("callerReference: required (a unique string that makes a retried create safe)")
	case len(ref) > MaxCallerReference:
		return HealthCheck{}, false, invalid("callerReference: at most %d characters", MaxCallerReference)
	case strings.ContainsAny(ref, "\x00\n\r"):
		return HealthCheck{}, false, invalid("callerReference: control characters are not allowed")
	}
	cfg, err := Normalize(req.Config)
	if err != nil {
		return HealthCheck{}, false, err
	}
	id := NewID()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		c, cancel := s.ctx(ctx)
		resp, err := s.cli.Get(c, refKey(ref))
		cancel()
		if err != nil {
			return HealthCheck{}, false, storeErr("create health check", err)
		}
		if len(resp.Kvs) > 0 {
			return s.existingRef(ctx, ref, resp.Kvs[0].Value, cfg)
		}
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(refKey(ref)), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(checkKey(id)), "=", 0),
		}
		hc := HealthCheck{ID: id, CallerReference: ref, Config: cfg, Version: 1, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		if cfg.Type == TypeRoutingControl {
			hc.RoutingControlState = StateOn
		}
		thens := []clientv3.Op{
			clientv3.OpPut(checkKey(id), mustJSON(hc)),
			clientv3.OpPut(refKey(ref), mustJSON(refEntry{ID: id, Config: cfg})),
		}
		if cfg.Type == TypeCalculated {
			all, guard, err := s.snapshot(ctx)
			if err != nil {
				return HealthCheck{}, false, err
			}
			if err := checkChildren(all, id, cfg); err != nil {
				return HealthCheck{}, false, err
			}
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(guardKey), "=", guard))
			thens = append(thens, clientv3.OpPut(guardKey, id))
		}
		ok, err := s.txn(ctx, cmps, thens)
		if err != nil {
			if retryable(err) {
				continue // the next round finds the reference if it applied
			}
			return HealthCheck{}, false, storeErr("create health check", err)
		}
		if ok {
			s.log.Info("health check created", "id", id, "type", cfg.Type)
			return hc, true, nil
		}
	}
	return HealthCheck{}, false, busy()
}

// existingRef answers a create whose callerReference is taken.
func (s *Store) existingRef(ctx context.Context, ref string, raw []byte, cfg zones.HealthCheckConfig) (HealthCheck, bool, error) {
	var e refEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return HealthCheck{}, false, fmt.Errorf("decode caller reference %q: %w", ref, err)
	}
	if e.Deleted {
		return HealthCheck{}, false, zones.Errorf(zones.CodeHealthCheckAlreadyExists,
			"callerReference %q was used by health check %s, which has been deleted; use another", ref, e.ID)
	}
	if mustJSON(e.Config) != mustJSON(cfg) {
		return HealthCheck{}, false, zones.Errorf(zones.CodeHealthCheckAlreadyExists,
			"callerReference %q was already used to create health check %s with another config", ref, e.ID)
	}
	cur, found, err := s.get(ctx, e.ID)
	if err != nil {
		return HealthCheck{}, false, err
	}
	if !found {
		return HealthCheck{}, false, zones.Errorf(zones.CodeHealthCheckAlreadyExists,
			"callerReference %q was used by health check %s, which has been deleted; use another", ref, e.ID)
	}
	return cur.HealthCheck, false, nil
}

// txn commits one transaction and reports whether its compares held.
func (s *Store) txn(ctx context.Context, cmps []clientv3.Cmp, thens []clientv3.Op) (bool, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Txn(c).If(cmps...).Then(thens...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// GetHealthCheck returns a check by id.
func (s *Store) GetHealthCheck(ctx context.Context, id string) (HealthCheck, error) {
	id, err := canonical(id)
	if err != nil {
		return HealthCheck{}, err
	}
	cur, found, err := s.get(ctx, id)
	if err != nil {
		return HealthCheck{}, err
	}
	if !found {
		return HealthCheck{}, noCheck(id)
	}
	return cur.HealthCheck, nil
}

// ListHealthChecks returns checks in id order from marker (an id; "" for the
// first page), at most maxItems (1-1000; 0 means 100).
func (s *Store) ListHealthChecks(ctx context.Context, marker string, maxItems int) (Page, error) {
	if maxItems == 0 {
		maxItems = DefaultPageSize
	}
	if maxItems < 1 || maxItems > MaxPageSize {
		return Page{}, invalid("maxItems: %d is not from 1 to %d", maxItems, MaxPageSize)
	}
	start := ChecksPrefix
	if marker != "" {
		m, ok := CanonicalID(marker)
		if !ok {
			return Page{}, invalid("marker: %q is not a health check id", clip(marker))
		}
		start = checkKey(m)
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, start, clientv3.WithRange(clientv3.GetPrefixRangeEnd(ChecksPrefix)), clientv3.WithLimit(int64(maxItems+1)))
	if err != nil {
		return Page{}, storeErr("list health checks", err)
	}
	page := Page{HealthChecks: []HealthCheck{}}
	for i, kv := range resp.Kvs {
		var hc HealthCheck
		if err := json.Unmarshal(kv.Value, &hc); err != nil {
			return Page{}, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if i == maxItems {
			page.IsTruncated, page.NextMarker = true, hc.ID
			break
		}
		page.HealthChecks = append(page.HealthChecks, hc)
	}
	return page, nil
}

// UpdateHealthCheck replaces a check's configuration and bumps its version.
// The type cannot change. An update that changes nothing returns the check
// as it is.
func (s *Store) UpdateHealthCheck(ctx context.Context, id string, req UpdateRequest) (HealthCheck, error) {
	id, err := canonical(id)
	if err != nil {
		return HealthCheck{}, err
	}
	if req.Version < 0 {
		return HealthCheck{}, invalid("version: must not be negative")
	}
	cfg, err := Normalize(req.Config)
	if err != nil {
		return HealthCheck{}, err
	}
	var written *HealthCheck // what an ambiguous commit may have written
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var (
			cur   storedCheck
			found bool
			all   map[string]storedCheck
			guard int64
		)
		if cfg.Type == TypeCalculated {
			if all, guard, err = s.snapshot(ctx); err != nil {
				return HealthCheck{}, err
			}
			cur, found = all[id]
		} else if cur, found, err = s.get(ctx, id); err != nil {
			return HealthCheck{}, err
		}
		if !found {
			return HealthCheck{}, noCheck(id)
		}
		if written != nil && cur.Version == written.Version && mustJSON(cur.Config) == mustJSON(written.Config) {
			return cur.HealthCheck, nil // the ambiguous commit applied
		}
		if cur.Config.Type != cfg.Type {
			return HealthCheck{}, invalid("config.type: a health check's type cannot change (it is %s)", cur.Config.Type)
		}
		if req.Version != 0 && req.Version != cur.Version {
			return HealthCheck{}, zones.Errorf(CodeHealthCheckVersionMismatch,
				"version %d is not the health check's current version %d", req.Version, cur.Version)
		}
		if mustJSON(cur.Config) == mustJSON(cfg) {
			return cur.HealthCheck, nil
		}
		next := cur.HealthCheck
		next.Config, next.Version = cfg, cur.Version+1
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(checkKey(id)), "=", cur.modRev)}
		thens := []clientv3.Op{clientv3.OpPut(checkKey(id), mustJSON(next))}
		if cfg.Type == TypeCalculated {
			if err := checkChildren(all, id, cfg); err != nil {
				return HealthCheck{}, err
			}
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(guardKey), "=", guard))
			thens = append(thens, clientv3.OpPut(guardKey, id))
		}
		ok, err := s.txn(ctx, cmps, thens)
		if err != nil {
			if retryable(err) {
				written = &next
				continue
			}
			return HealthCheck{}, storeErr("update health check", err)
		}
		if ok {
			s.log.Info("health check updated", "id", id, "version", next.Version)
			return next, nil
		}
	}
	return HealthCheck{}, busy()
}

// DeleteHealthCheck deletes a check and its observations. It refuses with
// HealthCheckInUse while a CALCULATED check lists it as a child, or while
// StoreOptions.InUse names a user.
func (s *Store) DeleteHealthCheck(ctx context.Context, id string) error {
	id, err := canonical(id)
	if err != nil {
		return err
	}
	tried := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		all, guard, err := s.snapshot(ctx)
		if err != nil {
			return err
		}
		cur, found := all[id]
		if !found {
			if tried {
				return nil // an ambiguous commit applied
			}
			return noCheck(id)
		}
		for _, p := range all {
			for _, ch := range p.Config.ChildHealthChecks {
				if ch == id {
					return zones.Errorf(zones.CodeHealthCheckInUse, "health check %s is a child of CALCULATED health check %s", id, p.ID)
				}
			}
		}
		if s.o.InUse != nil {
			user, err := s.o.InUse(ctx, id)
			if err != nil {
				return fmt.Errorf("delete health check: %w", err)
			}
			if user != "" {
				return zones.Errorf(zones.CodeHealthCheckInUse, "health check %s is used by %s", id, user)
			}
		}
		lease, err := s.deletedRefLease(ctx)
		if err != nil {
			return storeErr("delete health check", err)
		}
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(guardKey), "=", guard),
			clientv3.Compare(clientv3.ModRevision(checkKey(id)), "=", cur.modRev),
		}
		thens := []clientv3.Op{
			clientv3.OpDelete(checkKey(id)),
			clientv3.OpDelete(obsCheckPrefix(id), clientv3.WithPrefix()),
			clientv3.OpPut(guardKey, id),
		}
		if cur.CallerReference != "" {
			thens = append(thens, clientv3.OpPut(refKey(cur.CallerReference),
				mustJSON(refEntry{ID: id, Deleted: true}), clientv3.WithLease(lease)))
		}
		ok, err := s.txn(ctx, cmps, thens)
		if err != nil {
			if retryable(err) {
				tried = true
				continue
			}
			return storeErr("delete health check", err)
		}
		if ok {
			s.log.Info("health check deleted", "id", id)
			return nil
		}
	}
	return busy()
}

// deletedRefLease returns the lease that frees deleted checks' caller
// references after DeletedRefTTL; one lease serves the deletes of an hour.
func (s *Store) deletedRefLease(ctx context.Context) (clientv3.LeaseID, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	return s.refLease.Get(c, s.cli)
}

// SetRoutingControl turns a ROUTING_CONTROL check ON (healthy) or OFF. Any
// other type is InvalidInput. The version does not change: it counts
// configuration updates.
func (s *Store) SetRoutingControl(ctx context.Context, id, state string) (HealthCheck, error) {
	id, err := canonical(id)
	if err != nil {
		return HealthCheck{}, err
	}
	st := strings.ToUpper(strings.TrimSpace(state))
	if st != StateOn && st != StateOff {
		return HealthCheck{}, invalid("state: %q is neither ON nor OFF", clip(state))
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, found, err := s.get(ctx, id)
		if err != nil {
			return HealthCheck{}, err
		}
		if !found {
			return HealthCheck{}, noCheck(id)
		}
		if cur.Config.Type != TypeRoutingControl {
			return HealthCheck{}, invalid("state: health check %s is of type %s; only ROUTING_CONTROL checks have a routing control state", id, cur.Config.Type)
		}
		if cur.RoutingControlState == st {
			return cur.HealthCheck, nil
		}
		next := cur.HealthCheck
		next.RoutingControlState = st
		ok, err := s.txn(ctx,
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(checkKey(id)), "=", cur.modRev)},
			[]clientv3.Op{clientv3.OpPut(checkKey(id), mustJSON(next))})
		if err != nil {
			if retryable(err) {
				continue // the next round sees the state if it applied
			}
			return HealthCheck{}, storeErr("set routing control", err)
		}
		if ok {
			s.log.Info("routing control set", "id", id, "state", st)
			return next, nil
		}
	}
	return HealthCheck{}, busy()
}

// storeErr turns an etcd error into a *zones.Error the API can show.
func storeErr(op string, err error) error {
	return etcderr.ToAPI(op, err, "the data store (etcd) is unreachable; retry the request later")
}

// retryable reports whether a failed write is worth another round: etcd
// was unavailable, so the write may have applied, and the next round reads
// whether it did. A canceled request is not (etcderr.Unavailable says so):
// its caller has gone. (zones/etcdstore's ambiguous differs on purpose.)
func retryable(err error) bool { return etcderr.Unavailable(err) }

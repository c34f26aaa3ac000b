package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/internal/etcderr"
	"github.com/healthdns/healthdns/internal/etcdlease"
	"github.com/healthdns/healthdns/zones"
)

// Options configure a Store.
type Options struct {
	Client *clientv3.Client
	Mirror *Mirror
	Logger *slog.Logger
	// NameServers are the apex NS (and SOA MNAME) of new zones.
	NameServers []string
	// ChangeTTL is how long change records are kept (default 24h).
	ChangeTTL time.Duration
	// FoldEntries is the log length past which a zone's log is folded into
	// a new base (default 128).
	FoldEntries int
	// ChunkBytes is the largest blob chunk written (default 1 MiB, below
	// etcd's default 1.5 MiB request limit).
	ChunkBytes int
	// RequestTimeout bounds each etcd call (default 5s).
	RequestTimeout time.Duration
	// CIDR is the table of CIDR collections the Syncer keeps (required for
	// the CIDR collection methods and IP-based record sets).
	CIDR *CIDRTable
	// Registerer receives the store's metrics (nil: none).
	Registerer prometheus.Registerer
	// Reachable, if set, tells whether etcd answered its last probe; writes
	// fail at once with ServiceUnavailable while it says no.
	Reachable func() bool
}

// Store reads zones from its Mirror and writes them to etcd.
type Store struct {
	o        Options
	cli      *clientv3.Client
	m        *Mirror
	log      *slog.Logger
	mu       sync.Mutex
	locks    map[string]*sync.Mutex
	metrics  *storeMetrics
	pending  sync.Map // change ids last seen PENDING, for healthdns_change_insync_seconds
	pendingN atomic.Int64
	changes  *etcdlease.Shared // for change records
	audits   *etcdlease.Shared // for audit entries
}

// New returns a Store.
func New(o Options) *Store {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ChangeTTL == 0 {
		o.ChangeTTL = 24 * time.Hour
	}
	if o.FoldEntries == 0 {
		o.FoldEntries = 128
	}
	if o.ChunkBytes == 0 {
		o.ChunkBytes = 1 << 20
	}
	if o.CIDR == nil {
		o.CIDR = &CIDRTable{}
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if len(o.NameServers) == 0 {
		o.NameServers = []string{"ns1.healthdns.invalid.", "ns2.healthdns.invalid."}
	}
	return &Store{o: o, cli: o.Client, m: o.Mirror, log: o.Logger, locks: make(map[string]*sync.Mutex), metrics: newStoreMetrics(o.Registerer),
		changes: &etcdlease.Shared{Retention: o.ChangeTTL, Reuse: time.Hour},
		audits:  &etcdlease.Shared{Retention: AuditTTL, Reuse: 24 * time.Hour}}
}

func (s *Store) zoneLock(zid string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[zid]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[zid] = l
	}
	return l
}

// storeErr turns an etcd error into a *zones.Error the API can show.
func storeErr(op string, err error) error {
	return etcderr.ToAPI(op, err, "the data store (etcd) is unreachable; DNS keeps answering from its last data, retry the request later")
}

// ambiguous reports whether a failed write may nevertheless have applied.
// A canceled request may have reached etcd too; the caller stops retrying
// on its context.
func ambiguous(err error) bool {
	return etcderr.Unavailable(err) || errors.Is(err, context.Canceled)
}

func (s *Store) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.o.RequestTimeout)
}

func noZone(id string) error {
	return zones.Errorf(zones.CodeNoSuchHostedZone, "no hosted zone found with id %s", id)
}

// changesLease returns a lease that expires change records after ChangeTTL;
// one lease serves the changes of an hour.
func (s *Store) changesLease(ctx context.Context) (clientv3.LeaseID, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	return s.changes.Get(c, s.cli)
}

// GetZone returns a zone by id.
func (s *Store) GetZone(ctx context.Context, id string) (zones.Zone, error) {
	var z zones.Zone
	if !s.readFresh(ctx, id, func(zd *zoneData) { z = zd.zone(s.m.setCount(zd)) }) {
		return z, noZone(id)
	}
	return z, nil
}

// ListZones returns zones in name order from marker (a zone id) on.
func (s *Store) ListZones(ctx context.Context, marker string, maxItems int) (zones.ZonePage, error) {
	if maxItems <= 0 || maxItems > 100 {
		maxItems = 100
	}
	all := s.m.zoneList()
	start := 0
	if marker != "" {
		start = len(all)
		for i, z := range all {
			if z.ID == marker {
				start = i
				break
			}
		}
		if start == len(all) {
			return zones.ZonePage{}, zones.Errorf(zones.CodeInvalidInput, "marker: no hosted zone with id %s", marker)
		}
	}
	page := zones.ZonePage{Zones: all[start:min(len(all), start+maxItems)]}
	if start+maxItems < len(all) {
		page.IsTruncated, page.NextMarker = true, all[start+maxItems].ID
	}
	if page.Zones == nil {
		page.Zones = []zones.Zone{}
	}
	return page, nil
}

// CreateZone creates a hosted zone with an SOA and apex NS.
func (s *Store) CreateZone(ctx context.Context, req zones.CreateZoneRequest) (zones.Zone, zones.ChangeInfo, error) {
	name, err := zones.CanonicalName(req.Name)
	if err != nil || name == "." {
		msg := "the root zone cannot be hosted"
		if err != nil {
			msg = err.Error()
		}
		return zones.Zone{}, zones.ChangeInfo{}, zones.Errorf(zones.CodeInvalidInput, "name: %s", msg)
	}
	if len(req.CallerReference) > 128 {
		return zones.Zone{}, zones.ChangeInfo{}, zones.Errorf(zones.CodeInvalidInput, "callerReference: at most 128 characters")
	}
	if len(req.Comment) > 256 {
		return zones.Zone{}, zones.ChangeInfo{}, zones.Errorf(zones.CodeInvalidInput, "comment: at most 256 characters")
	}
	var ns []string
	for _, n := range s.o.NameServers {
		cn, err := zones.CanonicalName(n)
		if err != nil {
			return zones.Zone{}, zones.ChangeInfo{}, fmt.Errorf("name servers: %w", err)
		}
		ns = append(ns, cn)
	}
	sets, err := zones.DefaultZoneSets(name, ns)
	if err != nil {
		return zones.Zone{}, zones.ChangeInfo{}, err
	}
	zid, cid := NewID("Z"), NewID("C")
	now := time.Now().UTC().Truncate(time.Millisecond)
	meta := zoneMeta{ID: zid, Name: name, Comment: req.Comment, CallerReference: req.CallerReference, NameServers: ns, Tags: req.Tags, CreatedAt: now}
	entry := logEntry{Seq: 1, ChangeID: cid, At: now}
	for _, set := range sets {
		entry.Ops = append(entry.Ops, logOp{Set: set.RecordSet})
	}
	rec := changeRecord{ID: cid, ZoneID: zid, SubmittedAt: now, Comment: req.Comment}
	lease, err := s.changesLease(ctx)
	if err != nil {
		return zones.Zone{}, zones.ChangeInfo{}, storeErr("create zone", err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(nameKey(name)), "=", 0)}
	thens := []clientv3.Op{
		clientv3.OpPut(metaKey(zid), mustJSON(meta)),
		clientv3.OpPut(nameKey(name), zid),
		clientv3.OpPut(headKey(zid), mustJSON(head{Seq: 1})),
		clientv3.OpPut(logKey(zid, 1), mustJSON(entry)),
		clientv3.OpPut(changeKey(cid), mustJSON(rec), clientv3.WithLease(lease)),
	}
	if req.CallerReference != "" {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(refKey(req.CallerReference)), "=", 0))
		thens = append(thens, clientv3.OpPut(refKey(req.CallerReference), zid))
	}
	rev, err := s.commit(ctx, cid, cmps, thens)
	if err != nil {
		return zones.Zone{}, zones.ChangeInfo{}, err
	}
	if rev == 0 { // a compare failed: the name or the caller reference is taken
		c, cancel := s.ctx(ctx)
		defer cancel()
		if resp, err := s.cli.Get(c, nameKey(name)); err == nil && len(resp.Kvs) > 0 {
			return zones.Zone{}, zones.ChangeInfo{}, zones.Errorf(zones.CodeHostedZoneAlreadyExists, "a hosted zone named %s already exists (%s)", name, resp.Kvs[0].Value)
		}
		return zones.Zone{}, zones.ChangeInfo{}, zones.Errorf(zones.CodeHostedZoneAlreadyExists, "callerReference %q was already used to create a hosted zone", req.CallerReference)
	}
	s.waitMirror(ctx, rev)
	z, err := s.GetZone(ctx, zid)
	if err != nil { // the mirror lags: answer from what was written
		z = zones.Zone{ID: zid, Name: name, Comment: req.Comment, CallerReference: req.CallerReference, RecordSetCount: len(sets), NameServers: ns, Tags: req.Tags, CreatedAt: now}
	}
	return z, s.changeInfo(ctx, rec, rev), nil
}

// commit runs a write transaction whose Then branch also creates the change
// record cid. It returns the revision it applied at, 0 when a compare failed,
// or an error. An ambiguous failure (timeout, lost leader) is resolved by
// looking for the change record: the change is reported applied only if it
// was, and retried only if it was not.
func (s *Store) commit(ctx context.Context, cid string, cmps []clientv3.Cmp, thens []clientv3.Op) (int64, error) {
	if err := s.checkReachable(); err != nil {
		return 0, err
	}
	cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(changeKey(cid)), "=", 0))
	deadline := time.Now().Add(2 * s.o.RequestTimeout)
	for {
		c, cancel := s.ctx(ctx)
		resp, err := s.cli.Txn(c).If(cmps...).Then(thens...).Commit()
		cancel()
		if err == nil {
			if resp.Succeeded {
				return resp.Header.Revision, nil
			}
			if rev, ok := s.changeApplied(ctx, cid); ok {
				return rev, nil
			}
			return 0, nil
		}
		if !ambiguous(err) || time.Now().After(deadline) || ctx.Err() != nil || s.checkReachable() != nil {
			// Give up retrying once the probe says etcd is away; look for the
			// change record briefly, as etcd may not answer that either.
			qc, qcancel := context.WithTimeout(ctx, time.Second)
			rev, ok := s.changeApplied(qc, cid)
			qcancel()
			if ok {
				return rev, nil
			}
			return 0, storeErr("commit", err)
		}
		s.log.Warn("etcd write outcome unknown; checking before retry", "change", cid, "err", err)
		if rev, ok := s.changeApplied(ctx, cid); ok {
			return rev, nil
		}
		select {
		case <-ctx.Done():
			return 0, storeErr("commit", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkReachable fails fast while etcd is known to be away.
func (s *Store) checkReachable() error {
	if s.o.Reachable != nil && !s.o.Reachable() {
		return &zones.Error{Code: zones.CodeServiceUnavailable, Message: "the data store (etcd) is unreachable; DNS keeps answering from its last data, retry the request later"}
	}
	return nil
}

// changeApplied looks for the change record cid.
func (s *Store) changeApplied(ctx context.Context, cid string) (int64, bool) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, changeKey(cid))
	if err != nil || len(resp.Kvs) == 0 {
		return 0, false
	}
	return resp.Kvs[0].ModRevision, true
}

// waitMirror waits (bounded) until this node's Mirror holds rev, so that the
// caller reads its own write.
func (s *Store) waitMirror(ctx context.Context, rev int64) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !s.m.WaitRevision(c, rev) {
		s.log.Warn("mirror did not reach the written revision in time", "revision", rev)
	}
}

// DeleteZone deletes a zone that holds only its apex SOA and NS.
func (s *Store) DeleteZone(ctx context.Context, id string) (zones.ChangeInfo, error) {
	l := s.zoneLock(id)
	l.Lock()
	defer l.Unlock()
	for attempt := 0; attempt < 5; attempt++ {
		var meta zoneMeta
		var headRev int64
		var extra []string
		if !s.readFresh(ctx, id, func(z *zoneData) {
			meta, headRev = z.meta, z.headRev
			z.each(func(set *zones.Set) {
				if !(set.Name == z.meta.Name && (set.Type == "SOA" || set.Type == "NS")) {
					extra = append(extra, set.Name+" "+set.Type)
				}
			})
		}) {
			return zones.ChangeInfo{}, noZone(id)
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			return zones.ChangeInfo{}, &zones.Error{Code: zones.CodeHostedZoneNotEmpty,
				Message:  fmt.Sprintf("the hosted zone %s still holds %d record sets besides its apex SOA and NS; delete them first", meta.Name, len(extra)),
				Messages: extra[:min(len(extra), 20)]}
		}
		cid := NewID("C")
		now := time.Now().UTC().Truncate(time.Millisecond)
		rec := changeRecord{ID: cid, ZoneID: id, SubmittedAt: now, Comment: "delete hosted zone " + meta.Name}
		lease, err := s.changesLease(ctx)
		if err != nil {
			return zones.ChangeInfo{}, storeErr("delete zone", err)
		}
		thens := []clientv3.Op{
			clientv3.OpDelete(metaKey(id)),
			clientv3.OpDelete(headKey(id)),
			clientv3.OpDelete(nameKey(meta.Name)),
			clientv3.OpDelete(logZonePrefix(id), clientv3.WithPrefix()),
			clientv3.OpDelete(blobPrefix+id+"/", clientv3.WithPrefix()),
			clientv3.OpPut(changeKey(cid), mustJSON(rec), clientv3.WithLease(lease)),
		}
		if meta.CallerReference != "" {
			thens = append(thens, clientv3.OpDelete(refKey(meta.CallerReference)))
		}
		rev, err := s.commit(ctx, cid, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(headKey(id)), "=", headRev)}, thens)
		if err != nil {
			return zones.ChangeInfo{}, err
		}
		if rev != 0 {
			s.waitMirror(ctx, rev)
			return s.changeInfo(ctx, rec, rev), nil
		}
		s.catchUp(ctx)
	}
	return zones.ChangeInfo{}, zones.Errorf(zones.CodePriorRequestNotComplete, "the zone is being changed by other requests; retry")
}

// readFresh is Mirror.read for writes: a zone this node has not seen yet
// (created through another node a moment ago) is looked for again after the
// Mirror caught up with etcd, so a client may write to any node right after
// creating the zone through another.
func (s *Store) readFresh(ctx context.Context, zid string, f func(z *zoneData)) bool {
	if s.m.read(zid, f) {
		return true
	}
	if s.checkReachable() != nil {
		return false
	}
	s.catchUp(ctx)
	return s.m.read(zid, f)
}

// catchUp waits until the Mirror holds etcd's current revision.
func (s *Store) catchUp(ctx context.Context) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, headPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return
	}
	s.waitMirror(ctx, resp.Header.Revision)
}

// ChangeRecordSets applies a change batch atomically: all of it or nothing.
func (s *Store) ChangeRecordSets(ctx context.Context, zoneID string, b zones.ChangeBatch, who string) (zones.ChangeInfo, error) {
	if len(b.Comment) > 256 {
		return zones.ChangeInfo{}, zones.Errorf(zones.CodeInvalidInput, "comment: at most 256 characters")
	}
	l := s.zoneLock(zoneID)
	l.Lock()
	defer l.Unlock()
	cid := NewID("C")
	for attempt := 0; attempt < 10; attempt++ {
		var (
			ops     []zones.Op
			perr    error
			h       head
			headRev int64
			soa     *zones.Set
		)
		var checkOps []clientv3.Op
		if !s.readFresh(ctx, zoneID, func(z *zoneData) {
			h, headRev = z.head, z.headRev
			ops, perr = zones.PlanBatch(z.meta.Name, z, b)
			soa = z.Get(zones.SetKey{Name: z.meta.Name, Type: "SOA"})
			if perr == nil {
				ops, checkOps, perr = inlineChecks(z, ops)
			}
		}) {
			return zones.ChangeInfo{}, noZone(zoneID)
		}
		if perr != nil {
			return zones.ChangeInfo{}, perr
		}
		if err := s.checkCidrRefs(ops); err != nil {
			return zones.ChangeInfo{}, err
		}
		if !zones.TouchesSOA(ops) && soa != nil {
			ops = append(ops, zones.Op{Set: zones.NextSerial(soa)})
		}
		entry := logEntry{Seq: h.Seq + 1, ChangeID: cid, At: time.Now().UTC()}
		for _, op := range ops {
			entry.Ops = append(entry.Ops, logOp{Delete: op.Delete, Set: op.Set.RecordSet})
		}
		nh := h
		nh.Seq++
		now := time.Now().UTC().Truncate(time.Millisecond)
		rec := changeRecord{ID: cid, ZoneID: zoneID, SubmittedAt: now, Comment: b.Comment, Who: who}
		lease, err := s.changesLease(ctx)
		if err != nil {
			return zones.ChangeInfo{}, storeErr("change record sets", err)
		}
		rev, err := s.commit(ctx, cid,
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(headKey(zoneID)), "=", headRev)},
			append([]clientv3.Op{
				clientv3.OpPut(logKey(zoneID, nh.Seq), mustJSON(entry)),
				clientv3.OpPut(headKey(zoneID), mustJSON(nh)),
				clientv3.OpPut(changeKey(cid), mustJSON(rec), clientv3.WithLease(lease)),
			}, checkOps...))
		if err != nil {
			return zones.ChangeInfo{}, err
		}
		if rev != 0 {
			s.metrics.commits.WithLabelValues("batch", "ok").Inc()
			s.waitMirror(ctx, rev)
			if int(nh.Seq-nh.BaseSeq) > s.o.FoldEntries {
				if err := s.fold(ctx, zoneID); err != nil {
					s.log.Warn("folding the change log failed; will retry on a later change", "zone", zoneID, "err", err)
				}
			}
			return s.changeInfo(ctx, rec, rev), nil
		}
		// Another writer changed the zone since our Mirror read it.
		s.metrics.commits.WithLabelValues("batch", "conflict").Inc()
		s.catchUp(ctx)
	}
	return zones.ChangeInfo{}, zones.Errorf(zones.CodePriorRequestNotComplete, "the zone is being changed by other requests; retry")
}

// MaxInlineChecks bounds the inline health checks one batch creates, updates
// or deletes: each is one more operation in the batch's transaction, which
// must stay within etcd's default 128.
const MaxInlineChecks = 100

// inlineChecks validates the health checks that record sets carry inline and
// returns the etcd operations that create, update or delete them with the
// batch, in its transaction. The caller holds the Mirror's read lock.
func inlineChecks(z *zoneData, ops []zones.Op) ([]zones.Op, []clientv3.Op, error) {
	var (
		msgs  []string
		now   = time.Now().UTC().Truncate(time.Millisecond)
		order []string
		last  = map[string]clientv3.Op{} // one operation per check: etcd refuses a key twice in a txn
	)
	emit := func(id string, op clientv3.Op) {
		if _, ok := last[id]; !ok {
			order = append(order, id)
		}
		last[id] = op
	}
	for i, op := range ops {
		old := z.Get(op.Set.Key())
		if op.Delete {
			if op.Set.HealthCheck != nil {
				emit(op.Set.CheckID, clientv3.OpDelete(healthcheck.ChecksPrefix+op.Set.CheckID))
			}
			continue
		}
		if op.Set.HealthCheck == nil {
			if old != nil && old.HealthCheck != nil {
				emit(old.CheckID, clientv3.OpDelete(healthcheck.ChecksPrefix+old.CheckID))
			}
			continue
		}
		cfg, err := healthcheck.Normalize(*op.Set.HealthCheck)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("%s %s %q: healthCheck: %v", op.Set.Name, op.Set.Type, op.Set.SetIdentifier, err))
			continue
		}
		if cfg.Type == healthcheck.TypeCalculated {
			msgs = append(msgs, fmt.Sprintf("%s %s %q: healthCheck: an inline check cannot be CALCULATED; create it through /v1/healthchecks and use healthCheckId", op.Set.Name, op.Set.Type, op.Set.SetIdentifier))
			continue
		}
		n := *op.Set
		n.HealthCheck = &cfg
		ops[i].Set = &n
		hc := healthcheck.HealthCheck{ID: n.CheckID, CallerReference: "inline:" + z.meta.ID + ":" + n.Name + ":" + n.Type + ":" + n.SetIdentifier,
			Config: cfg, Version: 1, CreatedAt: now}
		if cfg.Type == healthcheck.TypeRoutingControl {
			hc.RoutingControlState = healthcheck.StateOn
		}
		emit(n.CheckID, clientv3.OpPut(healthcheck.ChecksPrefix+n.CheckID, mustJSON(hc)))
	}
	out := make([]clientv3.Op, 0, len(order))
	for _, id := range order {
		out = append(out, last[id])
	}
	if len(out) > MaxInlineChecks {
		msgs = append(msgs, fmt.Sprintf("changes: the batch creates, updates or deletes %d inline health checks, at most %d are allowed", len(out), MaxInlineChecks))
	}
	if len(msgs) > 0 {
		return nil, nil, &zones.Error{Code: zones.CodeInvalidChangeBatch, Message: "invalid inline health checks; nothing was changed", Messages: msgs}
	}
	return ops, out, nil
}

// CheckUsers names the record sets that route on health check id (as
// healthCheckId or as their inline check); healthcheck's store refuses to
// delete a check in use.
func (s *Store) CheckUsers(ctx context.Context, id string) (string, error) {
	s.m.mu.RLock()
	defer s.m.mu.RUnlock()
	for _, z := range s.m.zones {
		for _, at := range z.names {
			for _, set := range at {
				if set.CheckID == id {
					return fmt.Sprintf("record set %s %s %q in zone %s", set.Name, set.Type, set.SetIdentifier, z.meta.Name), nil
				}
			}
		}
	}
	return "", nil
}

// ImportZoneFile replaces the zone's data with a zone file's, atomically.
// The file's apex SOA (serial as written) and NS replace the current ones;
// without apex NS in the file the current NS are kept.
func (s *Store) ImportZoneFile(ctx context.Context, zoneID string, r io.Reader, who string) (zones.ChangeInfo, error) {
	var origin string
	if !s.readFresh(ctx, zoneID, func(z *zoneData) { origin = z.meta.Name }) {
		return zones.ChangeInfo{}, noZone(zoneID)
	}
	sets, err := zones.ParseZoneFile(r, origin)
	if err != nil {
		return zones.ChangeInfo{}, err
	}
	hasNS := false
	for _, set := range sets {
		if set.Name == origin && set.Qtype == dns.TypeNS {
			hasNS = true
		}
	}
	l := s.zoneLock(zoneID)
	l.Lock()
	defer l.Unlock()
	cid := NewID("C")
	for attempt := 0; attempt < 10; attempt++ {
		var h head
		var headRev int64
		var ns *zones.Set
		if !s.readFresh(ctx, zoneID, func(z *zoneData) {
			h, headRev = z.head, z.headRev
			ns = z.Get(zones.SetKey{Name: origin, Type: "NS"})
		}) {
			return zones.ChangeInfo{}, noZone(zoneID)
		}
		all := sets
		if !hasNS && ns != nil {
			all = append(append([]*zones.Set(nil), sets...), ns)
		}
		gen := newGen()
		chunks, err := s.writeBlobs(ctx, zoneID, gen, all)
		if err != nil {
			s.dropBlobs(zoneID, gen)
			return zones.ChangeInfo{}, err
		}
		nh := h
		nh.Seq++
		entry := logEntry{Seq: nh.Seq, ChangeID: cid, At: time.Now().UTC(), Replace: &blobRef{Gen: gen, Chunks: chunks}}
		now := time.Now().UTC().Truncate(time.Millisecond)
		rec := changeRecord{ID: cid, ZoneID: zoneID, SubmittedAt: now, Comment: fmt.Sprintf("zone file import: %d record sets", len(all)), Who: who}
		lease, err := s.changesLease(ctx)
		if err != nil {
			s.dropBlobs(zoneID, gen)
			return zones.ChangeInfo{}, storeErr("import", err)
		}
		rev, err := s.commit(ctx, cid,
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(headKey(zoneID)), "=", headRev)},
			[]clientv3.Op{
				clientv3.OpPut(logKey(zoneID, nh.Seq), mustJSON(entry)),
				clientv3.OpPut(headKey(zoneID), mustJSON(nh)),
				clientv3.OpPut(changeKey(cid), mustJSON(rec), clientv3.WithLease(lease)),
			})
		if err != nil {
			if zones.CodeOf(err) != zones.CodeServiceUnavailable {
				s.dropBlobs(zoneID, gen)
			}
			return zones.ChangeInfo{}, err
		}
		if rev != 0 {
			s.waitMirror(ctx, rev)
			if err := s.fold(ctx, zoneID); err != nil {
				s.log.Warn("folding after import failed; will retry on a later change", "zone", zoneID, "err", err)
			}
			return s.changeInfo(ctx, rec, rev), nil
		}
		s.dropBlobs(zoneID, gen)
		s.catchUp(ctx)
	}
	return zones.ChangeInfo{}, zones.Errorf(zones.CodePriorRequestNotComplete, "the zone is being changed by other requests; retry")
}

// writeBlobs writes sets as JSON chunks of at most ChunkBytes under a blob
// generation nobody references yet, one put per request.
func (s *Store) writeBlobs(ctx context.Context, zid, gen string, sets []*zones.Set) (int, error) {
	if err := s.checkReachable(); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	chunk := 0
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		buf.WriteByte(']')
		c, cancel := s.ctx(ctx)
		defer cancel()
		if _, err := s.cli.Put(c, blobKey(zid, gen, chunk), buf.String()); err != nil {
			return storeErr("write zone chunk", err)
		}
		chunk++
		buf.Reset()
		return nil
	}
	for _, set := range sets {
		b, err := json.Marshal(set.RecordSet)
		if err != nil {
			return 0, err
		}
		if buf.Len() > 0 && buf.Len()+len(b)+2 > s.o.ChunkBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		if buf.Len() == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return chunk, nil
}

// dropBlobs deletes an unreferenced blob generation, best effort.
func (s *Store) dropBlobs(zid, gen string) {
	c, cancel := context.WithTimeout(context.Background(), s.o.RequestTimeout)
	defer cancel()
	if _, err := s.cli.Delete(c, blobGenPrefix(zid, gen), clientv3.WithPrefix()); err != nil {
		s.log.Warn("could not delete unused zone chunks", "zone", zid, "gen", gen, "err", err)
	}
}

// fold moves the zone's log into a new base so that a full sync reads few
// entries. If the last entry is an import, its chunks become the base as
// they are; otherwise the Mirror's copy of the zone is written as a new
// generation. The caller holds the zone's lock and its Mirror is current.
func (s *Store) fold(ctx context.Context, zid string) error {
	var (
		h       head
		headRev int64
		sets    []*zones.Set
	)
	if !s.m.read(zid, func(z *zoneData) { h, headRev, sets = z.head, z.headRev, z.allSets() }) {
		return nil
	}
	if h.Seq == h.BaseSeq {
		return nil
	}
	c, cancel := s.ctx(ctx)
	resp, err := s.cli.Get(c, logKey(zid, h.BaseSeq+1), clientv3.WithRange(logKey(zid, h.Seq+1)))
	cancel()
	if err != nil {
		return err
	}
	var last *logEntry
	gens := []string{}
	for _, kv := range resp.Kvs {
		var e logEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return err
		}
		if e.Replace != nil {
			gens = append(gens, e.Replace.Gen)
		}
		last = &e
	}
	nh := head{BaseSeq: h.Seq, Seq: h.Seq}
	if last != nil && last.Seq == h.Seq && last.Replace != nil {
		nh.Base, nh.Chunks = last.Replace.Gen, last.Replace.Chunks
		gens = gens[:len(gens)-1]
	} else {
		nh.Base = newGen()
		n, err := s.writeBlobs(ctx, zid, nh.Base, sets)
		if err != nil {
			s.dropBlobs(zid, nh.Base)
			return err
		}
		nh.Chunks = n
	}
	if h.Base != "" {
		gens = append(gens, h.Base)
	}
	thens := []clientv3.Op{
		clientv3.OpPut(headKey(zid), mustJSON(nh)),
		clientv3.OpDelete(logKey(zid, 0), clientv3.WithRange(logKey(zid, h.Seq+1))),
	}
	c, cancel = s.ctx(ctx)
	tr, err := s.cli.Txn(c).If(clientv3.Compare(clientv3.ModRevision(headKey(zid)), "=", headRev)).Then(thens...).Commit()
	cancel()
	if err != nil || !tr.Succeeded {
		if nh.Base != h.Base && (last == nil || last.Replace == nil || nh.Base != last.Replace.Gen) {
			s.dropBlobs(zid, nh.Base)
		}
		return err
	}
	for _, g := range gens {
		s.dropBlobs(zid, g)
	}
	s.waitMirror(ctx, tr.Header.Revision)
	return nil
}

// ExportZoneFile writes the zone as an RFC 1035 master file.
func (s *Store) ExportZoneFile(ctx context.Context, zoneID string, w io.Writer) error {
	var origin string
	var sets []*zones.Set
	if !s.readFresh(ctx, zoneID, func(z *zoneData) { origin, sets = z.meta.Name, z.allSets() }) {
		return noZone(zoneID)
	}
	return zones.WriteZoneFile(w, origin, sets)
}

// ListRecordSets returns a page of the zone's record sets in Route 53's
// order, starting at the first set at or after (Name, Type, Identifier).
func (s *Store) ListRecordSets(ctx context.Context, zoneID string, in zones.ListRecordSetsInput) (zones.RecordSetPage, error) {
	if in.MaxItems <= 0 || in.MaxItems > 300 {
		in.MaxItems = 300
	}
	if in.Type != "" && in.Name == "" {
		return zones.RecordSetPage{}, zones.Errorf(zones.CodeInvalidInput, "type: a start type needs a start name")
	}
	if in.Identifier != "" && in.Type == "" {
		return zones.RecordSetPage{}, zones.Errorf(zones.CodeInvalidInput, "identifier: a start identifier needs a start name and type")
	}
	var start zones.SetKey
	if in.Name != "" {
		n, err := zones.CanonicalName(in.Name)
		if err != nil {
			return zones.RecordSetPage{}, zones.Errorf(zones.CodeInvalidInput, "name: %v", err)
		}
		start.Name = n
	}
	if in.Type != "" {
		_, t, err := zones.TypeCode(in.Type)
		if err != nil {
			return zones.RecordSetPage{}, zones.Errorf(zones.CodeInvalidInput, "type: %v", err)
		}
		start.Type = t
	}
	start.SetID = in.Identifier
	page := zones.RecordSetPage{RecordSets: []zones.RecordSet{}}
	if !s.m.readSorted(zoneID, func(z *zoneData) {
		keys := z.sortedKeys()
		i := 0
		if start.Name != "" {
			i = sort.Search(len(keys), func(i int) bool { return !zones.LessKey(keys[i], start) })
		}
		for ; i < len(keys) && len(page.RecordSets) < in.MaxItems; i++ {
			page.RecordSets = append(page.RecordSets, z.Get(keys[i]).RecordSet)
		}
		if i < len(keys) {
			page.IsTruncated = true
			page.NextName, page.NextType, page.NextIdentifier = keys[i].Name, keys[i].Type, keys[i].SetID
		}
	}) {
		return page, noZone(zoneID)
	}
	return page, nil
}

// GetChange returns a change's status: INSYNC once every live DNS node
// serves the revision the change was committed at.
func (s *Store) GetChange(ctx context.Context, id string) (zones.ChangeInfo, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, changeKey(id))
	if err != nil {
		return zones.ChangeInfo{}, storeErr("get change", err)
	}
	if len(resp.Kvs) == 0 {
		return zones.ChangeInfo{}, zones.Errorf(zones.CodeNoSuchChange, "no change found with id %s (changes are kept for %s)", id, s.o.ChangeTTL)
	}
	var rec changeRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return zones.ChangeInfo{}, fmt.Errorf("decode change %s: %w", id, err)
	}
	return s.changeInfo(ctx, rec, resp.Kvs[0].ModRevision), nil
}

func (s *Store) changeInfo(ctx context.Context, rec changeRecord, rev int64) zones.ChangeInfo {
	ci := zones.ChangeInfo{ID: rec.ID, Status: zones.StatusPending, SubmittedAt: rec.SubmittedAt, Comment: rec.Comment}
	if ok, err := s.servedEverywhere(ctx, rev); err == nil && ok {
		ci.Status = zones.StatusInsync
		s.observeInsync(rec)
	} else if s.pendingN.Load() < maxPendingTracked {
		if _, loaded := s.pending.LoadOrStore(rec.ID, struct{}{}); !loaded {
			s.pendingN.Add(1)
		}
	}
	return ci
}

// maxPendingTracked bounds the changes remembered as PENDING (changes nobody
// polls to INSYNC would otherwise pile up).
const maxPendingTracked = 10000

// observeInsync records, once per change seen PENDING by this node, the time
// from its submission to the first read that found it INSYNC. It is an upper
// bound that is as tight as clients poll (GetChange, the SDK's waiter).
func (s *Store) observeInsync(rec changeRecord) {
	if _, seen := s.pending.LoadAndDelete(rec.ID); seen {
		s.pendingN.Add(-1)
		s.metrics.insync.Observe(time.Since(rec.SubmittedAt).Seconds())
	}
}

// servedEverywhere reports whether every live DNS node serves rev.
func (s *Store) servedEverywhere(ctx context.Context, rev int64) (bool, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, NodesPrefix, clientv3.WithPrefix())
	if err != nil {
		return false, err
	}
	for _, kv := range resp.Kvs {
		var ns nodeStatus
		if err := json.Unmarshal(kv.Value, &ns); err != nil {
			return false, err
		}
		if ns.Revision < rev {
			return false, nil
		}
	}
	return true, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// UpdateZoneComment sets a zone's comment.
func (s *Store) UpdateZoneComment(ctx context.Context, id, comment string) (zones.Zone, error) {
	if len(comment) > 256 {
		return zones.Zone{}, zones.Errorf(zones.CodeInvalidInput, "comment: at most 256 characters")
	}
	return s.updateMeta(ctx, id, func(m *zoneMeta) error { m.Comment = comment; return nil })
}

// ChangeZoneTags adds (or replaces) and removes tags of a zone, as Route 53's
// ChangeTagsForResource does: at most 50 tags, keys up to 128 and values up
// to 256 characters.
func (s *Store) ChangeZoneTags(ctx context.Context, id string, add map[string]string, remove []string) (zones.Zone, error) {
	return s.updateMeta(ctx, id, func(m *zoneMeta) error {
		tags := make(map[string]string, len(m.Tags)+len(add))
		for k, v := range m.Tags {
			tags[k] = v
		}
		for _, k := range remove {
			delete(tags, k)
		}
		for k, v := range add {
			if k == "" || len(k) > 128 {
				return zones.Errorf(zones.CodeInvalidInput, "tag key %q: 1 to 128 characters", k)
			}
			if len(v) > 256 {
				return zones.Errorf(zones.CodeInvalidInput, "tag %q: value longer than 256 characters", k)
			}
			tags[k] = v
		}
		if len(tags) > 50 {
			return zones.Errorf(zones.CodeInvalidInput, "tags: at most 50 per zone, got %d", len(tags))
		}
		m.Tags = tags
		return nil
	})
}

// updateMeta applies f to the zone's metadata with a compare-and-swap on it.
func (s *Store) updateMeta(ctx context.Context, id string, f func(*zoneMeta) error) (zones.Zone, error) {
	for attempt := 0; attempt < 5; attempt++ {
		c, cancel := s.ctx(ctx)
		resp, err := s.cli.Get(c, metaKey(id))
		cancel()
		if err != nil {
			return zones.Zone{}, storeErr("read zone", err)
		}
		if len(resp.Kvs) == 0 {
			return zones.Zone{}, noZone(id)
		}
		var m zoneMeta
		if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
			return zones.Zone{}, fmt.Errorf("decode zone %s: %w", id, err)
		}
		if err := f(&m); err != nil {
			return zones.Zone{}, err
		}
		c, cancel = s.ctx(ctx)
		tr, err := s.cli.Txn(c).If(clientv3.Compare(clientv3.ModRevision(metaKey(id)), "=", resp.Kvs[0].ModRevision)).
			Then(clientv3.OpPut(metaKey(id), mustJSON(m))).Commit()
		cancel()
		if err != nil {
			return zones.Zone{}, storeErr("update zone", err)
		}
		if tr.Succeeded {
			s.waitMirror(ctx, tr.Header.Revision)
			return s.GetZone(ctx, id)
		}
	}
	return zones.Zone{}, zones.Errorf(zones.CodePriorRequestNotComplete, "the zone is being changed by other requests; retry")
}

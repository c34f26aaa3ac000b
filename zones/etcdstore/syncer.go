package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/healthdns/healthdns/internal/etcderr"
	"github.com/healthdns/healthdns/zones"
)

// Sync states reported by SyncState.
const (
	StateStarting    = "starting"
	StateInSync      = "in sync"
	StateCatchingUp  = "catching up"
	StateUnreachable = "etcd unreachable"
	// StateLocalCopy: etcd has not been reached since the start; the node
	// serves the copy of its last data kept in its data directory.
	StateLocalCopy = "serving local copy"
)

// SyncStatus is what /healthz reports of the sync with etcd.
type SyncStatus struct {
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Revision  int64     `json:"revision"`
	LastError string    `json:"lastError,omitempty"`
	// EtcdReachable is the result of the last probe of etcd (every second);
	// UnreachableSince is when probes started failing.
	EtcdReachable    bool       `json:"etcdReachable"`
	UnreachableSince *time.Time `json:"unreachableSince,omitempty"`
}

// SyncerOptions configure a Syncer.
type SyncerOptions struct {
	Client *clientv3.Client
	Mirror *Mirror
	Logger *slog.Logger
	// OnDelta receives every change, in order, on the Syncer's goroutine:
	// after a full sync, one Reset per zone (and Removed for zones gone).
	OnDelta func(rev int64, deltas []zones.ZoneDelta)
	// OnRevision is told each data revision the Mirror reaches.
	OnRevision func(rev int64)
	// Registerer receives the sync metrics (nil: none).
	Registerer prometheus.Registerer
	// CIDR, if set, is kept equal to the CIDR collections in etcd.
	CIDR *CIDRTable
	// PageSize is the number of keys per read while listing (default 500).
	PageSize int64
	// CachePath, if set, is where the Mirror is saved (atomically, at most
	// every CacheInterval) and loaded from at start, so that the node
	// answers with its last data while etcd is away.
	CachePath     string
	CacheInterval time.Duration // default 5s
}

// Syncer keeps a Mirror equal to etcd by list-then-watch.
type Syncer struct {
	o         SyncerOptions
	log       *slog.Logger
	mu        sync.Mutex
	status    SyncStatus
	reachable atomic.Bool
	metrics   *syncMetrics
}

// NewSyncer returns a Syncer; Run starts it.
func NewSyncer(o SyncerOptions) *Syncer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.PageSize == 0 {
		o.PageSize = 500
	}
	s := &Syncer{o: o, log: o.Logger, status: SyncStatus{State: StateStarting, Since: time.Now()}, metrics: newSyncMetrics(o.Registerer)}
	s.metrics.setState(StateStarting)
	s.reachable.Store(true) // until the first probe says otherwise
	return s
}

// Status returns the sync state.
func (s *Syncer) Status() SyncStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Revision = s.o.Mirror.Revision()
	if st.EtcdReachable = s.reachable.Load(); st.EtcdReachable {
		st.UnreachableSince = nil
	} else if st.State == StateInSync && st.UnreachableSince != nil {
		// The watch may not have noticed yet (a partition drops packets
		// rather than closing the connection): the probe knows better.
		st.State, st.Since = StateUnreachable, *st.UnreachableSince
	}
	return st
}

// Reachable reports whether the last probe of etcd succeeded.
func (s *Syncer) Reachable() bool { return s.reachable.Load() }

// probeLoop checks every second that etcd answers a linearizable read, so
// that /healthz and the API can tell an outage without waiting on a watch.
func (s *Syncer) probeLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		c, cancel := context.WithTimeout(ctx, time.Second)
		_, err := s.o.Client.Get(c, Root+"probe", clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		ok := err == nil
		if was := s.reachable.Swap(ok); was != ok {
			s.mu.Lock()
			if !ok {
				now := time.Now()
				s.status.UnreachableSince = &now
				s.log.Warn("etcd unreachable; DNS answers from the last data", "err", err)
			} else {
				s.status.UnreachableSince = nil
				s.log.Info("etcd reachable again")
			}
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Syncer) setState(state string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != state {
		s.status.State = state
		s.status.Since = time.Now()
		s.metrics.setState(state)
	}
	s.status.LastError = ""
	if err != nil {
		s.status.LastError = err.Error()
	}
}

// Run lists and watches until ctx ends. Errors are retried with backoff; the
// Mirror keeps serving its last data meanwhile.
func (s *Syncer) Run(ctx context.Context) error {
	probed := make(chan struct{})
	defer func() { <-probed }()
	go func() { defer close(probed); s.probeLoop(ctx) }()
	if s.o.CachePath != "" {
		saved := make(chan struct{})
		defer func() { <-saved }()
		go func() { defer close(saved); s.saveLoop(ctx) }()
	}
	backoff := 100 * time.Millisecond
	triedCache := false
	for ctx.Err() == nil {
		timeout := 10 * time.Second
		if !triedCache && s.o.CachePath != "" {
			timeout = 2 * time.Second // at start, don't keep the local copy waiting
		}
		rev, err := s.fullSync(ctx, timeout)
		if err != nil && !triedCache && s.o.CachePath != "" {
			triedCache = true
			if crev, deltas, cerr := s.loadCache(s.o.CachePath); cerr == nil {
				s.emit(crev, deltas)
				s.setState(StateLocalCopy, err)
				s.log.Warn("etcd unreachable at start: serving the local copy of the last data", "path", s.o.CachePath, "revision", crev, "zones", len(deltas), "err", err)
			} else if !errors.Is(cerr, os.ErrNotExist) {
				s.log.Error("local copy unusable", "path", s.o.CachePath, "err", cerr)
			}
		}
		if err == nil {
			triedCache = true // synced: the local copy is only for a start without etcd
			backoff = 100 * time.Millisecond
			s.setState(StateInSync, nil)
			err = s.watch(ctx, rev)
		}
		if ctx.Err() != nil {
			break
		}
		state := StateCatchingUp
		if etcderr.Unavailable(err) {
			state = StateUnreachable
		}
		if s.o.Mirror.FromCache() {
			state = StateLocalCopy
		}
		s.setState(state, err)
		s.log.Warn("etcd sync interrupted; serving last data and retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

// fullSync reads the whole data prefix at one revision into a new set of
// zones and swaps it into the Mirror.
func (s *Syncer) fullSync(ctx context.Context, timeout time.Duration) (int64, error) {
	cli := s.o.Client
	metas := map[string]zoneMeta{}
	heads := map[string]head{}
	headRevs := map[string]int64{}
	logs := map[string][]logEntry{}
	colls := map[string]zones.CidrCollection{}
	var rev int64
	key := DataPrefix
	end := clientv3.GetPrefixRangeEnd(DataPrefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.o.PageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		c, cancel := context.WithTimeout(ctx, timeout)
		resp, err := cli.Get(c, key, opts...)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", DataPrefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			k := string(kv.Key)
			switch {
			case strings.HasPrefix(k, metaPrefix):
				var m zoneMeta
				if err := json.Unmarshal(kv.Value, &m); err != nil {
					return 0, fmt.Errorf("decode %s: %w", k, err)
				}
				metas[m.ID] = m
			case strings.HasPrefix(k, headPrefix):
				var h head
				if err := json.Unmarshal(kv.Value, &h); err != nil {
					return 0, fmt.Errorf("decode %s: %w", k, err)
				}
				zid := k[len(headPrefix):]
				heads[zid], headRevs[zid] = h, kv.ModRevision
			case strings.HasPrefix(k, cidrPrefix):
				var c zones.CidrCollection
				if err := json.Unmarshal(kv.Value, &c); err != nil {
					return 0, fmt.Errorf("decode %s: %w", k, err)
				}
				colls[c.ID] = c
			case strings.HasPrefix(k, logPrefix):
				var e logEntry
				if err := json.Unmarshal(kv.Value, &e); err != nil {
					return 0, fmt.Errorf("decode %s: %w", k, err)
				}
				zid := logZoneID(k)
				logs[zid] = append(logs[zid], e)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	built := make(map[string]*zoneData, len(metas))
	for zid, m := range metas {
		z := newZoneData()
		z.meta, z.head, z.headRev = m, heads[zid], headRevs[zid]
		s.o.Mirror.resetZone(z, 0)
		if z.head.Base != "" {
			if err := s.loadSets(ctx, zid, m.Name, z.head.Base, rev, func(sets []*zones.Set) { putAll(z, sets) }); err != nil {
				return 0, err
			}
		}
		for _, e := range logs[zid] {
			if e.Seq <= z.head.BaseSeq {
				continue
			}
			if e.Replace != nil {
				s.o.Mirror.resetZone(z, 0)
				if err := s.loadSets(ctx, zid, m.Name, e.Replace.Gen, rev, func(sets []*zones.Set) { putAll(z, sets) }); err != nil {
					return 0, err
				}
			}
			s.applyOps(z, e.Ops)
		}
		built[zid] = z
	}
	if s.o.CIDR != nil {
		s.o.CIDR.set(colls)
	}
	m := s.o.Mirror
	m.mu.Lock()
	var deltas []zones.ZoneDelta
	for zid, old := range m.zones {
		if _, ok := built[zid]; !ok && old.meta.ID != "" {
			deltas = append(deltas, zones.ZoneDelta{ZoneID: zid, Origin: old.meta.Name, Removed: true})
		}
	}
	byName := make(map[string]string, len(built))
	for zid, z := range built {
		byName[z.meta.Name] = zid
		deltas = append(deltas, z.resetDelta(zid))
		m.built(z)
	}
	m.zones, m.byName = built, byName
	if rev > m.rev || m.fromCache {
		m.rev = rev
	}
	m.synced, m.fromCache = true, false
	m.cond.Broadcast()
	m.mu.Unlock()
	s.emit(rev, deltas)
	s.metrics.fullSyncs.Inc()
	s.log.Info("synced zones from etcd", "zones", len(built), "revision", rev)
	return rev, nil
}

// saveLoop writes the local cache after changes, at most every CacheInterval.
func (s *Syncer) saveLoop(ctx context.Context) {
	every := s.o.CacheInterval
	if every == 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var saved int64 = -1
	save := func() {
		m := s.o.Mirror
		if !m.Synced() || m.FromCache() || m.Revision() == saved {
			return
		}
		rev := m.Revision()
		if err := m.SaveCache(s.o.CachePath); err != nil {
			s.log.Error("could not save the local copy", "path", s.o.CachePath, "err", err)
			return
		}
		saved = rev
	}
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-t.C:
			save()
		}
	}
}

func (s *Syncer) emit(rev int64, deltas []zones.ZoneDelta) {
	if s.o.OnDelta != nil && len(deltas) > 0 {
		s.o.OnDelta(rev, deltas)
	}
	s.metrics.revision.Set(float64(rev))
	m := s.o.Mirror
	m.mu.RLock()
	nz, ns := 0, 0
	for _, z := range m.zones {
		if z.meta.ID != "" {
			nz++
			ns += m.setCount(z)
		}
	}
	m.mu.RUnlock()
	s.metrics.zones.Set(float64(nz))
	s.metrics.recordSets.Set(float64(ns))
	if s.o.OnRevision != nil {
		s.o.OnRevision(rev)
	}
}

// decodeOne decodes a record set as stored; one that does not parse is
// logged (what says where it came from) and skipped.
func (s *Syncer) decodeOne(rs zones.RecordSet, origin, what string) (*zones.Set, bool) {
	set, err := zones.DecodeRecordSet(rs, origin)
	if err != nil {
		s.log.Error(what+" record set does not parse; skipped", "zone", origin, "name", rs.Name, "type", rs.Type, "err", err)
		return nil, false
	}
	return set, true
}

// putDecoded decodes record sets read as they are stored (from etcd, or
// the local copy: what names where they came from in the log) into z;
// those that do not parse are logged and skipped.
func (s *Syncer) putDecoded(z *zoneData, rss []zones.RecordSet, what string) {
	for _, rs := range rss {
		if set, ok := s.decodeOne(rs, z.meta.Name, what); ok {
			z.put(set)
		}
	}
}

// putAll adds decoded record sets to z.
func putAll(z *zoneData, sets []*zones.Set) {
	for _, set := range sets {
		z.put(set)
	}
}

// applyOps applies a log entry's operations to z and returns them as a delta.
func (s *Syncer) applyOps(z *zoneData, ops []logOp) (put []*zones.Set, del []zones.SetKey) {
	for _, op := range ops {
		if op.Delete {
			k := zones.SetKey{Name: op.Set.Name, Type: op.Set.Type, SetID: op.Set.SetIdentifier}
			z.del(k)
			del = append(del, k)
			continue
		}
		set, ok := s.decodeOne(op.Set, z.meta.Name, "stored")
		if !ok {
			continue
		}
		z.put(set)
		put = append(put, set)
	}
	return put, del
}

// eachBlobPage reads the chunks of a blob generation at revision rev, up
// to limit a request, and hands each page to f.
func (s *Syncer) eachBlobPage(ctx context.Context, zid, gen string, rev, limit int64, f func(kvs []*mvccpb.KeyValue) error) error {
	prefix := blobGenPrefix(zid, gen)
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	for {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := s.o.Client.Get(c, key, clientv3.WithRange(end), clientv3.WithLimit(limit), clientv3.WithRev(rev))
		cancel()
		if err != nil {
			return fmt.Errorf("read blobs %s: %w", prefix, err)
		}
		if err := f(resp.Kvs); err != nil {
			return err
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// loadSets reads the chunks of a blob generation at revision rev and
// decodes them, up to GOMAXPROCS chunks at once (JSON and record parsing
// are most of a large zone's sync time), handing each chunk's record sets
// to put in key order. Only one page of chunks is held at a time.
func (s *Syncer) loadSets(ctx context.Context, zid, origin, gen string, rev int64, put func([]*zones.Set)) error {
	procs := runtime.GOMAXPROCS(0)
	return s.eachBlobPage(ctx, zid, gen, rev, int64(max(4, procs)), func(kvs []*mvccpb.KeyValue) error {
		out := make([][]*zones.Set, len(kvs))
		var g errgroup.Group
		g.SetLimit(procs)
		for i, kv := range kvs {
			g.Go(func() (err error) {
				out[i], err = s.decodeChunk(kv.Key, kv.Value, origin)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i := range out {
			put(out[i])
			out[i] = nil
		}
		return nil
	})
}

// replacement returns zone zid's contents after a replacing import of
// blob generation gen, held as the zone holds them (see resetZone), for
// the zone to adopt under the Mirror's lock. meta is the zone's metadata;
// without it no record set can be decoded, and the zone is emptied.
func (s *Syncer) replacement(ctx context.Context, zid string, meta zoneMeta, gen string, rev int64) (*zoneData, error) {
	z := &zoneData{meta: meta}
	s.o.Mirror.resetZone(z, 0)
	if meta.Name == "" {
		s.log.Error("replacing import of a zone without metadata; its record sets are skipped", "zone", zid)
		return z, nil
	}
	return z, s.loadSets(ctx, zid, meta.Name, gen, rev, func(sets []*zones.Set) { putAll(z, sets) })
}

// eachStored calls f with each record set of a blob chunk, decoding one
// element at a time: decoding the whole array into a []RecordSet grows it by
// copying, which was half of all allocation in a 1M-name sync.
func eachStored(key, value []byte, f func(zones.RecordSet)) error {
	dec := json.NewDecoder(bytes.NewReader(value))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return fmt.Errorf("decode %s: not a JSON array of record sets (%v)", key, err)
	}
	for dec.More() {
		var rs zones.RecordSet
		if err := dec.Decode(&rs); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		f(rs)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// decodeChunk decodes one blob chunk; record sets that do not parse are
// logged and skipped, as everywhere the syncer reads stored data.
func (s *Syncer) decodeChunk(key, value []byte, origin string) ([]*zones.Set, error) {
	var sets []*zones.Set
	err := eachStored(key, value, func(rs zones.RecordSet) {
		if set, ok := s.decodeOne(rs, origin, "stored"); ok {
			sets = append(sets, set)
		}
	})
	return sets, err
}

// watch applies events after rev until the watch fails or ctx ends.
func (s *Syncer) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.o.Client.Watch(wctx, DataPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for wr := range wch {
		if wr.CompactRevision != 0 {
			return fmt.Errorf("watch: revision %d compacted", wr.CompactRevision)
		}
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		if err := s.applyEvents(ctx, wr.Events); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("watch closed")
}

func (s *Syncer) applyEvents(ctx context.Context, events []*clientv3.Event) error {
	if len(events) == 0 {
		return nil
	}
	// Decode the batch, and fetch, decode and index what replacing imports
	// reference, before taking the Mirror's lock, which a large zone's
	// import would otherwise keep from every API read for as long. An
	// import needs its zone's metadata: from an event earlier in this batch,
	// or else the Mirror's.
	m := s.o.Mirror
	metas := map[int]*zoneMeta{}    // by event: metadata puts that decode
	entries := map[int]*logEntry{}  // by event: log entries that decode
	replaced := map[int]*zoneData{} // by event: a zone's contents after a replacing import
	known := map[string]zoneMeta{}  // zone id -> its metadata as of the event being read
	for i, ev := range events {
		k := string(ev.Kv.Key)
		switch {
		case strings.HasPrefix(k, metaPrefix):
			zid := k[len(metaPrefix):]
			if ev.Type != clientv3.EventTypePut {
				known[zid] = zoneMeta{} // deleted
				continue
			}
			var meta zoneMeta
			if err := json.Unmarshal(ev.Kv.Value, &meta); err != nil {
				s.log.Error("undecodable zone; skipped", "key", k, "err", err)
				continue
			}
			metas[i], known[zid] = &meta, meta
		case ev.Type == clientv3.EventTypePut && strings.HasPrefix(k, logPrefix):
			var e logEntry
			if err := json.Unmarshal(ev.Kv.Value, &e); err != nil {
				s.log.Error("undecodable log entry; skipped", "key", k, "err", err)
				continue
			}
			entries[i] = &e
			if e.Replace == nil {
				continue
			}
			zid := logZoneID(k)
			meta, ok := known[zid]
			if !ok {
				m.read(zid, func(z *zoneData) { meta = z.meta })
			}
			z, err := s.replacement(ctx, zid, meta, e.Replace.Gen, ev.Kv.ModRevision)
			if err != nil {
				return err
			}
			replaced[i] = z
		}
	}
	var deltas []zones.ZoneDelta
	var rev int64
	m.mu.Lock()
	locked := time.Now()
	for i, ev := range events {
		rev = max(rev, ev.Kv.ModRevision)
		k := string(ev.Kv.Key)
		switch {
		case strings.HasPrefix(k, cidrPrefix):
			if s.o.CIDR == nil {
				continue
			}
			if ev.Type == clientv3.EventTypeDelete {
				s.o.CIDR.del(k[len(cidrPrefix):])
				continue
			}
			var c zones.CidrCollection
			if err := json.Unmarshal(ev.Kv.Value, &c); err != nil {
				s.log.Error("undecodable CIDR collection; skipped", "key", k, "err", err)
				continue
			}
			s.o.CIDR.put(c)
		case strings.HasPrefix(k, metaPrefix):
			zid := k[len(metaPrefix):]
			if ev.Type == clientv3.EventTypeDelete {
				if z := m.zones[zid]; z != nil {
					delete(m.zones, zid)
					if m.byName[z.meta.Name] == zid {
						delete(m.byName, z.meta.Name)
					}
					if z.meta.ID != "" {
						deltas = append(deltas, zones.ZoneDelta{ZoneID: zid, Origin: z.meta.Name, Removed: true})
					}
				}
				continue
			}
			meta := metas[i]
			if meta == nil {
				continue // undecodable, logged above
			}
			z := m.zone(zid)
			isNew := z.meta.ID == ""
			z.meta = *meta
			m.byName[meta.Name] = zid
			if isNew {
				deltas = append(deltas, z.resetDelta(zid))
				m.built(z)
			}
		case strings.HasPrefix(k, headPrefix):
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			var h head
			if err := json.Unmarshal(ev.Kv.Value, &h); err != nil {
				s.log.Error("undecodable head; skipped", "key", k, "err", err)
				continue
			}
			z := m.zone(k[len(headPrefix):])
			z.head, z.headRev = h, ev.Kv.ModRevision
		case strings.HasPrefix(k, logPrefix):
			e := entries[i]
			if e == nil {
				continue // a delete (fold) or undecodable
			}
			zid := logZoneID(k)
			z := m.zone(zid)
			var d zones.ZoneDelta
			nz, reset := replaced[i]
			if reset {
				z.adopt(nz)
			}
			put, del := s.applyOps(z, e.Ops)
			if reset {
				d = z.resetDelta(zid)
				if z.meta.ID != "" {
					m.built(z)
				}
			} else {
				d = zones.ZoneDelta{ZoneID: zid, Origin: z.meta.Name, Put: put, Del: del}
			}
			if z.meta.ID != "" {
				deltas = append(deltas, d)
			}
		}
	}
	if rev > m.rev {
		m.rev = rev
	}
	m.cond.Broadcast()
	held := time.Since(locked)
	m.mu.Unlock()
	// How long API reads waited on this batch (scripts/import-lock.sh).
	s.log.Debug("watch events applied", "events", len(events), "rev", rev, "locked", held)
	s.emit(rev, deltas)
	now := time.Now()
	for _, e := range entries {
		if !e.At.IsZero() {
			s.metrics.lag.Observe(max(0, now.Sub(e.At).Seconds()))
		}
	}
	return nil
}

// zone returns the zone zid, adding an empty one; the caller holds m.mu.
func (m *Mirror) zone(zid string) *zoneData {
	z := m.zones[zid]
	if z == nil {
		z = newZoneData()
		m.zones[zid] = z
	}
	return z
}

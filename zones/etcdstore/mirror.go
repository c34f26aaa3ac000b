package etcdstore

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/healthdns/healthdns/zones"
)

// Mirror is this node's in-memory copy of every zone, fed by the Syncer.
// API reads come from here; etcd is read only by the Syncer. Only the
// Syncer's goroutine changes a Mirror (sync, watch, the local copy), so
// what it reads of one before taking the write lock still holds under it.
type Mirror struct {
	mu     sync.RWMutex
	zones  map[string]*zoneData // by id
	byName map[string]string    // zone name -> id
	rev    int64                // highest data revision applied
	synced bool                 // serving data: synced from etcd, or loaded from the local cache
	// fromCache: the data came from the local cache and etcd has not been
	// reached since.
	fromCache bool
	cond      *sync.Cond
	// src, when set, makes the Mirror lean: the record sets live only in
	// src (the DNS answer table); zones keep an index only while a full
	// sync or reset builds them.
	src SetSource
}

// lean reports whether the record sets live only in the SetSource.
func (m *Mirror) lean() bool { return m.src != nil }

// SetSource is where a lean Mirror finds the record sets it does not keep:
// dnsserver.Table.
type SetSource interface {
	// EachRecordSet calls f with each record set of the zone until f fails;
	// f must not keep rs.
	EachRecordSet(origin string, f func(rs *zones.RecordSet) error) error
	RecordSetCount(origin string) int
	NewBuild(zoneID, origin string, sizeHint int) zones.ZoneBuild
}

// zoneData is one zone in the Mirror. Record sets are indexed by name only:
// most names hold one set, so a slice per name costs a fraction of a map
// per name (or of a map keyed by the whole SetKey), which matters at a
// million sets.
type zoneData struct {
	meta    zoneMeta
	head    head
	headRev int64 // ModRevision of the head key
	names   map[string][]*zones.Set
	build   zones.ZoneBuild // lean Mirror, while the zone is handed over: where sets go instead of names
	count   int             // record sets
	sorted  []zones.SetKey  // cache of keys in listing order; nil when stale
}

func newZoneData() *zoneData {
	return &zoneData{names: make(map[string][]*zones.Set)}
}

// reset empties the zone's record sets.
func (z *zoneData) reset(sizeHint int) {
	z.names, z.count, z.sorted = make(map[string][]*zones.Set, sizeHint), 0, nil
}

func sameKey(s *zones.Set, k zones.SetKey) bool {
	return s.Type == k.Type && s.SetIdentifier == k.SetID
}

func (z *zoneData) put(s *zones.Set) {
	if z.build != nil {
		z.build.Put(s) // errors surface when the delta is applied
		return
	}
	if z.names == nil {
		return // lean, built: the answer table holds it
	}
	k := s.Key()
	at := z.names[k.Name]
	for i, o := range at {
		if sameKey(o, k) {
			at[i] = s // the slice is this zoneData's own: replace in place
			z.sorted = nil
			return
		}
	}
	z.names[k.Name] = append(at, s)
	z.count++
	z.sorted = nil
}

func (z *zoneData) del(k zones.SetKey) {
	if z.build != nil {
		z.build.Del(k)
		return
	}
	if z.names == nil {
		return
	}
	at := z.names[k.Name]
	for i, o := range at {
		if sameKey(o, k) {
			if len(at) == 1 {
				delete(z.names, k.Name)
			} else {
				z.names[k.Name] = append(at[:i:i], at[i+1:]...)
			}
			z.count--
			z.sorted = nil
			return
		}
	}
}

// Get implements zones.SetReader.
func (z *zoneData) Get(k zones.SetKey) *zones.Set {
	for _, s := range z.names[k.Name] {
		if sameKey(s, k) {
			return s
		}
	}
	return nil
}

// AtName implements zones.SetReader.
func (z *zoneData) AtName(name string) []*zones.Set {
	return slices.Clone(z.names[name])
}

var _ zones.SetReader = (*zoneData)(nil)

// each calls f for every record set, in no order.
func (z *zoneData) each(f func(*zones.Set)) {
	for _, at := range z.names {
		for _, s := range at {
			f(s)
		}
	}
}

func (z *zoneData) sortedKeys() []zones.SetKey {
	if z.sorted == nil {
		keys := make([]zones.SetKey, 0, z.count)
		z.each(func(s *zones.Set) { keys = append(keys, s.Key()) })
		sort.Slice(keys, func(i, j int) bool { return zones.LessKey(keys[i], keys[j]) })
		z.sorted = keys
	}
	return z.sorted
}

func (z *zoneData) allSets() []*zones.Set {
	out := make([]*zones.Set, 0, z.count)
	z.each(func(s *zones.Set) { out = append(out, s) })
	return out
}

// zone describes z with count record sets (Mirror.setCount).
func (z *zoneData) zone(count int) zones.Zone {
	m := z.meta
	return zones.Zone{ID: m.ID, Name: m.Name, Comment: m.Comment, CallerReference: m.CallerReference,
		RecordSetCount: count, NameServers: append([]string(nil), m.NameServers...), Tags: m.Tags, CreatedAt: m.CreatedAt}
}

// NewLeanMirror returns an empty Mirror that keeps no record sets once a
// zone is built: for a node without the API (a DNS node), whose answer
// table src holds them anyway. Its reads (Get, AtName, listings) see no
// record sets; the local copy is written from src.
func NewLeanMirror(src SetSource) *Mirror {
	m := NewMirror()
	m.src = src
	return m
}

// resetZone empties z before it receives a zone's whole contents (a full
// sync, a replacing import, the local copy). A lean Mirror passes them
// straight to a build of its SetSource instead of indexing them, once it
// knows the zone (its metadata); until then, as always on a full Mirror,
// the zone gets a fresh index of sizeHint names.
func (m *Mirror) resetZone(z *zoneData, sizeHint int) {
	if m.lean() && z.meta.ID != "" {
		z.names, z.sorted, z.count = nil, nil, 0
		z.build = m.src.NewBuild(z.meta.ID, z.meta.Name, sizeHint)
		return
	}
	z.reset(sizeHint)
}

// adopt takes o's record sets (its index, or its build on a lean Mirror)
// as z's own, keeping z's metadata.
func (z *zoneData) adopt(o *zoneData) {
	z.names, z.count, z.sorted, z.build = o.names, o.count, nil, o.build
}

// built is called when a zone's full contents have been handed over (as a
// reset delta): a lean Mirror drops its index then.
func (m *Mirror) built(z *zoneData) {
	if m.lean() {
		z.names, z.sorted, z.build = nil, nil, nil
	}
}

// resetDelta is the delta that hands over z's whole contents.
func (z *zoneData) resetDelta(zid string) zones.ZoneDelta {
	return zones.ZoneDelta{ZoneID: zid, Origin: z.meta.Name, Reset: true, Put: z.allSets(), Build: z.build}
}

// setCount returns the number of record sets of z.
func (m *Mirror) setCount(z *zoneData) int {
	if m.lean() && z.names == nil {
		return m.src.RecordSetCount(z.meta.Name)
	}
	return z.count
}

// NewMirror returns an empty Mirror.
func NewMirror() *Mirror {
	m := &Mirror{zones: make(map[string]*zoneData), byName: make(map[string]string)}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// Revision returns the highest etcd data revision the Mirror holds.
func (m *Mirror) Revision() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rev
}

// FromCache reports whether the Mirror serves the local cache because etcd
// has not been reached since the start.
func (m *Mirror) FromCache() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fromCache
}

// Synced reports whether the Mirror has data to serve: a full sync has
// completed, or the local cache was loaded.
func (m *Mirror) Synced() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.synced
}

// read runs f with the zone zid under the read lock; it returns false when
// there is no such zone.
func (m *Mirror) read(zid string, f func(z *zoneData)) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	z := m.zones[zid]
	if z == nil || z.meta.ID == "" {
		return false
	}
	f(z)
	return true
}

// readSorted is read with the write lock, for reads that fill the sort cache.
func (m *Mirror) readSorted(zid string, f func(z *zoneData)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	z := m.zones[zid]
	if z == nil || z.meta.ID == "" {
		return false
	}
	f(z)
	return true
}

// zoneList returns the zones sorted by name.
func (m *Mirror) zoneList() []zones.Zone {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]zones.Zone, 0, len(m.zones))
	for _, z := range m.zones {
		if z.meta.ID != "" {
			out = append(out, z.zone(m.setCount(z)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return zones.ListKey(out[i].Name) < zones.ListKey(out[j].Name) })
	return out
}

// ZoneIDByName returns the id of the zone with a canonical name.
func (m *Mirror) ZoneIDByName(name string) (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byName[name]
	return id, ok
}

// WaitRevision blocks until the Mirror holds rev or ctx ends; it reports
// whether rev was reached.
func (m *Mirror) WaitRevision(ctx context.Context, rev int64) bool {
	stop := context.AfterFunc(ctx, func() {
		m.mu.Lock()
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	defer stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.rev < rev {
		if ctx.Err() != nil {
			return false
		}
		m.cond.Wait()
	}
	return true
}

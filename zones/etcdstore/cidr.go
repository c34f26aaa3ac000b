package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/healthdns/healthdns/zones"
)

// CIDR collections live in the watched prefix, so every node's Syncer keeps
// its CIDRTable current.
const cidrPrefix = DataPrefix + "cidr/"

func cidrKey(id string) string { return cidrPrefix + id }

// CIDRTable answers longest-prefix lookups over every CIDR collection,
// lock-free: the Syncer swaps an immutable table on each change.
type CIDRTable struct {
	p atomic.Pointer[cidrSnapshot]
}

type cidrSnapshot struct {
	byID  map[string]*cidrIndex
	colls map[string]zones.CidrCollection
}

// cidrIndex is one collection: for each prefix length present, longest
// first, a map from masked prefix to location.
type cidrIndex struct {
	v4, v6 []cidrLevel
}

type cidrLevel struct {
	bits int
	locs map[netip.Prefix]string
}

func buildIndex(c zones.CidrCollection) *cidrIndex {
	lv := map[bool]map[int]map[netip.Prefix]string{true: {}, false: {}}
	for _, l := range c.Locations {
		for _, s := range l.CIDRs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				continue
			}
			is4 := p.Addr().Is4()
			m := lv[is4][p.Bits()]
			if m == nil {
				m = map[netip.Prefix]string{}
				lv[is4][p.Bits()] = m
			}
			m[p.Masked()] = l.Name
		}
	}
	idx := &cidrIndex{}
	for _, is4 := range []bool{true, false} {
		var levels []cidrLevel
		for bits, m := range lv[is4] {
			levels = append(levels, cidrLevel{bits, m})
		}
		sort.Slice(levels, func(i, j int) bool { return levels[i].bits > levels[j].bits })
		if is4 {
			idx.v4 = levels
		} else {
			idx.v6 = levels
		}
	}
	return idx
}

// Lookup returns the location of the longest block of collection id that
// holds addr, and that block's prefix length.
func (t *CIDRTable) Lookup(id string, addr netip.Addr) (string, int, bool) {
	s := t.p.Load()
	if s == nil {
		return "", 0, false
	}
	idx := s.byID[id]
	if idx == nil {
		return "", 0, false
	}
	addr = addr.Unmap()
	levels := idx.v6
	if addr.Is4() {
		levels = idx.v4
	}
	for _, l := range levels {
		p, err := addr.Prefix(l.bits)
		if err != nil {
			continue
		}
		if loc, ok := l.locs[p]; ok {
			return loc, l.bits, true
		}
	}
	return "", 0, false
}

// Collection returns a collection by id.
func (t *CIDRTable) Collection(id string) (zones.CidrCollection, bool) {
	s := t.p.Load()
	if s == nil {
		return zones.CidrCollection{}, false
	}
	c, ok := s.colls[id]
	return c, ok
}

// Collections returns every collection, by name.
func (t *CIDRTable) Collections() []zones.CidrCollection {
	s := t.p.Load()
	if s == nil {
		return nil
	}
	out := make([]zones.CidrCollection, 0, len(s.colls))
	for _, c := range s.colls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// set replaces the whole table (after a full sync).
func (t *CIDRTable) set(colls map[string]zones.CidrCollection) {
	s := &cidrSnapshot{byID: map[string]*cidrIndex{}, colls: colls}
	for id, c := range colls {
		s.byID[id] = buildIndex(c)
	}
	t.p.Store(s)
}

// put adds or replaces one collection; del removes one. The Syncer's
// goroutine is the only writer.
func (t *CIDRTable) put(c zones.CidrCollection) {
	old := t.p.Load()
	colls := map[string]zones.CidrCollection{}
	if old != nil {
		for k, v := range old.colls {
			colls[k] = v
		}
	}
	colls[c.ID] = c
	t.set(colls)
}

func (t *CIDRTable) del(id string) {
	old := t.p.Load()
	colls := map[string]zones.CidrCollection{}
	if old != nil {
		for k, v := range old.colls {
			if k != id {
				colls[k] = v
			}
		}
	}
	t.set(colls)
}

// CreateCidrCollection stores a new collection; names are unique.
func (s *Store) CreateCidrCollection(ctx context.Context, in zones.CidrCollectionInput) (zones.CidrCollection, error) {
	locs, err := zones.ValidateCidrCollection(in)
	if err != nil {
		return zones.CidrCollection{}, err
	}
	for _, c := range s.o.CIDR.Collections() {
		if c.Name == in.Name {
			return zones.CidrCollection{}, zones.Errorf(zones.CodeCidrCollectionAlreadyExists, "a CIDR collection named %q already exists (%s)", in.Name, c.ID)
		}
	}
	c := zones.CidrCollection{ID: newUUID(), Name: in.Name, Version: 1, Locations: locs, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.checkReachable(); err != nil {
		return zones.CidrCollection{}, err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	tr, err := s.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(cidrNameKey(in.Name)), "=", 0)).
		Then(clientv3.OpPut(cidrKey(c.ID), mustJSON(c)), clientv3.OpPut(cidrNameKey(in.Name), c.ID)).Commit()
	if err != nil {
		return zones.CidrCollection{}, storeErr("create CIDR collection", err)
	}
	if !tr.Succeeded {
		return zones.CidrCollection{}, zones.Errorf(zones.CodeCidrCollectionAlreadyExists, "a CIDR collection named %q already exists", in.Name)
	}
	s.waitMirror(ctx, tr.Header.Revision)
	return c, nil
}

func cidrNameKey(name string) string { return Root + "index/cidrname/" + name }

// GetCidrCollection returns a collection.
func (s *Store) GetCidrCollection(ctx context.Context, id string) (zones.CidrCollection, error) {
	c, ok := s.o.CIDR.Collection(id)
	if !ok {
		return c, zones.Errorf(zones.CodeNoSuchCidrCollection, "no CIDR collection with id %s", id)
	}
	return c, nil
}

// ListCidrCollections returns every collection.
func (s *Store) ListCidrCollections(ctx context.Context) ([]zones.CidrCollection, error) {
	out := s.o.CIDR.Collections()
	if out == nil {
		out = []zones.CidrCollection{}
	}
	return out, nil
}

// UpdateCidrCollection replaces a collection's locations (its name stays).
// A location that record sets use cannot be removed.
func (s *Store) UpdateCidrCollection(ctx context.Context, id string, in zones.CidrCollectionInput) (zones.CidrCollection, error) {
	old, ok := s.o.CIDR.Collection(id)
	if !ok {
		return old, zones.Errorf(zones.CodeNoSuchCidrCollection, "no CIDR collection with id %s", id)
	}
	if in.Name == "" {
		in.Name = old.Name
	}
	if in.Name != old.Name {
		return old, zones.Errorf(zones.CodeInvalidInput, "name: a collection's name cannot change (%q)", old.Name)
	}
	locs, err := zones.ValidateCidrCollection(in)
	if err != nil {
		return old, err
	}
	keep := map[string]bool{"*": true}
	for _, l := range locs {
		keep[l.Name] = true
	}
	if used := s.cidrUses(id, keep); len(used) > 0 {
		return old, &zones.Error{Code: zones.CodeCidrCollectionInUse, Message: "record sets still route to locations this update removes", Messages: used}
	}
	c := old
	c.Locations, c.Version = locs, old.Version+1
	return c, s.casCidr(ctx, c, old.Version)
}

// DeleteCidrCollection deletes a collection no record set refers to.
func (s *Store) DeleteCidrCollection(ctx context.Context, id string) error {
	old, ok := s.o.CIDR.Collection(id)
	if !ok {
		return zones.Errorf(zones.CodeNoSuchCidrCollection, "no CIDR collection with id %s", id)
	}
	if used := s.cidrUses(id, nil); len(used) > 0 {
		return &zones.Error{Code: zones.CodeCidrCollectionInUse, Message: "record sets still refer to this collection", Messages: used}
	}
	if err := s.checkReachable(); err != nil {
		return err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	tr, err := s.cli.Txn(cctx).Then(clientv3.OpDelete(cidrKey(id)), clientv3.OpDelete(cidrNameKey(old.Name))).Commit()
	if err != nil {
		return storeErr("delete CIDR collection", err)
	}
	s.waitMirror(ctx, tr.Header.Revision)
	return nil
}

func (s *Store) casCidr(ctx context.Context, c zones.CidrCollection, version int64) error {
	if err := s.checkReachable(); err != nil {
		return err
	}
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(cctx, cidrKey(c.ID))
	if err != nil {
		return storeErr("read CIDR collection", err)
	}
	if len(resp.Kvs) == 0 {
		return zones.Errorf(zones.CodeNoSuchCidrCollection, "no CIDR collection with id %s", c.ID)
	}
	var cur zones.CidrCollection
	if err := json.Unmarshal(resp.Kvs[0].Value, &cur); err != nil {
		return fmt.Errorf("decode CIDR collection: %w", err)
	}
	if cur.Version != version {
		return zones.Errorf(zones.CodeCidrCollectionVersionMismatch, "the collection changed meanwhile (version %d, expected %d); retry", cur.Version, version)
	}
	tr, err := s.cli.Txn(cctx).If(clientv3.Compare(clientv3.ModRevision(cidrKey(c.ID)), "=", resp.Kvs[0].ModRevision)).
		Then(clientv3.OpPut(cidrKey(c.ID), mustJSON(c))).Commit()
	if err != nil {
		return storeErr("update CIDR collection", err)
	}
	if !tr.Succeeded {
		return zones.Errorf(zones.CodeCidrCollectionVersionMismatch, "the collection changed meanwhile; retry")
	}
	s.waitMirror(ctx, tr.Header.Revision)
	return nil
}

// cidrUses lists the record sets that route through collection id to a
// location not in keep (nil keep: any location).
func (s *Store) cidrUses(id string, keep map[string]bool) []string {
	s.m.mu.RLock()
	defer s.m.mu.RUnlock()
	var used []string
	for _, z := range s.m.zones {
		z.each(func(set *zones.Set) {
			if cr := set.CidrRouting; cr != nil && cr.CollectionID == id && (keep == nil || !keep[cr.LocationName]) {
				used = append(used, fmt.Sprintf("%s %s %q (location %s)", set.Name, set.Type, set.SetIdentifier, cr.LocationName))
			}
		})
	}
	sort.Strings(used)
	return used
}

// checkCidrRefs refuses record sets whose CIDR collection or location does
// not exist.
func (s *Store) checkCidrRefs(ops []zones.Op) error {
	var msgs []string
	for _, op := range ops {
		cr := op.Set.CidrRouting
		if op.Delete || cr == nil {
			continue
		}
		c, ok := s.o.CIDR.Collection(cr.CollectionID)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("%s %s %q: cidrRouting.collectionId %s: no such CIDR collection", op.Set.Name, op.Set.Type, op.Set.SetIdentifier, cr.CollectionID))
			continue
		}
		found := cr.LocationName == "*"
		for _, l := range c.Locations {
			found = found || l.Name == cr.LocationName
		}
		if !found {
			msgs = append(msgs, fmt.Sprintf("%s %s %q: cidrRouting.locationName %q is not in collection %s", op.Set.Name, op.Set.Type, op.Set.SetIdentifier, cr.LocationName, c.Name))
		}
	}
	if len(msgs) > 0 {
		return &zones.Error{Code: zones.CodeInvalidChangeBatch, Message: "record sets refer to unknown CIDR locations; nothing was changed", Messages: msgs}
	}
	return nil
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	if _, err := randRead(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

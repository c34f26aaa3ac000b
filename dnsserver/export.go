package dnsserver

import (
	"github.com/healthdns/healthdns/zones"
)

// RecordSets returns the record sets of the zone origin as the Table holds
// them, in no order: routed sets whole, plain sets rebuilt from their
// records (name, type, TTL and values as the store keeps them); nil when no
// zone has that origin. It is what a node that keeps no other copy (a
// DNS-only node, see etcdstore.NewLeanMirror) writes to its local copy.
func (t *Table) RecordSets(origin string) []zones.RecordSet {
	z := t.Load().zones[origin]
	if z == nil {
		return nil
	}
	out := make([]zones.RecordSet, 0, z.sets)
	for _, sh := range z.shards {
		if sh == nil {
			continue
		}
		for _, n := range sh.nodes {
			for i := range n.sets {
				ts := &n.sets[i]
				if ts.full != nil {
					out = append(out, ts.full.RecordSet)
					continue
				}
				rs := zones.RecordSet{Name: n.name, Type: typeString(ts.qtype), Values: make([]string, len(ts.rrs))}
				if len(ts.rrs) > 0 {
					ttl := int64(ts.rrs[0].Header().Ttl)
					rs.TTL = &ttl
				}
				for j, rr := range ts.rrs {
					rs.Values[j] = zones.RdataString(rr)
				}
				out = append(out, rs)
			}
		}
	}
	return out
}

// RecordSetCount returns the number of record sets of the zone origin.
func (t *Table) RecordSetCount(origin string) int {
	if z := t.Load().zones[origin]; z != nil {
		return z.sets
	}
	return 0
}

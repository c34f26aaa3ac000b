package dnsserver

import (
	"github.com/healthdns/healthdns/zones"
)

// EachRecordSet calls f with each record set of the zone origin as the
// Table holds it, in no order, until f returns an error: routed sets whole,
// plain sets rebuilt from their records (name, type, TTL and values as the
// store keeps them). It is how a node that keeps no other copy (a DNS-only
// node, see etcdstore.NewLeanMirror) writes its local copy, one set at a
// time.
func (t *Table) EachRecordSet(origin string, f func(*zones.RecordSet) error) error {
	z := t.Load().zones[origin]
	if z == nil {
		return nil
	}
	var rs zones.RecordSet
	var values []string
	var ttl int64
	for _, sh := range z.shards {
		if sh == nil {
			continue
		}
		for _, n := range sh.nodes {
			sets := n.tsets()
			for i := range sets {
				ts := &sets[i]
				if ts.full != nil {
					rs = ts.full.RecordSet
				} else {
					rrs := ts.rrs
					if rrs == nil { // compact: the records are in the prepared octets
						if r := n.get(ts.qtype); r != nil {
							rrs = r.records(n.name)
						}
					}
					values = values[:0]
					for _, rr := range rrs {
						values = append(values, zones.RdataString(rr))
					}
					rs = zones.RecordSet{Name: n.name, Type: typeString(ts.qtype), Values: values}
					if len(rrs) > 0 {
						ttl = int64(rrs[0].Header().Ttl)
						rs.TTL = &ttl
					}
				}
				if err := f(&rs); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RecordSetCount returns the number of record sets of the zone origin.
func (t *Table) RecordSetCount(origin string) int {
	if z := t.Load().zones[origin]; z != nil {
		return z.sets
	}
	return 0
}

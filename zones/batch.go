package zones

import (
	"fmt"

	"github.com/miekg/dns"
)

// Route 53's batch limits.
const (
	MaxBatchValues = 1000
	MaxBatchChars  = 32000
)

// SetReader is the read access PlanBatch needs to a zone's current data.
type SetReader interface {
	// Get returns the set with key k, or nil.
	Get(k SetKey) *Set
	// AtName returns the sets owned by a canonical name.
	AtName(name string) []*Set
}

// Op is one effect of a planned batch: put Set, or delete the set with its key.
type Op struct {
	Delete bool
	Set    *Set
}

// PlanBatch checks a change batch against the zone's current data by
// Route 53's rules and returns the operations that apply it. Every bad change
// yields one message naming it; any message refuses the whole batch with an
// InvalidChangeBatch *Error.
func PlanBatch(origin string, cur SetReader, b ChangeBatch) ([]Op, error) {
	if len(b.Changes) == 0 {
		return nil, &Error{Code: CodeInvalidChangeBatch, Message: "the batch holds no changes", Messages: []string{"changes: at least one change is required"}}
	}
	var msgs []string
	values, chars := 0, 0
	overlay := make(map[SetKey]*Set) // nil value: deleted in this batch
	last := make(map[SetKey]string)  // last action on a key in this batch
	touched := make(map[string]bool)
	var ops []Op
	for i, c := range b.Changes {
		where := fmt.Sprintf("change %d (%s %s %s)", i+1, c.Action, c.RecordSet.Name, c.RecordSet.Type)
		if c.RecordSet.SetIdentifier != "" {
			where = fmt.Sprintf("change %d (%s %s %s %q)", i+1, c.Action, c.RecordSet.Name, c.RecordSet.Type, c.RecordSet.SetIdentifier)
		}
		n := len(c.RecordSet.Values)
		l := 0
		for _, v := range c.RecordSet.Values {
			l += len(v)
		}
		if c.Action == ActionUpsert {
			n, l = 2*n, 2*l
		}
		values += n
		chars += l
		s, err := ParseRecordSet(c.RecordSet, origin)
		if err != nil {
			msgs = append(msgs, where+": "+err.Error())
			continue
		}
		k := s.Key()
		desc := fmt.Sprintf("resource record set [name='%s', type='%s'", k.Name, k.Type)
		if k.SetID != "" {
			desc += fmt.Sprintf(", set-identifier='%s'", k.SetID)
		}
		desc += "]"
		if prev, ok := last[k]; ok && !(prev == ActionDelete && c.Action == ActionCreate) {
			msgs = append(msgs, fmt.Sprintf("%s: the batch changes %s more than once (only DELETE then CREATE is allowed)", where, desc))
			continue
		}
		existing, inBatch := overlay[k]
		if !inBatch {
			existing = cur.Get(k)
		}
		apexGuard := k.Name == origin && (s.Qtype == dns.TypeSOA || s.Qtype == dns.TypeNS)
		switch c.Action {
		case ActionCreate:
			if existing != nil {
				msgs = append(msgs, fmt.Sprintf("%s: Tried to create %s but it already exists", where, desc))
				continue
			}
		case ActionUpsert:
		case ActionDelete:
			if apexGuard {
				msgs = append(msgs, fmt.Sprintf("%s: the apex %s record set cannot be deleted, only UPSERTed", where, k.Type))
				continue
			}
			if existing == nil {
				msgs = append(msgs, fmt.Sprintf("%s: Tried to delete %s but it was not found", where, desc))
				continue
			}
			if !existing.Equal(s) {
				msgs = append(msgs, fmt.Sprintf("%s: Tried to delete %s but the values provided do not match the current values", where, desc))
				continue
			}
		default:
			msgs = append(msgs, fmt.Sprintf("%s: action %q must be CREATE, UPSERT or DELETE", where, c.Action))
			continue
		}
		last[k] = c.Action
		touched[k.Name] = true
		if c.Action == ActionDelete {
			overlay[k] = nil
			ops = append(ops, Op{Delete: true, Set: existing})
		} else {
			overlay[k] = s
			ops = append(ops, Op{Set: s})
		}
	}
	if values > MaxBatchValues {
		msgs = append(msgs, fmt.Sprintf("changes: the batch holds %d values (UPSERT counts twice), at most %d are allowed", values, MaxBatchValues))
	}
	if chars > MaxBatchChars {
		msgs = append(msgs, fmt.Sprintf("changes: the batch holds %d characters of values (UPSERT counts twice), at most %d are allowed", chars, MaxBatchChars))
	}
	if len(msgs) == 0 {
		for name := range touched {
			var sets []*Set
			for _, s := range cur.AtName(name) {
				if _, changed := overlay[s.Key()]; !changed {
					sets = append(sets, s)
				}
			}
			for k, s := range overlay {
				if k.Name == name && s != nil {
					sets = append(sets, s)
				}
			}
			msgs = append(msgs, CheckName(origin, name, sets)...)
		}
	}
	if len(msgs) > 0 {
		return nil, &Error{Code: CodeInvalidChangeBatch, Message: fmt.Sprintf("%d of %d changes are invalid; nothing was changed", countBad(msgs, len(b.Changes)), len(b.Changes)), Messages: msgs}
	}
	return ops, nil
}

func countBad(msgs []string, n int) int {
	if len(msgs) > n {
		return n
	}
	return len(msgs)
}

// TouchesSOA reports whether ops put the zone's SOA.
func TouchesSOA(ops []Op) bool {
	for _, op := range ops {
		if op.Set.Qtype == dns.TypeSOA && !op.Delete {
			return true
		}
	}
	return false
}

// NextSerial returns a copy of the SOA set with its serial increased by one
// (RFC 1982 arithmetic, skipping 0).
func NextSerial(soa *Set) *Set {
	old := soa.RRs[0].(*dns.SOA)
	rr := dns.Copy(old).(*dns.SOA)
	rr.Serial++
	if rr.Serial == 0 {
		rr.Serial = 1
	}
	n := *soa
	n.RRs = []dns.RR{rr}
	n.Values = []string{RdataString(rr)}
	return &n
}

// Serial returns the serial of an SOA set.
func Serial(soa *Set) uint32 {
	if soa == nil || len(soa.RRs) == 0 {
		return 0
	}
	if s, ok := soa.RRs[0].(*dns.SOA); ok {
		return s.Serial
	}
	return 0
}

// DefaultZoneSets returns the SOA and NS sets of a new zone: the first name
// server as SOA MNAME, hostmaster.<zone> as RNAME, serial 1.
func DefaultZoneSets(origin string, nameServers []string) ([]*Set, error) {
	if len(nameServers) == 0 {
		return nil, fmt.Errorf("no name servers")
	}
	ttl172800, ttl900 := int64(172800), int64(900)
	soa, err := ParseRecordSet(RecordSet{Name: origin, Type: "SOA", TTL: &ttl900,
		Values: []string{dns.Fqdn(nameServers[0]) + " hostmaster." + origin + " 1 7200 900 1209600 86400"}}, origin)
	if err != nil {
		return nil, err
	}
	var ns []string
	for _, n := range nameServers {
		ns = append(ns, dns.Fqdn(n))
	}
	nsSet, err := ParseRecordSet(RecordSet{Name: origin, Type: "NS", TTL: &ttl172800, Values: ns}, origin)
	if err != nil {
		return nil, err
	}
	return []*Set{soa, nsSet}, nil
}

package zones

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

var lineRe = regexp.MustCompile(`at line: (\d+):(\d+)`)

// ParseZoneFile reads an RFC 1035 master file for the zone origin
// (canonical) and returns its record sets, validated as a whole: the apex SOA
// is required, every name must be in the zone, a CNAME may not share its name
// with other data nor stand at the apex, TTLs must be in range. $ORIGIN and
// $TTL are honoured; $INCLUDE is refused. The error is an *Error whose
// messages name the line (syntax) or the owner name (data rules).
func ParseZoneFile(r io.Reader, origin string) ([]*Set, error) {
	ir := newIPSECKEYReader(r)
	zp := dns.NewZoneParser(ir, origin, "")
	zp.SetDefaultTTL(3600)
	type group struct{ rrs []dns.RR }
	groups := make(map[SetKey]*group)
	var order []SetKey
	var bad []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			bad = append(bad, fmt.Sprintf("%s %s: class %s is not IN", h.Name, TypeString(h.Rrtype), dns.ClassToString[h.Class]))
			continue
		}
		name, err := CanonicalName(h.Name)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		h.Name = name
		if !InZone(name, origin) {
			bad = append(bad, fmt.Sprintf("%s %s: name is outside zone %s", name, TypeString(h.Rrtype), origin))
			continue
		}
		if _, _, err := TypeCode(TypeString(h.Rrtype)); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if h.Ttl > MaxTTL {
			bad = append(bad, fmt.Sprintf("%s %s: TTL %d is out of range (0-%d)", name, TypeString(h.Rrtype), h.Ttl, MaxTTL))
			continue
		}
		if err := checkRR(rr); err != nil {
			bad = append(bad, fmt.Sprintf("%s %s: %v", name, TypeString(h.Rrtype), err))
			continue
		}
		k := SetKey{Name: name, Type: TypeString(h.Rrtype)}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		dup := false
		for _, o := range g.rrs {
			if dns.IsDuplicate(o, rr) {
				dup = true
				break
			}
		}
		if !dup {
			g.rrs = append(g.rrs, rr)
		}
		if len(bad) > 100 {
			break
		}
	}
	if err := zp.Err(); err != nil {
		return nil, &Error{Code: CodeInvalidInput, Message: "zone file does not parse", Messages: []string{zoneParseMessage(err, ir.origLine)}}
	}
	sets := make([]*Set, 0, len(order))
	for _, k := range order {
		sets = append(sets, NewSetFromRRs(groups[k].rrs))
	}
	bad = append(bad, CheckZone(origin, sets)...)
	if len(bad) > 0 {
		return nil, &Error{Code: CodeInvalidInput, Message: "zone file has invalid data", Messages: bad}
	}
	return sets, nil
}

func zoneParseMessage(err error, origLine func(int) int) string {
	s := strings.TrimPrefix(err.Error(), "dns: ")
	if m := lineRe.FindStringSubmatch(s); m != nil {
		i := strings.Index(s, " at line: ")
		n, _ := strconv.Atoi(m[1])
		return "line " + strconv.Itoa(origLine(n)) + ": " + strings.TrimSpace(s[:i])
	}
	return s
}

// CheckZone checks the rules that span record sets, over the whole zone:
// exactly one SOA at the apex, CNAME alone at its name and not at the apex,
// routing policies not mixed within a name and type. It returns one message
// per violation, naming the owner.
func CheckZone(origin string, sets []*Set) []string {
	byName := make(map[string][]*Set)
	for _, s := range sets {
		byName[s.Name] = append(byName[s.Name], s)
	}
	var bad []string
	if !hasType(byName[origin], dns.TypeSOA) {
		bad = append(bad, fmt.Sprintf("%s: the zone apex needs an SOA record", origin))
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		bad = append(bad, CheckName(origin, n, byName[n])...)
	}
	return bad
}

// CheckName checks the rules of CheckZone for the sets at one name.
func CheckName(origin, name string, sets []*Set) []string {
	var bad []string
	if hasType(sets, dns.TypeCNAME) {
		if name == origin {
			bad = append(bad, fmt.Sprintf("%s: a CNAME cannot stand at the zone apex", name))
		}
		for _, s := range sets {
			switch s.Qtype {
			case dns.TypeCNAME, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
				continue
			}
			bad = append(bad, fmt.Sprintf("%s: a CNAME cannot share its name with other data (%s)", name, s.Type))
			break
		}
	}
	policy := make(map[string]string)
	for _, s := range sets {
		p := s.Policy()
		if s.SetIdentifier == "" {
			p = "simple"
		}
		if q, ok := policy[s.Type]; ok && q != p {
			bad = append(bad, fmt.Sprintf("%s %s: record sets of one name and type cannot mix routing policies (%s and %s)", name, s.Type, q, p))
		}
		policy[s.Type] = p
	}
	return bad
}

func hasType(sets []*Set, t uint16) bool {
	for _, s := range sets {
		if s.Qtype == t {
			return true
		}
	}
	return false
}

// WriteZoneFile writes sets as an RFC 1035 master file for origin: $ORIGIN,
// the SOA first, then the rest in Route 53's listing order. Alias and routed
// record sets have no zone-file form: they are written as comments, so the
// file re-imports to the plain data.
func WriteZoneFile(w io.Writer, origin string, sets []*Set) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "$ORIGIN %s\n", origin)
	sorted := append([]*Set(nil), sets...)
	SortSets(sorted)
	for _, s := range sorted {
		if s.Qtype == dns.TypeSOA {
			writeSet(bw, s)
		}
	}
	for _, s := range sorted {
		if s.Qtype != dns.TypeSOA {
			writeSet(bw, s)
		}
	}
	return bw.Flush()
}

func writeSet(w *bufio.Writer, s *Set) {
	if s.AliasTarget != nil || s.SetIdentifier != "" {
		desc := "routed"
		if s.AliasTarget != nil {
			desc = "alias to " + s.AliasTarget.DNSName
		}
		fmt.Fprintf(w, "; %s %s set %q (%s) has no zone-file form\n", s.Name, s.Type, s.SetIdentifier, desc)
		return
	}
	ttl := strconv.FormatInt(*s.TTL, 10)
	for _, v := range s.Values {
		w.WriteString(s.Name)
		w.WriteByte('\t')
		w.WriteString(ttl)
		w.WriteString("\tIN\t")
		w.WriteString(s.Type)
		w.WriteByte('\t')
		w.WriteString(v)
		w.WriteByte('\n')
	}
}

// SortSets sorts sets in Route 53's listing order: ListKey(name), type,
// set identifier.
func SortSets(sets []*Set) {
	sort.Slice(sets, func(i, j int) bool { return LessKey(sets[i].Key(), sets[j].Key()) })
}

// LessKey orders set keys as Route 53 lists them.
func LessKey(a, b SetKey) bool {
	if a.Name != b.Name {
		return ListKey(a.Name) < ListKey(b.Name)
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.SetID < b.SetID
}

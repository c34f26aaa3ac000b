package zones

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// MaxTTL is the largest TTL accepted (RFC 2181 section 8).
const MaxTTL = 1<<31 - 1

// Failover roles.
const (
	FailoverPrimary   = "PRIMARY"
	FailoverSecondary = "SECONDARY"
)

// ParseRecordSet validates rs for the zone origin (canonical) and returns the
// normalised set with its parsed records. The error names the field at fault.
func ParseRecordSet(rs RecordSet, origin string) (*Set, error) {
	return parseRecordSet(rs, origin, true)
}

// DecodeRecordSet is ParseRecordSet for record sets read back from the store,
// which were validated when written: it skips the checks that cost a second
// parse of every value.
func DecodeRecordSet(rs RecordSet, origin string) (*Set, error) {
	return parseRecordSet(rs, origin, false)
}

func parseRecordSet(rs RecordSet, origin string, check bool) (*Set, error) {
	name, err := CanonicalName(rs.Name)
	if err != nil {
		return nil, fmt.Errorf("name: %v", err)
	}
	if !InZone(name, origin) {
		return nil, fmt.Errorf("name: %s is not permitted in zone %s", name, origin)
	}
	qtype, tname, err := TypeCode(rs.Type)
	if err != nil {
		return nil, fmt.Errorf("type: %v", err)
	}
	s := &Set{RecordSet: rs, Qtype: qtype}
	s.Name, s.Type = name, tname
	s.Values = nil
	if err := normaliseRouting(s); err != nil {
		return nil, err
	}
	s.CheckID = s.HealthCheckID
	if s.HealthCheck != nil {
		s.CheckID = InlineCheckID(origin, s.Key())
	}
	if qtype == dns.TypeCNAME && name == origin {
		return nil, fmt.Errorf("type: a CNAME cannot stand at the zone apex %s", origin)
	}
	if qtype == dns.TypeSOA && name != origin {
		return nil, fmt.Errorf("type: SOA is only allowed at the zone apex %s", origin)
	}
	if rs.AliasTarget != nil {
		if rs.TTL != nil || len(rs.Values) > 0 {
			return nil, fmt.Errorf("aliasTarget: an alias record set takes neither ttl nor values")
		}
		if qtype == dns.TypeSOA || qtype == dns.TypeNS {
			return nil, fmt.Errorf("aliasTarget: an alias cannot be of type %s", tname)
		}
		target, err := CanonicalName(rs.AliasTarget.DNSName)
		if err != nil {
			return nil, fmt.Errorf("aliasTarget.dnsName: %v", err)
		}
		if !InZone(target, origin) {
			return nil, fmt.Errorf("aliasTarget.dnsName: %s is outside zone %s; only targets in the same zone are supported", target, origin)
		}
		at := *rs.AliasTarget
		at.DNSName = target
		s.AliasTarget = &at
		return s, nil
	}
	if rs.TTL == nil {
		return nil, fmt.Errorf("ttl: required")
	}
	if *rs.TTL < 0 || *rs.TTL > MaxTTL {
		return nil, fmt.Errorf("ttl: %d is out of range (0-%d)", *rs.TTL, MaxTTL)
	}
	ttl := *rs.TTL
	if check {
		s.TTL = &ttl // the caller's value stays the caller's
	}
	if len(rs.Values) == 0 {
		return nil, fmt.Errorf("values: at least one value is required")
	}
	if (qtype == dns.TypeCNAME || qtype == dns.TypeSOA || qtype == dns.TypeDNAME) && len(rs.Values) > 1 {
		return nil, fmt.Errorf("values: a %s record set holds exactly one value, got %d", tname, len(rs.Values))
	}
	var seen map[string]bool // for long lists; short ones are searched
	if len(rs.Values) > 8 {
		seen = make(map[string]bool, len(rs.Values))
	}
	s.RRs = make([]dns.RR, 0, len(rs.Values))
	s.Values = make([]string, 0, len(rs.Values))
	for i, v := range rs.Values {
		rr, err := parseValue(name, uint32(ttl), tname, qtype, v, check)
		if err != nil {
			return nil, fmt.Errorf("values[%d]: %v", i, err)
		}
		pv := v // stored values are canonical already: keep the caller's string
		if check || !canonicalAddr(rr, v) {
			if pv = RdataString(rr); pv == v {
				pv = v
			}
		}
		dup := seen[pv]
		if seen == nil {
			dup = slices.Contains(s.Values, pv)
		} else {
			seen[pv] = true
		}
		if dup {
			return nil, fmt.Errorf("values[%d]: duplicate value %q", i, v)
		}
		s.RRs = append(s.RRs, rr)
		s.Values = append(s.Values, pv)
	}
	return s, nil
}

// canonicalAddr reports whether v is the presentation RdataString gives an
// A or AAAA record rr, without building it.
func canonicalAddr(rr dns.RR, v string) bool {
	var ip net.IP
	switch r := rr.(type) {
	case *dns.A:
		ip = r.A
	case *dns.AAAA:
		ip = r.AAAA
	default:
		return false
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	if rr.Header().Rrtype == dns.TypeA {
		a = a.Unmap()
	}
	var buf [64]byte
	return string(a.AppendTo(buf[:0])) == v
}

func parseValue(name string, ttl uint32, tname string, qtype uint16, v string, check bool) (dns.RR, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("empty value")
	}
	if strings.ContainsAny(v, "\n\r") {
		return nil, fmt.Errorf("value %q contains a line break", v)
	}
	if strings.HasPrefix(strings.TrimSpace(v), "$") {
		return nil, fmt.Errorf("value %q starts with a directive", v)
	}
	if !check {
		if rr := fastRR(name, ttl, qtype, v); rr != nil {
			return rr, nil
		}
	}
	rr, err := dns.NewRR(name + " " + strconv.FormatUint(uint64(ttl), 10) + " IN " + tname + " " + v)
	if err != nil {
		return nil, fmt.Errorf("value %q is not valid %s data: %s", v, tname, cleanParseError(err))
	}
	if rr == nil || rr.Header().Rrtype != qtype {
		return nil, fmt.Errorf("value %q is not valid %s data", v, tname)
	}
	if check {
		if err := checkRR(rr); err != nil {
			return nil, fmt.Errorf("value %q: %v", v, err)
		}
	}
	canonicaliseRR(rr)
	return rr, nil
}

// fastRR builds the records of the commonest types straight from their
// stored (already validated, canonical) presentation, without miekg/dns's
// general lexer; nil means "use the lexer".
func fastRR(name string, ttl uint32, qtype uint16, v string) dns.RR {
	h := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: ttl}
	switch qtype {
	case dns.TypeA:
		if ip, err := netip.ParseAddr(v); err == nil && ip.Is4() {
			b := ip.As4()
			return &dns.A{Hdr: h, A: net.IP(b[:])}
		}
	case dns.TypeAAAA:
		if ip, err := netip.ParseAddr(v); err == nil && ip.Is6() && !ip.Is4In6() && ip.Zone() == "" {
			b := ip.As16()
			return &dns.AAAA{Hdr: h, AAAA: net.IP(b[:])}
		}
	}
	return nil
}

// checkRR refuses records that parse but that a server could not send.
func checkRR(rr dns.RR) error {
	if strings.TrimSpace(RdataString(rr)) == "" {
		return fmt.Errorf("no record data")
	}
	// miekg/dns accepts records with missing data (as dynamic updates use
	// them); such a record prints as text that does not parse back. The
	// common types are checked field by field; the rest by a second parse.
	switch v := rr.(type) {
	case *dns.NULL:
		return nil
	case *dns.A:
		if v.A == nil || v.A.To4() == nil {
			return fmt.Errorf("incomplete record data")
		}
		return nil
	case *dns.AAAA:
		if v.AAAA == nil || len(v.AAAA) != 16 {
			return fmt.Errorf("incomplete record data")
		}
		return nil
	case *dns.CNAME:
		if v.Target == "" {
			return fmt.Errorf("incomplete record data")
		}
		return nil
	}
	if _, err := dns.NewRR(rr.String()); err != nil {
		return fmt.Errorf("incomplete record data")
	}
	buf := make([]byte, dns.Len(rr)+512)
	if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil {
		return fmt.Errorf("cannot be encoded: %v", err)
	}
	return nil
}

// canonicaliseRR lower-cases the owner name; data names keep their case as
// NSD and Knot serve them.
func canonicaliseRR(rr dns.RR) {
	h := rr.Header()
	h.Name = lowerASCII(h.Name)
	h.Class = dns.ClassINET
}

// cleanParseError strips miekg/dns's "dns: " prefix and file position of a
// one-line NewRR.
func cleanParseError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "dns: ")
	if i := strings.Index(s, ": \""); i >= 0 && strings.Contains(s[i:], "at line") {
		if j := strings.Index(s, " at line"); j > i {
			s = s[:j]
		}
	}
	return s
}

// RdataString returns the presentation form of rr's data.
func RdataString(rr dns.RR) string {
	switch u := rr.(type) {
	case *dns.RFC3597:
		return strings.TrimSpace(`\# ` + strconv.Itoa(len(u.Rdata)/2) + " " + u.Rdata)
	case *dns.NULL: // miekg/dns prints NULL as a comment; use RFC 3597's form
		return strings.TrimSpace(`\# ` + strconv.Itoa(len(u.Data)) + " " + hex.EncodeToString([]byte(u.Data)))
	}
	s := rr.String()
	// name TAB ttl TAB class TAB type TAB rdata
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(s, '\t')
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	return s
}

func normaliseRouting(s *Set) error {
	policies := 0
	if s.Weight != nil {
		policies++
		if *s.Weight < 0 || *s.Weight > 255 {
			return fmt.Errorf("weight: %d is out of range (0-255)", *s.Weight)
		}
	}
	if s.Failover != "" {
		policies++
		s.Failover = strings.ToUpper(s.Failover)
		if s.Failover != FailoverPrimary && s.Failover != FailoverSecondary {
			return fmt.Errorf("failover: %q must be PRIMARY or SECONDARY", s.Failover)
		}
	}
	if s.MultiValueAnswer != nil {
		if *s.MultiValueAnswer {
			policies++
		} else {
			s.MultiValueAnswer = nil
		}
	}
	if s.CidrRouting != nil {
		policies++
		if s.CidrRouting.CollectionID == "" || s.CidrRouting.LocationName == "" {
			return fmt.Errorf("cidrRouting: collectionId and locationName are required")
		}
	}
	if s.Region != "" {
		policies++
	}
	if s.GeoLocation != nil {
		policies++
	}
	if policies > 1 {
		return fmt.Errorf("setIdentifier: a record set takes one routing policy, got %d", policies)
	}
	if len(s.SetIdentifier) > 128 {
		return fmt.Errorf("setIdentifier: at most 128 characters")
	}
	if policies == 1 && s.SetIdentifier == "" {
		return fmt.Errorf("setIdentifier: required with a routing policy")
	}
	if policies == 0 && s.SetIdentifier != "" {
		return fmt.Errorf("setIdentifier: given without a routing policy (weight, failover, multiValueAnswer, cidrRouting, region or geoLocation)")
	}
	if s.HealthCheck != nil && s.HealthCheckID != "" {
		return fmt.Errorf("healthCheck: give healthCheck or healthCheckId, not both")
	}
	return nil
}

// Policy names the routing policy of a set ("" for simple routing).
func (s *Set) Policy() string {
	switch {
	case s.Weight != nil:
		return "weighted"
	case s.Failover != "":
		return "failover"
	case s.MultiValueAnswer != nil:
		return "multivalue"
	case s.CidrRouting != nil:
		return "cidr"
	case s.Region != "":
		return "latency"
	case s.GeoLocation != nil:
		return "geolocation"
	}
	return ""
}

// InlineCheckID is the id of the health check a record set carries inline:
// a UUID derived from the zone and the set's key, so that an UPSERT of the set
// updates the same check and a DELETE removes it.
func InlineCheckID(origin string, k SetKey) string {
	h := sha256.Sum256([]byte("healthdns-inline-check\x00" + origin + "\x00" + k.Name + "\x00" + k.Type + "\x00" + k.SetID))
	h[6] = h[6]&0x0f | 0x50 // version 5 style: name-based
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// NewSetFromRRs builds a simple (unrouted) set from records of one owner and
// type, as read from a zone file. All records take the first one's TTL.
func NewSetFromRRs(rrs []dns.RR) *Set {
	h := rrs[0].Header()
	ttl := int64(h.Ttl)
	s := &Set{Qtype: h.Rrtype, RRs: rrs}
	s.Name = h.Name
	s.Type = TypeString(h.Rrtype)
	s.TTL = &ttl
	for _, rr := range rrs {
		rr.Header().Ttl = h.Ttl
		s.Values = append(s.Values, RdataString(rr))
	}
	return s
}

// Equal reports whether two sets hold the same data and routing, as
// Route 53 compares a DELETE with the current set.
func (s *Set) Equal(o *Set) bool {
	if s.Key() != o.Key() || !eqInt(s.TTL, o.TTL) || !eqInt(s.Weight, o.Weight) ||
		s.Failover != o.Failover || s.Region != o.Region || s.HealthCheckID != o.HealthCheckID ||
		(s.MultiValueAnswer == nil) != (o.MultiValueAnswer == nil) {
		return false
	}
	if (s.AliasTarget == nil) != (o.AliasTarget == nil) || (s.AliasTarget != nil && *s.AliasTarget != *o.AliasTarget) {
		return false
	}
	if (s.CidrRouting == nil) != (o.CidrRouting == nil) || (s.CidrRouting != nil && *s.CidrRouting != *o.CidrRouting) {
		return false
	}
	if len(s.Values) != len(o.Values) {
		return false
	}
	a := append([]string(nil), s.Values...)
	b := append([]string(nil), o.Values...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func eqInt(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

package zones

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"
)

// CidrCollection is a named set of locations, each a list of CIDR blocks,
// that IP-based routing record sets refer to (Route 53's CIDR collections).
type CidrCollection struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Version   int64          `json:"version"`
	Locations []CidrLocation `json:"locations"`
	CreatedAt time.Time      `json:"createdAt"`
}

// CidrLocation is one location of a collection.
type CidrLocation struct {
	Name  string   `json:"name"`
	CIDRs []string `json:"cidrs"`
}

// CidrCollectionInput is the body of POST and PUT /v1/cidrcollections.
type CidrCollectionInput struct {
	Name      string         `json:"name"`
	Locations []CidrLocation `json:"locations"`
}

var (
	cidrNameRe     = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,64}$`)
	cidrLocationRe = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,16}$`)
)

// CIDR collection error codes (Route 53's names).
const (
	CodeCidrCollectionInUse           = "CidrCollectionInUseException"
	CodeNoSuchCidrCollection          = "NoSuchCidrCollectionException"
	CodeCidrCollectionAlreadyExists   = "CidrCollectionAlreadyExistsException"
	CodeCidrCollectionVersionMismatch = "CidrCollectionVersionMismatchException"
)

// ValidateCidrCollection checks a collection and returns it normalised
// (blocks masked to their prefix). Route 53's limits: location names of 1-16
// letters, digits, - and _; "*" is reserved for the default record set.
func ValidateCidrCollection(in CidrCollectionInput) ([]CidrLocation, error) {
	var msgs []string
	if !cidrNameRe.MatchString(in.Name) {
		msgs = append(msgs, fmt.Sprintf("name: %q must be 1-64 letters, digits, - or _", in.Name))
	}
	seenLoc := map[string]bool{}
	seenCIDR := map[netip.Prefix]string{}
	out := make([]CidrLocation, 0, len(in.Locations))
	for i, l := range in.Locations {
		if !cidrLocationRe.MatchString(l.Name) {
			msgs = append(msgs, fmt.Sprintf("locations[%d].name: %q must be 1-16 letters, digits, - or _", i, l.Name))
			continue
		}
		if seenLoc[l.Name] {
			msgs = append(msgs, fmt.Sprintf("locations[%d].name: %q appears twice", i, l.Name))
			continue
		}
		seenLoc[l.Name] = true
		if len(l.CIDRs) == 0 {
			msgs = append(msgs, fmt.Sprintf("locations[%d].cidrs: at least one block is required", i))
		}
		loc := CidrLocation{Name: l.Name}
		for j, c := range l.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("locations[%d].cidrs[%d]: %q is not a CIDR block", i, j, c))
				continue
			}
			p = p.Masked()
			if other, dup := seenCIDR[p]; dup {
				msgs = append(msgs, fmt.Sprintf("locations[%d].cidrs[%d]: %s is already in location %q", i, j, p, other))
				continue
			}
			seenCIDR[p] = l.Name
			loc.CIDRs = append(loc.CIDRs, p.String())
		}
		out = append(out, loc)
	}
	if len(msgs) > 0 {
		return nil, &Error{Code: CodeInvalidInput, Message: "invalid CIDR collection", Messages: msgs}
	}
	return out, nil
}

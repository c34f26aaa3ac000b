package zones

import (
	"encoding/json"
	"time"

	"github.com/miekg/dns"
)

// Zone is a hosted zone as the API shows it.
type Zone struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Comment         string            `json:"comment,omitempty"`
	CallerReference string            `json:"callerReference,omitempty"`
	RecordSetCount  int               `json:"recordSetCount"`
	NameServers     []string          `json:"nameServers"`
	Tags            map[string]string `json:"tags,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
}

// CreateZoneRequest is the body of POST /v1/zones.
type CreateZoneRequest struct {
	Name            string            `json:"name"`
	Comment         string            `json:"comment,omitempty"`
	CallerReference string            `json:"callerReference,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// RecordSet is a resource record set as the API shows it: Route 53's model,
// with values in presentation format. Routing fields (weight, failover, ...)
// make several record sets of one name and type, told apart by SetIdentifier.
type RecordSet struct {
	Name             string             `json:"name"`
	Type             string             `json:"type"`
	TTL              *int64             `json:"ttl,omitempty"`
	Values           []string           `json:"values,omitempty"`
	SetIdentifier    string             `json:"setIdentifier,omitempty"`
	Weight           *int64             `json:"weight,omitempty"`
	Failover         string             `json:"failover,omitempty"`
	MultiValueAnswer *bool              `json:"multiValueAnswer,omitempty"`
	CidrRouting      *CidrRouting       `json:"cidrRouting,omitempty"`
	Region           string             `json:"region,omitempty"`
	GeoLocation      *GeoLocation       `json:"geoLocation,omitempty"`
	HealthCheckID    string             `json:"healthCheckId,omitempty"`
	AliasTarget      *AliasTarget       `json:"aliasTarget,omitempty"`
	HealthCheck      *HealthCheckConfig `json:"healthCheck,omitempty"`
}

// CidrRouting names the CIDR collection location a record set answers for.
type CidrRouting struct {
	CollectionID string `json:"collectionId"`
	LocationName string `json:"locationName"`
}

// GeoLocation is Route 53's geolocation routing key.
type GeoLocation struct {
	ContinentCode   string `json:"continentCode,omitempty"`
	CountryCode     string `json:"countryCode,omitempty"`
	SubdivisionCode string `json:"subdivisionCode,omitempty"`
}

// AliasTarget points a record set at another name in the same zone.
type AliasTarget struct {
	HostedZoneID         string `json:"hostedZoneId,omitempty"`
	DNSName              string `json:"dnsName"`
	EvaluateTargetHealth bool   `json:"evaluateTargetHealth"`
}

// HealthCheckConfig is Route 53's health check configuration.
type HealthCheckConfig struct {
	Type                     string   `json:"type"`
	IPAddress                string   `json:"ipAddress,omitempty"`
	Port                     int      `json:"port,omitempty"`
	ResourcePath             string   `json:"resourcePath,omitempty"`
	FullyQualifiedDomainName string   `json:"fullyQualifiedDomainName,omitempty"`
	SearchString             string   `json:"searchString,omitempty"`
	RequestInterval          int      `json:"requestInterval,omitempty"`
	FailureThreshold         int      `json:"failureThreshold,omitempty"`
	Inverted                 bool     `json:"inverted,omitempty"`
	Disabled                 bool     `json:"disabled,omitempty"`
	EnableSNI                bool     `json:"enableSNI,omitempty"`
	ChildHealthChecks        []string `json:"childHealthChecks,omitempty"`
	HealthThreshold          int      `json:"healthThreshold,omitempty"`
}

// Change actions.
const (
	ActionCreate = "CREATE"
	ActionUpsert = "UPSERT"
	ActionDelete = "DELETE"
)

// Change is one change of a batch.
type Change struct {
	Action    string    `json:"action"`
	RecordSet RecordSet `json:"recordSet"`
}

// ChangeBatch is the body of POST /v1/zones/{id}/rrsets.
type ChangeBatch struct {
	Comment string   `json:"comment,omitempty"`
	Changes []Change `json:"changes"`
}

// Change statuses.
const (
	StatusPending = "PENDING"
	StatusInsync  = "INSYNC"
)

// ChangeInfo is the status of a submitted change.
type ChangeInfo struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	SubmittedAt time.Time `json:"submittedAt"`
	Comment     string    `json:"comment,omitempty"`
}

// SetKey identifies a record set within a zone: owner name (canonical,
// lower-case, fully qualified), type mnemonic, and set identifier.
type SetKey struct {
	Name  string
	Type  string
	SetID string
}

// Set is a validated record set: the normalised RecordSet (canonical names,
// values in miekg/dns presentation format) and its parsed records. RRs is nil
// for alias record sets. A Set is immutable once built.
type Set struct {
	RecordSet
	Qtype uint16
	RRs   []dns.RR
	// CheckID is the health check that decides this set's health: its
	// healthCheckId, or the id of its inline healthCheck (InlineCheckID);
	// "" when it has none.
	CheckID string
}

// Key returns the set's key.
func (s *Set) Key() SetKey {
	return SetKey{Name: s.Name, Type: s.Type, SetID: s.SetIdentifier}
}

// ZoneDelta tells the DNS responder what changed in one zone at one store
// revision. With Reset, Put holds the whole zone; with Removed the zone is gone.
type ZoneDelta struct {
	ZoneID  string
	Origin  string // canonical zone name, e.g. "example.test."
	Reset   bool
	Removed bool
	Put     []*Set
	Del     []SetKey
	// Build, with Reset, is the zone as a ZoneBuild received it, before
	// Put and Del; it comes from the receiver of the delta.
	Build ZoneBuild
}

// ZoneBuild takes the record sets of a zone being rebuilt one at a time,
// so that a node can hand a large zone to its answer table without holding
// it whole beside it (dnsserver.Table.NewBuild). A delta with Reset and
// Build publishes what it received.
type ZoneBuild interface {
	Put(*Set) error
	Del(SetKey) error
}

// ZonePage is one page of ListZones.
type ZonePage struct {
	Zones       []Zone `json:"zones"`
	IsTruncated bool   `json:"isTruncated"`
	NextMarker  string `json:"nextMarker,omitempty"`
}

// ListRecordSetsInput says where a listing starts (Route 53's StartRecordName,
// StartRecordType, StartRecordIdentifier) and how many items it returns.
type ListRecordSetsInput struct {
	Name       string
	Type       string
	Identifier string
	MaxItems   int // 1-300; 0 means 300
}

// RecordSetPage is one page of ListRecordSets, in Route 53's order.
type RecordSetPage struct {
	RecordSets     []RecordSet `json:"recordSets"`
	IsTruncated    bool        `json:"isTruncated"`
	NextName       string      `json:"nextName,omitempty"`
	NextType       string      `json:"nextType,omitempty"`
	NextIdentifier string      `json:"nextIdentifier,omitempty"`
}

// AuditEntry is one API write as the audit log keeps it (CloudTrail-like):
// who made it, what it asked, when, and how it ended.
type AuditEntry struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Who       string            `json:"who"`
	Method    string            `json:"method"`
	Route     string            `json:"route"`
	Path      string            `json:"path"`
	Params    map[string]string `json:"params,omitempty"`
	Request   json.RawMessage   `json:"request,omitempty"`
	BodyBytes int64             `json:"bodyBytes,omitempty"`
	Status    int               `json:"status"`
	ErrorCode string            `json:"errorCode,omitempty"`
	ChangeID  string            `json:"changeId,omitempty"`
	Resource  string            `json:"resource,omitempty"`
}

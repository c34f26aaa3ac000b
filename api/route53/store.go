package route53

import (
	"context"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

// Store is what the Route 53 API needs from the zone store: the same methods
// /v1 calls (api.Store), so both APIs share every rule. Package
// zones/etcdstore satisfies it.
type Store interface {
	CreateZone(ctx context.Context, req zones.CreateZoneRequest) (zones.Zone, zones.ChangeInfo, error)
	GetZone(ctx context.Context, id string) (zones.Zone, error)
	ListZones(ctx context.Context, marker string, maxItems int) (zones.ZonePage, error)
	DeleteZone(ctx context.Context, id string) (zones.ChangeInfo, error)
	ChangeRecordSets(ctx context.Context, zoneID string, batch zones.ChangeBatch, who string) (zones.ChangeInfo, error)
	ListRecordSets(ctx context.Context, zoneID string, in zones.ListRecordSetsInput) (zones.RecordSetPage, error)
	GetChange(ctx context.Context, id string) (zones.ChangeInfo, error)
}

// ZoneCommenter changes a hosted zone's comment (UpdateHostedZoneComment).
// A Store that implements it gets the operation; one that does not answers
// it 501 NotImplemented. The comment follows CreateZone's rules (at most 256
// characters; empty clears it).
type ZoneCommenter interface {
	UpdateZoneComment(ctx context.Context, id, comment string) (zones.Zone, error)
}

// Resource types of ChangeTagsForResource and ListTagsForResource.
const (
	ResourceHostedZone  = "hostedzone"
	ResourceHealthCheck = "healthcheck"
)

// Tagger keeps the tags of hosted zones and health checks (Route 53's
// ChangeTagsForResource and ListTagsForResource); a hosted zone's tags are
// zones.Zone.Tags, so /v1 shows the same ones. resourceType is
// ResourceHostedZone or ResourceHealthCheck and id is bare ("Z...", a UUID).
// An unknown resource is NoSuchHostedZone or NoSuchHealthCheck; tags over
// Route 53's limits (50 a resource, keys up to 128 characters, values up to
// 256) are InvalidInput.
type Tagger interface {
	ResourceTags(ctx context.Context, resourceType, id string) (map[string]string, error)
	// ChangeResourceTags adds (or overwrites) add and removes the keys in
	// remove, atomically.
	ChangeResourceTags(ctx context.Context, resourceType, id string, add map[string]string, remove []string) error
}

// DNSQuestion is the input of TestDNSAnswer.
type DNSQuestion struct {
	ZoneID string
	Name   string
	Type   string
	// ResolverIP and ClientSubnet (CIDR) say who asks; empty means the
	// defaults the /v1 testdnsanswer route uses.
	ResolverIP   string
	ClientSubnet string
}

// DNSAnswer is what the DNS responder would answer a DNSQuestion.
type DNSAnswer struct {
	Nameserver string
	Protocol   string // UDP or TCP
	RCode      string // NOERROR, NXDOMAIN, ...
	// Records holds the answer section's record data in presentation form.
	Records []string
}

// DNSAnswerer answers TestDNSAnswer with the same code the DNS responder
// and GET /v1/testdnsanswer use.
type DNSAnswerer interface {
	TestDNSAnswer(ctx context.Context, q DNSQuestion) (DNSAnswer, error)
}

// HealthChecks is the health check service the /v1 routes use; package
// healthcheck's Store satisfies it. Errors a caller caused are *zones.Error
// values (InvalidInput, NoSuchHealthCheck, HealthCheckAlreadyExists,
// HealthCheckInUse, HealthCheckVersionMismatch).
type HealthChecks interface {
	CreateHealthCheck(ctx context.Context, req healthcheck.CreateRequest) (healthcheck.HealthCheck, bool, error)
	GetHealthCheck(ctx context.Context, id string) (healthcheck.HealthCheck, error)
	ListHealthChecks(ctx context.Context, marker string, maxItems int) (healthcheck.Page, error)
	UpdateHealthCheck(ctx context.Context, id string, req healthcheck.UpdateRequest) (healthcheck.HealthCheck, error)
	DeleteHealthCheck(ctx context.Context, id string) error
	HealthCheckStatus(ctx context.Context, id string) (healthcheck.Status, error)
}

package route53

import (
	"context"

	"github.com/healthdns/healthdns/dnsserver"
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

// ZoneTagger changes a hosted zone's tags (zones.Zone.Tags, which /v1 shows
// too), as ChangeTagsForResource does: add adds or overwrites, remove
// deletes, atomically, within Route 53's limits. A Store that implements it
// gets ChangeTagsForResource on hosted zones; ListTagsForResource reads
// zones.Zone.Tags.
type ZoneTagger interface {
	ChangeZoneTags(ctx context.Context, id string, add map[string]string, remove []string) (zones.Zone, error)
}

// HealthCheckTagger keeps the tags of health checks. Options.HealthCheckTags
// or, failing that, Options.HealthChecks may implement it; without it a
// health check lists no tags and ChangeTagsForResource on one is 501.
type HealthCheckTagger interface {
	HealthCheckTags(ctx context.Context, id string) (map[string]string, error)
	ChangeHealthCheckTags(ctx context.Context, id string, add map[string]string, remove []string) error
}

// DNSAnswerer answers TestDNSAnswer from the DNS responder's own snapshot;
// *dnsserver.Table satisfies it, as it does for GET /v1/testdnsanswer.
type DNSAnswerer interface {
	TestDNSAnswer(q dnsserver.AnswerRequest) (dnsserver.AnswerResult, error)
}

var _ DNSAnswerer = (*dnsserver.Table)(nil)

// HealthChecks is the health check service, the methods of
// api.HealthCheckService this API needs; *healthcheck.Service satisfies
// both, so /v1 and Route 53 share every rule. Errors a caller caused are *zones.Error
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

var _ HealthChecks = (*healthcheck.Service)(nil)

// Auditor records API writes; the etcd store satisfies it, and GET
// /v1/audit lists what it keeps, whichever API made the write.
type Auditor interface {
	RecordAudit(ctx context.Context, e zones.AuditEntry) error
}

package api

import (
	"context"
	"io"

	"github.com/healthdns/healthdns/zones"
)

// Store is what the API needs from the zone store. Package zones/etcdstore
// satisfies it; errors a caller caused are *zones.Error values, which the API
// turns into HTTP statuses in one place (see errors.go).
//
// who is the name of the authenticated caller, for the audit trail.
type Store interface {
	CreateZone(ctx context.Context, req zones.CreateZoneRequest) (zones.Zone, zones.ChangeInfo, error)
	GetZone(ctx context.Context, id string) (zones.Zone, error)
	ListZones(ctx context.Context, marker string, maxItems int) (zones.ZonePage, error)
	DeleteZone(ctx context.Context, id string) (zones.ChangeInfo, error)
	ChangeRecordSets(ctx context.Context, zoneID string, batch zones.ChangeBatch, who string) (zones.ChangeInfo, error)
	ListRecordSets(ctx context.Context, zoneID string, in zones.ListRecordSetsInput) (zones.RecordSetPage, error)
	GetChange(ctx context.Context, id string) (zones.ChangeInfo, error)
	ImportZoneFile(ctx context.Context, zoneID string, zonefile io.Reader, who string) (zones.ChangeInfo, error)
	ExportZoneFile(ctx context.Context, zoneID string, w io.Writer) error
}

package route53

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// Page sizes (Route 53's).
const (
	maxZonesPerPage      = 100
	maxRecordSetsPerPage = 300
)

// bareID strips Route 53's "/hostedzone/" or "/change/" prefix from an id,
// with or without the leading slash. Ids are otherwise passed to the store
// as given: an id of the wrong shape is simply not found there.
func bareID(id, kind string) string {
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(id, "/"), kind+"/"); ok {
		return rest
	}
	return id
}

// dnsName turns a name as Route 53 takes it into DNS presentation format,
// which the model parses. Route 53 writes characters other than letters,
// digits, '-' and '_' as a backslash and three octal digits ("\052" is
// '*'), where presentation format would read decimal. Other text passes
// as it is.
func dnsName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] <= '3' && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			c := (s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0') // at most \377
			switch {
			case c == '*' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, `\%03d`, c)
			}
			i += 3
			continue
		}
		b.WriteByte(s[i])
		if s[i] == '\\' && i+1 < len(s) { // keep any other escape whole
			i++
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func zoneRef(id string) string   { return "/hostedzone/" + id }
func changeRef(id string) string { return "/change/" + id }

// timestamp formats a time as Route 53 does (ISO 8601, UTC, milliseconds).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func hostedZoneXML(z zones.Zone) xmlHostedZone {
	f := false
	return xmlHostedZone{
		ID:                     zoneRef(z.ID),
		Name:                   z.Name,
		CallerReference:        z.CallerReference,
		Config:                 &xmlHostedZoneConfig{Comment: z.Comment, PrivateZone: &f},
		ResourceRecordSetCount: int64(z.RecordSetCount),
	}
}

func changeInfoXML(ci zones.ChangeInfo) xmlChangeInfo {
	return xmlChangeInfo{ID: changeRef(ci.ID), Status: ci.Status, SubmittedAt: timestamp(ci.SubmittedAt), Comment: ci.Comment}
}

func delegationSetXML(z zones.Zone) xmlDelegationSet {
	ns := z.NameServers
	if ns == nil {
		ns = []string{}
	}
	return xmlDelegationSet{NameServers: ns}
}

// location is the URL of a created resource on the server the client used.
func location(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(PathPrefix, "/") + path
}

func (h *Handler) createHostedZone(c *call) error {
	var in createHostedZoneRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return invalidInput("Name: required")
	}
	if in.CallerReference == "" {
		return invalidInput("CallerReference: required (a unique string, e.g. a timestamp)")
	}
	if in.VPC != nil || (in.HostedZoneConfig != nil && in.HostedZoneConfig.PrivateZone != nil && *in.HostedZoneConfig.PrivateZone) {
		return invalidInput("VPC, PrivateZone: private hosted zones are not supported; healthdns serves public zones")
	}
	if in.DelegationSetID != "" {
		return invalidInput("DelegationSetId: reusable delegation sets are not supported; new zones get the server's --nameservers")
	}
	req := zones.CreateZoneRequest{Name: dnsName(in.Name), CallerReference: in.CallerReference}
	if in.HostedZoneConfig != nil {
		req.Comment = in.HostedZoneConfig.Comment
	}
	c.auditReq = req
	z, ci, err := h.store.CreateZone(c.ctx(), req)
	if err != nil {
		return err
	}
	c.resource, c.changeID = z.ID, ci.ID
	h.audit(c, "zone created", "zone", z.ID, "name", z.Name, "change", ci.ID)
	c.w.Header().Set("Location", location(c.r, zoneRef(z.ID)))
	h.writeXML(c, http.StatusCreated, createHostedZoneResponse{
		HostedZone:    hostedZoneXML(z),
		ChangeInfo:    changeInfoXML(ci),
		DelegationSet: delegationSetXML(z),
	})
	return nil
}

func (h *Handler) getHostedZone(c *call) error {
	z, err := h.store.GetZone(c.ctx(), bareID(c.params[0], "hostedzone"))
	if err != nil {
		return err
	}
	return h.ok(c, getHostedZoneResponse{HostedZone: hostedZoneXML(z), DelegationSet: delegationSetXML(z)})
}

func (h *Handler) listHostedZones(c *call) error {
	if c.query.Get("delegationsetid") != "" {
		return invalidInput("delegationsetid: reusable delegation sets are not supported")
	}
	n, err := maxItemsParam(c.query, maxZonesPerPage)
	if err != nil {
		return err
	}
	out := listHostedZonesResponse{HostedZones: []xmlHostedZone{}, Marker: c.query.Get("marker"), MaxItems: strconv.Itoa(n)}
	if t := c.query.Get("hostedzonetype"); t != "" {
		if t != "PrivateHostedZone" {
			return invalidInput("hostedzonetype %q: want PrivateHostedZone", clip(t))
		}
		return h.ok(c, out) // every zone here is public
	}
	page, err := h.store.ListZones(c.ctx(), bareID(out.Marker, "hostedzone"), n)
	if err != nil {
		return err
	}
	for _, z := range page.Zones {
		out.HostedZones = append(out.HostedZones, hostedZoneXML(z))
	}
	out.IsTruncated, out.NextMarker = page.IsTruncated, page.NextMarker
	return h.ok(c, out)
}

// allZones reads every zone, in Route 53's order (by name, labels
// reversed), a page at a time.
func (h *Handler) allZones(ctx context.Context) ([]zones.Zone, error) {
	var all []zones.Zone
	err := eachPage(func(marker string) (string, bool, error) {
		page, err := h.store.ListZones(ctx, marker, maxZonesPerPage)
		if err != nil {
			return "", false, err
		}
		all = append(all, page.Zones...)
		return page.NextMarker, page.IsTruncated, nil
	})
	return all, err
}

func (h *Handler) listHostedZonesByName(c *call) error {
	n, err := maxItemsParam(c.query, maxZonesPerPage)
	if err != nil {
		return err
	}
	startName, startID := c.query.Get("dnsname"), bareID(c.query.Get("hostedzoneid"), "hostedzone")
	if startID != "" && startName == "" {
		return invalidInput("hostedzoneid: given without dnsname")
	}
	out := listHostedZonesByNameResponse{HostedZones: []xmlHostedZone{}, DNSName: startName,
		HostedZoneID: c.query.Get("hostedzoneid"), MaxItems: strconv.Itoa(n)}
	var startKey string
	if startName != "" {
		name, err := zones.CanonicalName(dnsName(startName))
		if err != nil {
			return zones.Errorf("InvalidDomainName", "dnsname: %v", err)
		}
		startKey = zones.ListKey(name)
	}
	all, err := h.allZones(c.ctx())
	if err != nil {
		return err
	}
	i := 0
	for ; i < len(all) && startKey != ""; i++ {
		k := zones.ListKey(all[i].Name)
		if k > startKey || (k == startKey && all[i].ID >= startID) {
			break
		}
	}
	for ; i < len(all) && len(out.HostedZones) < n; i++ {
		out.HostedZones = append(out.HostedZones, hostedZoneXML(all[i]))
	}
	if i < len(all) {
		out.IsTruncated, out.NextDNSName, out.NextHostedZoneID = true, all[i].Name, all[i].ID
	}
	return h.ok(c, out)
}

func (h *Handler) getHostedZoneCount(c *call) error {
	all, err := h.allZones(c.ctx())
	if err != nil {
		return err
	}
	return h.ok(c, getHostedZoneCountResponse{HostedZoneCount: int64(len(all))})
}

func (h *Handler) deleteHostedZone(c *call) error {
	id := bareID(c.params[0], "hostedzone")
	c.resource = id
	ci, err := h.store.DeleteZone(c.ctx(), id)
	if err != nil {
		return err
	}
	c.changeID = ci.ID
	h.audit(c, "zone deleted", "zone", id, "change", ci.ID)
	return h.ok(c, deleteHostedZoneResponse{ChangeInfo: changeInfoXML(ci)})
}

func (h *Handler) updateHostedZoneComment(c *call) error {
	var in updateHostedZoneCommentRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if h.comment == nil {
		return notImplemented("UpdateHostedZoneComment: this server's store cannot change a zone's comment")
	}
	id := bareID(c.params[0], "hostedzone")
	c.resource, c.auditReq = id, map[string]string{"comment": in.Comment}
	z, err := h.comment.UpdateZoneComment(c.ctx(), id, in.Comment)
	if err != nil {
		return err
	}
	h.audit(c, "zone comment updated", "zone", id)
	return h.ok(c, updateHostedZoneCommentResponse{HostedZone: hostedZoneXML(z)})
}

func (h *Handler) changeResourceRecordSets(c *call) error {
	var in changeResourceRecordSetsRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.ChangeBatch == nil {
		return invalidInput("ChangeBatch: required")
	}
	id := bareID(c.params[0], "hostedzone")
	batch := zones.ChangeBatch{Comment: in.ChangeBatch.Comment, Changes: make([]zones.Change, 0, len(in.ChangeBatch.Changes))}
	var msgs []string
	for i, ch := range in.ChangeBatch.Changes {
		rs, err := recordSetModel(ch.ResourceRecordSet, id)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("change %d (%s %s %s): %v", i+1, ch.Action, ch.ResourceRecordSet.Name, ch.ResourceRecordSet.Type, err))
			continue
		}
		batch.Changes = append(batch.Changes, zones.Change{Action: ch.Action, RecordSet: rs})
	}
	c.resource, c.auditReq = id, batch
	if len(msgs) > 0 {
		return &zones.Error{Code: zones.CodeInvalidChangeBatch, Messages: msgs,
			Message: fmt.Sprintf("%d of %d changes are invalid; nothing was changed", len(msgs), len(in.ChangeBatch.Changes))}
	}
	ci, err := h.store.ChangeRecordSets(c.ctx(), id, batch, c.who)
	if err != nil {
		return err
	}
	c.changeID = ci.ID
	h.audit(c, "record sets changed", "zone", id, "change", ci.ID, "changes", len(batch.Changes))
	return h.ok(c, changeResourceRecordSetsResponse{ChangeInfo: changeInfoXML(ci)})
}

func (h *Handler) listResourceRecordSets(c *call) error {
	id := bareID(c.params[0], "hostedzone")
	n, err := maxItemsParam(c.query, maxRecordSetsPerPage)
	if err != nil {
		return err
	}
	in := zones.ListRecordSetsInput{Name: dnsName(c.query.Get("name")), Type: c.query.Get("type"),
		Identifier: c.query.Get("identifier"), MaxItems: n}
	page, err := h.store.ListRecordSets(c.ctx(), id, in)
	if err != nil {
		return err
	}
	out := listResourceRecordSetsResponse{ResourceRecordSets: make([]xmlResourceRecordSet, 0, len(page.RecordSets)),
		IsTruncated: page.IsTruncated, MaxItems: strconv.Itoa(n)}
	for _, rs := range page.RecordSets {
		out.ResourceRecordSets = append(out.ResourceRecordSets, recordSetXML(rs, id))
	}
	if page.IsTruncated {
		out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = page.NextName, page.NextType, page.NextIdentifier
	}
	return h.ok(c, out)
}

func (h *Handler) getChange(c *call) error {
	ci, err := h.store.GetChange(c.ctx(), bareID(c.params[0], "change"))
	if err != nil {
		return err
	}
	return h.ok(c, getChangeResponse{ChangeInfo: changeInfoXML(ci)})
}

// recordSetModel maps a ResourceRecordSet to the model's RecordSet, field
// for field; validation is the model's (zones.PlanBatch), so both APIs apply
// the same rules. Only what the model has no field for is refused here.
func recordSetModel(x xmlResourceRecordSet, zoneID string) (zones.RecordSet, error) {
	if x.TrafficPolicyInstanceID != "" {
		return zones.RecordSet{}, fmt.Errorf("TrafficPolicyInstanceId: traffic policies are not supported")
	}
	if x.GeoProximityLocation != nil {
		return zones.RecordSet{}, fmt.Errorf("GeoProximityLocation: geoproximity routing is not supported")
	}
	rs := zones.RecordSet{
		Name:             dnsName(x.Name),
		Type:             x.Type,
		TTL:              x.TTL,
		SetIdentifier:    x.SetIdentifier,
		Weight:           x.Weight,
		Failover:         x.Failover,
		MultiValueAnswer: x.MultiValueAnswer,
		Region:           x.Region,
		HealthCheckID:    x.HealthCheckID,
	}
	for _, r := range x.ResourceRecords {
		rs.Values = append(rs.Values, r.Value)
	}
	if g := x.GeoLocation; g != nil {
		rs.GeoLocation = &zones.GeoLocation{ContinentCode: g.ContinentCode, CountryCode: g.CountryCode, SubdivisionCode: g.SubdivisionCode}
	}
	if cr := x.CidrRoutingConfig; cr != nil {
		rs.CidrRouting = &zones.CidrRouting{CollectionID: cr.CollectionID, LocationName: cr.LocationName}
	}
	if a := x.AliasTarget; a != nil {
		// Route 53 requires the target's zone id; targets here are in the
		// same zone, which the model records as no id.
		hz := bareID(a.HostedZoneID, "hostedzone")
		if hz == zoneID {
			hz = ""
		}
		rs.AliasTarget = &zones.AliasTarget{HostedZoneID: hz, DNSName: dnsName(a.DNSName), EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return rs, nil
}

// recordSetXML maps a stored RecordSet to Route 53's shape. An inline health
// check (HealthCheck, /v1 only) has no place in it and is left out.
func recordSetXML(rs zones.RecordSet, zoneID string) xmlResourceRecordSet {
	x := xmlResourceRecordSet{
		Name:             rs.Name,
		Type:             rs.Type,
		TTL:              rs.TTL,
		SetIdentifier:    rs.SetIdentifier,
		Weight:           rs.Weight,
		Failover:         rs.Failover,
		MultiValueAnswer: rs.MultiValueAnswer,
		Region:           rs.Region,
		HealthCheckID:    rs.HealthCheckID,
	}
	for _, v := range rs.Values {
		x.ResourceRecords = append(x.ResourceRecords, xmlResourceRecord{Value: v})
	}
	if g := rs.GeoLocation; g != nil {
		x.GeoLocation = &xmlGeoLocation{ContinentCode: g.ContinentCode, CountryCode: g.CountryCode, SubdivisionCode: g.SubdivisionCode}
	}
	if cr := rs.CidrRouting; cr != nil {
		x.CidrRoutingConfig = &xmlCidrRoutingConfig{CollectionID: cr.CollectionID, LocationName: cr.LocationName}
	}
	if a := rs.AliasTarget; a != nil {
		hz := a.HostedZoneID
		if hz == "" {
			hz = zoneID
		}
		x.AliasTarget = &xmlAliasTarget{HostedZoneID: hz, DNSName: a.DNSName, EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return x
}

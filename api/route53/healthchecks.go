package route53

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

// The health check XML shapes.

type xmlHealthCheckConfig struct {
	IPAddress                    string      `xml:"IPAddress,omitempty"`
	Port                         int         `xml:"Port,omitempty"`
	Type                         string      `xml:"Type"`
	ResourcePath                 string      `xml:"ResourcePath,omitempty"`
	FullyQualifiedDomainName     string      `xml:"FullyQualifiedDomainName,omitempty"`
	SearchString                 string      `xml:"SearchString,omitempty"`
	RequestInterval              int         `xml:"RequestInterval,omitempty"`
	FailureThreshold             int         `xml:"FailureThreshold,omitempty"`
	MeasureLatency               *bool       `xml:"MeasureLatency,omitempty"`
	Inverted                     *bool       `xml:"Inverted,omitempty"`
	Disabled                     *bool       `xml:"Disabled,omitempty"`
	HealthThreshold              *int        `xml:"HealthThreshold,omitempty"`
	ChildHealthChecks            []string    `xml:"ChildHealthChecks>ChildHealthCheck,omitempty"`
	EnableSNI                    *bool       `xml:"EnableSNI,omitempty"`
	Regions                      []string    `xml:"Regions>Region,omitempty"`
	AlarmIdentifier              *xmlPresent `xml:"AlarmIdentifier,omitempty"`
	InsufficientDataHealthStatus string      `xml:"InsufficientDataHealthStatus,omitempty"`
	RoutingControlArn            string      `xml:"RoutingControlArn,omitempty"`
}

type xmlHealthCheck struct {
	ID                 string               `xml:"Id"`
	CallerReference    string               `xml:"CallerReference"`
	HealthCheckConfig  xmlHealthCheckConfig `xml:"HealthCheckConfig"`
	HealthCheckVersion int64                `xml:"HealthCheckVersion"`
}

type createHealthCheckRequest struct {
	XMLName           xml.Name              `xml:"CreateHealthCheckRequest"`
	CallerReference   string                `xml:"CallerReference"`
	HealthCheckConfig *xmlHealthCheckConfig `xml:"HealthCheckConfig"`
}

type createHealthCheckResponse struct {
	XMLName     xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateHealthCheckResponse"`
	HealthCheck xmlHealthCheck `xml:"HealthCheck"`
}

type getHealthCheckResponse struct {
	XMLName     xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckResponse"`
	HealthCheck xmlHealthCheck `xml:"HealthCheck"`
}

type listHealthChecksResponse struct {
	XMLName      xml.Name         `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHealthChecksResponse"`
	HealthChecks []xmlHealthCheck `xml:"HealthChecks>HealthCheck"`
	Marker       string           `xml:"Marker"`
	IsTruncated  bool             `xml:"IsTruncated"`
	NextMarker   string           `xml:"NextMarker,omitempty"`
	MaxItems     string           `xml:"MaxItems"`
}

// updateHealthCheckRequest holds the fields to change; absent ones keep
// their value (Route 53's partial update).
type updateHealthCheckRequest struct {
	XMLName                      xml.Name    `xml:"UpdateHealthCheckRequest"`
	HealthCheckVersion           *int64      `xml:"HealthCheckVersion"`
	IPAddress                    *string     `xml:"IPAddress"`
	Port                         *int        `xml:"Port"`
	ResourcePath                 *string     `xml:"ResourcePath"`
	FullyQualifiedDomainName     *string     `xml:"FullyQualifiedDomainName"`
	SearchString                 *string     `xml:"SearchString"`
	FailureThreshold             *int        `xml:"FailureThreshold"`
	Inverted                     *bool       `xml:"Inverted"`
	Disabled                     *bool       `xml:"Disabled"`
	HealthThreshold              *int        `xml:"HealthThreshold"`
	ChildHealthChecks            *xmlIDList  `xml:"ChildHealthChecks"`
	EnableSNI                    *bool       `xml:"EnableSNI"`
	Regions                      *xmlPresent `xml:"Regions"`
	AlarmIdentifier              *xmlPresent `xml:"AlarmIdentifier"`
	InsufficientDataHealthStatus string      `xml:"InsufficientDataHealthStatus"`
	ResetElements                []string    `xml:"ResetElements>ResettableElementName"`
}

type xmlIDList struct {
	IDs []string `xml:"ChildHealthCheck"`
}

type updateHealthCheckResponse struct {
	XMLName     xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ UpdateHealthCheckResponse"`
	HealthCheck xmlHealthCheck `xml:"HealthCheck"`
}

type deleteHealthCheckResponse struct {
	XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteHealthCheckResponse"`
}

type xmlObservation struct {
	Region       string `xml:"Region,omitempty"`
	IPAddress    string `xml:"IPAddress,omitempty"`
	StatusReport struct {
		Status      string `xml:"Status"`
		CheckedTime string `xml:"CheckedTime"`
	} `xml:"StatusReport"`
}

type healthCheckObservationsResponse struct {
	XMLName                 xml.Name
	HealthCheckObservations []xmlObservation `xml:"HealthCheckObservations>HealthCheckObservation"`
}

type getHealthCheckCountResponse struct {
	XMLName          xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckCountResponse"`
	HealthCheckCount int64    `xml:"HealthCheckCount"`
}

func healthCheckXML(hc healthcheck.HealthCheck) xmlHealthCheck {
	c := hc.Config
	x := xmlHealthCheckConfig{
		IPAddress:                c.IPAddress,
		Port:                     c.Port,
		Type:                     c.Type,
		ResourcePath:             c.ResourcePath,
		FullyQualifiedDomainName: c.FullyQualifiedDomainName,
		SearchString:             c.SearchString,
		RequestInterval:          c.RequestInterval,
		FailureThreshold:         c.FailureThreshold,
		Inverted:                 &c.Inverted,
		Disabled:                 &c.Disabled,
		ChildHealthChecks:        c.ChildHealthChecks,
	}
	if healthcheck.IsEndpoint(c.Type) {
		f := false
		x.MeasureLatency = &f
	}
	if c.Type == healthcheck.TypeHTTPS || c.Type == healthcheck.TypeHTTPSStrMatch {
		x.EnableSNI = &c.EnableSNI
	}
	if c.Type == healthcheck.TypeCalculated {
		x.HealthThreshold = &c.HealthThreshold
	}
	return xmlHealthCheck{ID: hc.ID, CallerReference: hc.CallerReference, HealthCheckConfig: x, HealthCheckVersion: hc.Version}
}

// healthCheckConfigModel maps Route 53's HealthCheckConfig to the model's.
// Validation and defaults are the model's (healthcheck.Normalize, in the
// store); only what the model has no field for is refused here. Two of
// /v1's extensions fit Route 53's wire format and pass through: Type
// ROUTING_CONTROL and any RequestInterval from 1 to 30.
func healthCheckConfigModel(x xmlHealthCheckConfig) (zones.HealthCheckConfig, error) {
	switch {
	case x.Type == "RECOVERY_CONTROL" || x.RoutingControlArn != "":
		return zones.HealthCheckConfig{}, invalidInput("Type RECOVERY_CONTROL, RoutingControlArn: Route 53 ARC is not supported; use Type ROUTING_CONTROL, switched ON and OFF with PUT /v1/healthchecks/{id}/routingcontrol")
	case x.Type == "CLOUDWATCH_METRIC" || x.AlarmIdentifier != nil || x.InsufficientDataHealthStatus != "":
		return zones.HealthCheckConfig{}, invalidInput("Type CLOUDWATCH_METRIC, AlarmIdentifier, InsufficientDataHealthStatus: CloudWatch alarms are not supported")
	case len(x.Regions) > 0:
		return zones.HealthCheckConfig{}, invalidInput("Regions: every checker node probes every check; its region is its --checker-region")
	case x.MeasureLatency != nil && *x.MeasureLatency:
		return zones.HealthCheckConfig{}, invalidInput("MeasureLatency: latency graphs are not supported")
	}
	c := zones.HealthCheckConfig{
		Type:                     x.Type,
		IPAddress:                x.IPAddress,
		Port:                     x.Port,
		ResourcePath:             x.ResourcePath,
		FullyQualifiedDomainName: x.FullyQualifiedDomainName,
		SearchString:             x.SearchString,
		RequestInterval:          x.RequestInterval,
		FailureThreshold:         x.FailureThreshold,
		ChildHealthChecks:        x.ChildHealthChecks,
	}
	setIf(&c.Inverted, x.Inverted)
	setIf(&c.Disabled, x.Disabled)
	setIf(&c.EnableSNI, x.EnableSNI)
	setIf(&c.HealthThreshold, x.HealthThreshold)
	return c, nil
}

// healthCheckID returns a health check id lower-case, as the store keeps
// it, or InvalidInput.
func healthCheckID(s string) (string, error) {
	id, ok := healthcheck.CanonicalID(s)
	if !ok {
		return "", invalidInput("HealthCheckId %q is not a health check id (a UUID, 8-4-4-4-12 hexadecimal digits)", clip(s))
	}
	return id, nil
}

func (h *Handler) healthChecks() (HealthChecks, error) {
	if h.o.HealthChecks == nil {
		return nil, notImplemented("health checks are not served by this server")
	}
	return h.o.HealthChecks, nil
}

func (h *Handler) createHealthCheck(c *call) error {
	hcs, err := h.healthChecks()
	if err != nil {
		return err
	}
	var in createHealthCheckRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.CallerReference == "" {
		return invalidInput("CallerReference: required")
	}
	if in.HealthCheckConfig == nil {
		return invalidInput("HealthCheckConfig: required")
	}
	cfg, err := healthCheckConfigModel(*in.HealthCheckConfig)
	if err != nil {
		return err
	}
	req := healthcheck.CreateRequest{CallerReference: in.CallerReference, Config: cfg}
	c.auditReq = req
	hc, created, err := hcs.CreateHealthCheck(c.ctx(), req)
	if err != nil {
		return err
	}
	c.resource = hc.ID
	if created {
		h.audit(c, "health check created", "healthCheck", hc.ID, "type", hc.Config.Type)
	}
	c.w.Header().Set("Location", location(c.r, "/healthcheck/"+hc.ID))
	h.writeXML(c, http.StatusCreated, createHealthCheckResponse{HealthCheck: healthCheckXML(hc)})
	return nil
}

func (h *Handler) getHealthCheck(c *call) error {
	hcs, id, err := h.healthCheckTarget(c)
	if err != nil {
		return err
	}
	hc, err := hcs.GetHealthCheck(c.ctx(), id)
	if err != nil {
		return err
	}
	return h.ok(c, getHealthCheckResponse{HealthCheck: healthCheckXML(hc)})
}

func (h *Handler) listHealthChecks(c *call) error {
	hcs, err := h.healthChecks()
	if err != nil {
		return err
	}
	n, err := maxItemsParam(c.query, healthcheck.MaxPageSize)
	if err != nil {
		return err
	}
	if c.query.Get("maxitems") == "" {
		n = healthcheck.DefaultPageSize
	}
	marker := c.query.Get("marker")
	if marker != "" {
		if marker, err = healthCheckID(marker); err != nil {
			return err
		}
	}
	page, err := hcs.ListHealthChecks(c.ctx(), marker, n)
	if err != nil {
		return err
	}
	out := listHealthChecksResponse{HealthChecks: []xmlHealthCheck{}, Marker: c.query.Get("marker"),
		IsTruncated: page.IsTruncated, NextMarker: page.NextMarker, MaxItems: strconv.Itoa(n)}
	for _, hc := range page.HealthChecks {
		out.HealthChecks = append(out.HealthChecks, healthCheckXML(hc))
	}
	return h.ok(c, out)
}

func (h *Handler) getHealthCheckCount(c *call) error {
	hcs, err := h.healthChecks()
	if err != nil {
		return err
	}
	var n int64
	if err := eachPage(func(marker string) (string, bool, error) {
		page, err := hcs.ListHealthChecks(c.ctx(), marker, healthcheck.MaxPageSize)
		if err != nil {
			return "", false, err
		}
		n += int64(len(page.HealthChecks))
		return page.NextMarker, page.IsTruncated, nil
	}); err != nil {
		return err
	}
	return h.ok(c, getHealthCheckCountResponse{HealthCheckCount: n})
}

// resettable are the elements ResetElements may name, and what resetting
// them means: back to the value a new check would get.
var resettable = map[string]func(*zones.HealthCheckConfig){
	"FullyQualifiedDomainName": func(c *zones.HealthCheckConfig) { c.FullyQualifiedDomainName = "" },
	"ResourcePath":             func(c *zones.HealthCheckConfig) { c.ResourcePath = "" },
	"ChildHealthChecks":        func(c *zones.HealthCheckConfig) { c.ChildHealthChecks = nil },
	"Regions":                  func(*zones.HealthCheckConfig) {},
}

// maxUpdateAttempts bounds the read-merge-write retries of an update that
// names no version when another update races it.
const maxUpdateAttempts = 3

func (h *Handler) updateHealthCheck(c *call) error {
	hcs, err := h.healthChecks()
	if err != nil {
		return err
	}
	var in updateHealthCheckRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	switch {
	case in.Regions != nil:
		return invalidInput("Regions: every checker node probes every check; its region is its --checker-region")
	case in.AlarmIdentifier != nil || in.InsufficientDataHealthStatus != "":
		return invalidInput("AlarmIdentifier, InsufficientDataHealthStatus: CloudWatch alarms are not supported")
	}
	for _, e := range in.ResetElements {
		if resettable[e] == nil {
			return invalidInput("ResetElements: %q cannot be reset (FullyQualifiedDomainName, Regions, ResourcePath or ChildHealthChecks)", clip(e))
		}
	}
	id, err := healthCheckID(c.params[0])
	if err != nil {
		return err
	}
	c.resource = id
	for attempt := 1; ; attempt++ {
		cur, err := hcs.GetHealthCheck(c.ctx(), id)
		if err != nil {
			return err
		}
		cfg := mergeUpdate(cur.Config, in)
		version := cur.Version
		if in.HealthCheckVersion != nil {
			version = *in.HealthCheckVersion
		}
		req := healthcheck.UpdateRequest{Config: cfg, Version: version}
		c.auditReq = req
		hc, err := hcs.UpdateHealthCheck(c.ctx(), cur.ID, req)
		if zones.CodeOf(err) == healthcheck.CodeHealthCheckVersionMismatch && in.HealthCheckVersion == nil && attempt < maxUpdateAttempts {
			continue // changed since we read it: merge again
		}
		if err != nil {
			return err
		}
		h.audit(c, "health check updated", "healthCheck", hc.ID, "version", hc.Version)
		return h.ok(c, updateHealthCheckResponse{HealthCheck: healthCheckXML(hc)})
	}
}

// mergeUpdate applies Route 53's partial update to a configuration: given
// fields replace, ResetElements go back to their defaults, the rest stays.
func mergeUpdate(c zones.HealthCheckConfig, in updateHealthCheckRequest) zones.HealthCheckConfig {
	c.ChildHealthChecks = append([]string(nil), c.ChildHealthChecks...)
	for _, e := range in.ResetElements {
		resettable[e](&c)
	}
	setIf(&c.IPAddress, in.IPAddress)
	setIf(&c.ResourcePath, in.ResourcePath)
	setIf(&c.FullyQualifiedDomainName, in.FullyQualifiedDomainName)
	setIf(&c.SearchString, in.SearchString)
	setIf(&c.Port, in.Port)
	setIf(&c.FailureThreshold, in.FailureThreshold)
	setIf(&c.HealthThreshold, in.HealthThreshold)
	setIf(&c.Inverted, in.Inverted)
	setIf(&c.Disabled, in.Disabled)
	setIf(&c.EnableSNI, in.EnableSNI)
	if in.ChildHealthChecks != nil {
		c.ChildHealthChecks = in.ChildHealthChecks.IDs
	}
	return c
}

func (h *Handler) deleteHealthCheck(c *call) error {
	hcs, id, err := h.healthCheckTarget(c)
	if err != nil {
		return err
	}
	c.resource = id
	if err := hcs.DeleteHealthCheck(c.ctx(), id); err != nil {
		return err
	}
	h.audit(c, "health check deleted", "healthCheck", id)
	return h.ok(c, deleteHealthCheckResponse{})
}

func (h *Handler) getHealthCheckStatus(c *call) error {
	return h.observations(c, "GetHealthCheckStatusResponse", func(string) bool { return true })
}

// getHealthCheckLastFailureReason answers, per checker, the observation of
// each checker that currently reports a failure: a checker's last failure
// is kept only while it lasts.
func (h *Handler) getHealthCheckLastFailureReason(c *call) error {
	return h.observations(c, "GetHealthCheckLastFailureReasonResponse", func(status string) bool {
		return strings.HasPrefix(status, "Failure")
	})
}

func (h *Handler) observations(c *call, root string, keep func(status string) bool) error {
	hcs, id, err := h.healthCheckTarget(c)
	if err != nil {
		return err
	}
	st, err := hcs.HealthCheckStatus(c.ctx(), id)
	if err != nil {
		return err
	}
	out := healthCheckObservationsResponse{XMLName: xml.Name{Space: Namespace, Local: root},
		HealthCheckObservations: []xmlObservation{}}
	for _, o := range st.Observations {
		if !keep(o.Status) {
			continue
		}
		var x xmlObservation
		x.Region = o.Region
		x.StatusReport.Status = o.Status
		x.StatusReport.CheckedTime = timestamp(o.CheckedAt)
		out.HealthCheckObservations = append(out.HealthCheckObservations, x)
	}
	return h.ok(c, out)
}

// healthCheckTarget returns the health-check service and the id in the
// request's path.
func (h *Handler) healthCheckTarget(c *call) (HealthChecks, string, error) {
	hcs, err := h.healthChecks()
	if err != nil {
		return nil, "", err
	}
	id, err := healthCheckID(c.params[0])
	return hcs, id, err
}

// setIf copies *src to *dst when src is set: an optional XML element.
func setIf[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}

// eachPage calls list from marker "" on until a page ends the listing: not
// truncated, or no new marker.
func eachPage(list func(marker string) (next string, truncated bool, err error)) error {
	marker := ""
	for {
		next, more, err := list(marker)
		if err != nil {
			return err
		}
		if !more || next == "" || next == marker {
			return nil
		}
		marker = next
	}
}

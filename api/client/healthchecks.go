package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// HealthCheck is a health check as /v1/healthchecks shows it. (It mirrors
// package healthcheck's type, kept apart so the client needs no etcd.)
type HealthCheck struct {
	ID                  string                  `json:"id"`
	CallerReference     string                  `json:"callerReference"`
	Config              zones.HealthCheckConfig `json:"config"`
	RoutingControlState string                  `json:"routingControlState,omitempty"` // ON or OFF, ROUTING_CONTROL only
	Version             int64                   `json:"version"`
	CreatedAt           time.Time               `json:"createdAt"`
}

// HealthCheckPage is one page of ListHealthChecks.
type HealthCheckPage struct {
	HealthChecks []HealthCheck `json:"healthChecks"`
	IsTruncated  bool          `json:"isTruncated"`
	NextMarker   string        `json:"nextMarker,omitempty"`
}

// HealthCheckStatus is a check's status (HEALTHY or UNHEALTHY) and its live
// observations, one per checker node.
type HealthCheckStatus struct {
	Status       string                   `json:"status"`
	Observations []HealthCheckObservation `json:"observations"`
}

// HealthCheckObservation is one checker node's view of a check.
type HealthCheckObservation struct {
	Checker   string    `json:"checker"`
	Region    string    `json:"region"`
	Status    string    `json:"status"` // e.g. "Success: HTTP Status Code 200, OK"
	Healthy   bool      `json:"healthy"`
	CheckedAt time.Time `json:"checkedAt"`
}

func healthCheckPath(id string, rest ...string) string {
	p := "/v1/healthchecks/" + url.PathEscape(strings.TrimSpace(id))
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// CreateHealthCheck creates a health check. callerReference makes a retry
// safe: the same reference with the same config returns the existing check;
// with another config the API answers 409 HealthCheckAlreadyExists.
func (c *Client) CreateHealthCheck(ctx context.Context, callerReference string, cfg zones.HealthCheckConfig) (*HealthCheck, error) {
	in := struct {
		CallerReference string                  `json:"callerReference"`
		Config          zones.HealthCheckConfig `json:"config"`
	}{callerReference, cfg}
	var hc HealthCheck
	if err := c.doJSON(ctx, http.MethodPost, "/v1/healthchecks", nil, in, &hc); err != nil {
		return nil, err
	}
	return &hc, nil
}

// GetHealthCheck returns the health check with the given id.
func (c *Client) GetHealthCheck(ctx context.Context, id string) (*HealthCheck, error) {
	var hc HealthCheck
	if err := c.doJSON(ctx, http.MethodGet, healthCheckPath(id), nil, nil, &hc); err != nil {
		return nil, err
	}
	return &hc, nil
}

// ListHealthChecks returns one page of health checks in id order, starting
// at marker ("" for the first page); maxItems 0 leaves the size to the
// server.
func (c *Client) ListHealthChecks(ctx context.Context, marker string, maxItems int) (*HealthCheckPage, error) {
	q := url.Values{}
	if marker != "" {
		q.Set("marker", marker)
	}
	if maxItems > 0 {
		q.Set("maxItems", strconv.Itoa(maxItems))
	}
	var p HealthCheckPage
	if err := c.doJSON(ctx, http.MethodGet, "/v1/healthchecks", q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// AllHealthChecks follows ListHealthChecks's pages and returns every check.
func (c *Client) AllHealthChecks(ctx context.Context) ([]HealthCheck, error) {
	var all []HealthCheck
	marker := ""
	for {
		p, err := c.ListHealthChecks(ctx, marker, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, p.HealthChecks...)
		if !p.IsTruncated {
			return all, nil
		}
		if p.NextMarker == "" || p.NextMarker == marker {
			return nil, errors.New("list health checks: truncated page without a new nextMarker")
		}
		marker = p.NextMarker
	}
}

// UpdateHealthCheck replaces a check's config (its type cannot change). A
// non-zero version must be the check's current one, else the API answers
// 409 HealthCheckVersionMismatch.
func (c *Client) UpdateHealthCheck(ctx context.Context, id string, cfg zones.HealthCheckConfig, version int64) (*HealthCheck, error) {
	in := struct {
		Config  zones.HealthCheckConfig `json:"config"`
		Version int64                   `json:"version,omitempty"`
	}{cfg, version}
	var hc HealthCheck
	if err := c.doJSON(ctx, http.MethodPut, healthCheckPath(id), nil, in, &hc); err != nil {
		return nil, err
	}
	return &hc, nil
}

// DeleteHealthCheck deletes a health check; the API refuses (409
// HealthCheckInUse) while a CALCULATED check lists it as a child.
func (c *Client) DeleteHealthCheck(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, healthCheckPath(id), nil, nil, nil)
}

// HealthCheckStatus returns a check's status and live observations.
func (c *Client) HealthCheckStatus(ctx context.Context, id string) (*HealthCheckStatus, error) {
	var st HealthCheckStatus
	if err := c.doJSON(ctx, http.MethodGet, healthCheckPath(id, "status"), nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// SetRoutingControl turns a ROUTING_CONTROL check ON (healthy) or OFF.
func (c *Client) SetRoutingControl(ctx context.Context, id, state string) (*HealthCheck, error) {
	in := struct {
		State string `json:"state"`
	}{state}
	var hc HealthCheck
	if err := c.doJSON(ctx, http.MethodPut, healthCheckPath(id, "routingcontrol"), nil, in, &hc); err != nil {
		return nil, err
	}
	return &hc, nil
}

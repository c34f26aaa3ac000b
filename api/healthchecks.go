package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

// HealthCheckService is what the /v1/healthchecks routes need; package
// healthcheck's Service satisfies it. Errors a caller caused are
// *zones.Error values (InvalidInput, NoSuchHealthCheck,
// HealthCheckAlreadyExists, HealthCheckInUse, HealthCheckVersionMismatch).
type HealthCheckService interface {
	// CreateHealthCheck follows Route 53's callerReference rules; created
	// is false when an earlier identical request made the check.
	CreateHealthCheck(ctx context.Context, req healthcheck.CreateRequest) (hc healthcheck.HealthCheck, created bool, err error)
	GetHealthCheck(ctx context.Context, id string) (healthcheck.HealthCheck, error)
	ListHealthChecks(ctx context.Context, marker string, maxItems int) (healthcheck.Page, error)
	UpdateHealthCheck(ctx context.Context, id string, req healthcheck.UpdateRequest) (healthcheck.HealthCheck, error)
	DeleteHealthCheck(ctx context.Context, id string) error
	SetRoutingControl(ctx context.Context, id, state string) (healthcheck.HealthCheck, error)
	HealthCheckStatus(ctx context.Context, id string) (healthcheck.Status, error)
}

var _ HealthCheckService = (*healthcheck.Service)(nil)

// routingControlRequest is the body of PUT /v1/healthchecks/{id}/routingcontrol.
type routingControlRequest struct {
	State string `json:"state"`
}

// registerHealthChecks adds the health check routes when Options.HealthChecks
// is set.
func (s *Server) registerHealthChecks(json echo.MiddlewareFunc) {
	if s.opts.HealthChecks == nil {
		return
	}
	e := s.echo
	e.POST("/v1/healthchecks", s.createHealthCheck, json)
	e.GET("/v1/healthchecks", s.listHealthChecks)
	e.GET("/v1/healthchecks/:healthCheckId", s.getHealthCheck)
	e.PUT("/v1/healthchecks/:healthCheckId", s.updateHealthCheck, json)
	e.DELETE("/v1/healthchecks/:healthCheckId", s.deleteHealthCheck)
	e.GET("/v1/healthchecks/:healthCheckId/status", s.healthCheckStatus)
	e.PUT("/v1/healthchecks/:healthCheckId/routingcontrol", s.setRoutingControl, json)
}

// healthCheckID returns the :healthCheckId path parameter, lower-case, or
// InvalidInput.
func healthCheckID(c echo.Context) (string, error) {
	id, ok := healthcheck.CanonicalID(c.Param("healthCheckId"))
	if !ok {
		return "", invalidInput("healthCheckId %q is not a health check id (a UUID, 8-4-4-4-12 hexadecimal digits)", clip(c.Param("healthCheckId")))
	}
	return id, nil
}

// hcError maps the one health check error code the shared table does not
// know.
func hcError(err error) error {
	var ze *zones.Error
	if errors.As(err, &ze) && ze.Code == healthcheck.CodeHealthCheckVersionMismatch {
		return &httpError{http.StatusConflict, ze.Code, ze.Message}
	}
	return err
}

func (s *Server) createHealthCheck(c echo.Context) error {
	var req healthcheck.CreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	hc, created, err := s.opts.HealthChecks.CreateHealthCheck(c.Request().Context(), req)
	if err != nil {
		return hcError(err)
	}
	if created {
		s.audit(c, "health check created", "healthcheck", hc.ID, "type", hc.Config.Type)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/healthchecks/"+hc.ID)
	return c.JSON(http.StatusCreated, hc)
}

func (s *Server) listHealthChecks(c echo.Context) error {
	q, err := query(c, "marker", "maxItems")
	if err != nil {
		return err
	}
	n, err := maxItems(q, healthcheck.MaxPageSize)
	if err != nil {
		return err
	}
	if _, given := q["maxItems"]; !given {
		n = healthcheck.DefaultPageSize
	}
	marker := q.Get("marker")
	if marker != "" {
		m, ok := healthcheck.CanonicalID(marker)
		if !ok {
			return invalidInput("marker %q is not a health check id", clip(marker))
		}
		marker = m
	}
	page, err := s.opts.HealthChecks.ListHealthChecks(c.Request().Context(), marker, n)
	if err != nil {
		return hcError(err)
	}
	if page.HealthChecks == nil {
		page.HealthChecks = []healthcheck.HealthCheck{}
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getHealthCheck(c echo.Context) error {
	id, err := healthCheckID(c)
	if err != nil {
		return err
	}
	hc, err := s.opts.HealthChecks.GetHealthCheck(c.Request().Context(), id)
	if err != nil {
		return hcError(err)
	}
	return c.JSON(http.StatusOK, hc)
}

func (s *Server) updateHealthCheck(c echo.Context) error {
	id, err := healthCheckID(c)
	if err != nil {
		return err
	}
	var req healthcheck.UpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	hc, err := s.opts.HealthChecks.UpdateHealthCheck(c.Request().Context(), id, req)
	if err != nil {
		return hcError(err)
	}
	s.audit(c, "health check updated", "healthcheck", id, "version", hc.Version)
	return c.JSON(http.StatusOK, hc)
}

func (s *Server) deleteHealthCheck(c echo.Context) error {
	id, err := healthCheckID(c)
	if err != nil {
		return err
	}
	if err := s.opts.HealthChecks.DeleteHealthCheck(c.Request().Context(), id); err != nil {
		return hcError(err)
	}
	s.audit(c, "health check deleted", "healthcheck", id)
	return c.JSON(http.StatusOK, struct{}{})
}

func (s *Server) healthCheckStatus(c echo.Context) error {
	id, err := healthCheckID(c)
	if err != nil {
		return err
	}
	st, err := s.opts.HealthChecks.HealthCheckStatus(c.Request().Context(), id)
	if err != nil {
		return hcError(err)
	}
	if st.Observations == nil {
		st.Observations = []healthcheck.StatusObservation{}
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) setRoutingControl(c echo.Context) error {
	id, err := healthCheckID(c)
	if err != nil {
		return err
	}
	var req routingControlRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	hc, err := s.opts.HealthChecks.SetRoutingControl(c.Request().Context(), id, req.State)
	if err != nil {
		return hcError(err)
	}
	s.audit(c, "routing control set", "healthcheck", id, "state", hc.RoutingControlState)
	return c.JSON(http.StatusOK, hc)
}

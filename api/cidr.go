package api

import (
	"context"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/zones"
)

// CidrService is what the /v1/cidrcollections routes need; the etcd store
// satisfies it.
type CidrService interface {
	CreateCidrCollection(ctx context.Context, in zones.CidrCollectionInput) (zones.CidrCollection, error)
	GetCidrCollection(ctx context.Context, id string) (zones.CidrCollection, error)
	ListCidrCollections(ctx context.Context) ([]zones.CidrCollection, error)
	UpdateCidrCollection(ctx context.Context, id string, in zones.CidrCollectionInput) (zones.CidrCollection, error)
	DeleteCidrCollection(ctx context.Context, id string) error
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (s *Server) registerCidr(json echo.MiddlewareFunc) {
	if s.opts.Cidr == nil {
		return
	}
	e := s.echo
	e.POST("/v1/cidrcollections", s.createCidr, json)
	e.GET("/v1/cidrcollections", s.listCidr)
	e.GET("/v1/cidrcollections/:collectionId", s.getCidr)
	e.PUT("/v1/cidrcollections/:collectionId", s.updateCidr, json)
	e.DELETE("/v1/cidrcollections/:collectionId", s.deleteCidr)
}

func cidrID(c echo.Context) (string, error) {
	id := c.Param("collectionId")
	if !uuidRe.MatchString(id) {
		return "", invalidInput("collectionId %q is not a CIDR collection id (a lower-case UUID)", clip(id))
	}
	return id, nil
}

func (s *Server) createCidr(c echo.Context) error {
	var in zones.CidrCollectionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	coll, err := s.opts.Cidr.CreateCidrCollection(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.audit(c, "CIDR collection created", "collection", coll.ID, "name", coll.Name)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/cidrcollections/"+coll.ID)
	return c.JSON(http.StatusCreated, coll)
}

func (s *Server) listCidr(c echo.Context) error {
	if _, err := query(c); err != nil {
		return err
	}
	list, err := s.opts.Cidr.ListCidrCollections(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"cidrCollections": list})
}

func (s *Server) getCidr(c echo.Context) error {
	id, err := cidrID(c)
	if err != nil {
		return err
	}
	coll, err := s.opts.Cidr.GetCidrCollection(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, coll)
}

func (s *Server) updateCidr(c echo.Context) error {
	id, err := cidrID(c)
	if err != nil {
		return err
	}
	var in zones.CidrCollectionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	coll, err := s.opts.Cidr.UpdateCidrCollection(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	s.audit(c, "CIDR collection updated", "collection", coll.ID, "version", coll.Version)
	return c.JSON(http.StatusOK, coll)
}

func (s *Server) deleteCidr(c echo.Context) error {
	id, err := cidrID(c)
	if err != nil {
		return err
	}
	if err := s.opts.Cidr.DeleteCidrCollection(c.Request().Context(), id); err != nil {
		return err
	}
	s.audit(c, "CIDR collection deleted", "collection", id)
	return c.JSON(http.StatusOK, struct{}{})
}

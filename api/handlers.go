package api

import (
	_ "embed"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/zones"
)

// Page sizes of the list routes (Route 53's).
const (
	maxZonesPerPage      = 100
	maxRecordSetsPerPage = 300
)

// mimeDNS is the media type of a zone file (RFC 4027).
const mimeDNS = "text/dns"

//go:embed openapi.json
var openAPIDoc []byte

// zoneCreated is the body of 201 to POST /v1/zones: the Zone, plus the change
// that created it so a caller can wait for INSYNC.
type zoneCreated struct {
	zones.Zone
	ChangeInfo zones.ChangeInfo `json:"changeInfo"`
}

// changeInfoBody is {"changeInfo": ...}.
type changeInfoBody struct {
	ChangeInfo zones.ChangeInfo `json:"changeInfo"`
}

func (s *Server) createZone(c echo.Context) error {
	var req zones.CreateZoneRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	z, ci, err := s.store.CreateZone(c.Request().Context(), req)
	if err != nil {
		return err
	}
	s.audit(c, "zone created", "zone", z.ID, "name", z.Name, "change", ci.ID)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/zones/"+z.ID)
	return c.JSON(http.StatusCreated, zoneCreated{Zone: z, ChangeInfo: ci})
}

func (s *Server) listZones(c echo.Context) error {
	q, err := query(c, "marker", "maxItems")
	if err != nil {
		return err
	}
	n, err := maxItems(q, maxZonesPerPage)
	if err != nil {
		return err
	}
	page, err := s.store.ListZones(c.Request().Context(), q.Get("marker"), n)
	if err != nil {
		return err
	}
	if page.Zones == nil {
		page.Zones = []zones.Zone{}
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getZone(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	z, err := s.store.GetZone(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, z)
}

func (s *Server) deleteZone(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	ci, err := s.store.DeleteZone(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.audit(c, "zone deleted", "zone", id, "change", ci.ID)
	return c.JSON(http.StatusOK, changeInfoBody{ci})
}

func (s *Server) listRecordSets(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	q, err := query(c, "name", "type", "identifier", "maxItems")
	if err != nil {
		return err
	}
	in := zones.ListRecordSetsInput{Name: q.Get("name"), Type: q.Get("type"), Identifier: q.Get("identifier")}
	if in.Type != "" && in.Name == "" {
		return invalidInput("type given without name: a listing starts at a name, then a type")
	}
	if in.Identifier != "" && (in.Name == "" || in.Type == "") {
		return invalidInput("identifier given without name and type")
	}
	if in.MaxItems, err = maxItems(q, maxRecordSetsPerPage); err != nil {
		return err
	}
	page, err := s.store.ListRecordSets(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	if page.RecordSets == nil {
		page.RecordSets = []zones.RecordSet{}
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) changeRecordSets(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	var batch zones.ChangeBatch
	if err := decodeJSON(c, &batch); err != nil {
		return err
	}
	ci, err := s.store.ChangeRecordSets(c.Request().Context(), id, batch, whoOf(c))
	if err != nil {
		return err
	}
	s.audit(c, "record sets changed", "zone", id, "change", ci.ID, "changes", len(batch.Changes))
	return c.JSON(http.StatusOK, changeInfoBody{ci})
}

func (s *Server) getChange(c echo.Context) error {
	id, err := changeID(c)
	if err != nil {
		return err
	}
	ci, err := s.store.GetChange(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, changeInfoBody{ci})
}

func (s *Server) importZoneFile(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	ci, err := s.store.ImportZoneFile(c.Request().Context(), id, c.Request().Body, whoOf(c))
	if err != nil {
		return err
	}
	s.audit(c, "zone file imported", "zone", id, "change", ci.ID)
	return c.JSON(http.StatusOK, changeInfoBody{ci})
}

// exportZoneFile streams the zone file. The status line goes out with the
// first byte, so an error before it (no such zone) is an ordinary error
// response; an error after it aborts the connection, so the client sees a
// broken transfer rather than a zone file that looks complete but is not.
func (s *Server) exportZoneFile(c echo.Context) error {
	id, err := zoneID(c)
	if err != nil {
		return err
	}
	w := &lazyWriter{c: c}
	if err := s.store.ExportZoneFile(c.Request().Context(), id, w); err != nil {
		if !c.Response().Committed {
			return err
		}
		s.log.Error("api: zone file export failed mid-stream", "zone", id, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !c.Response().Committed {
		w.start()
	}
	return nil
}

// lazyWriter writes the 200 header with the first byte.
type lazyWriter struct{ c echo.Context }

func (w *lazyWriter) start() {
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, mimeDNS)
	h.Set("X-Content-Type-Options", "nosniff")
	w.c.Response().WriteHeader(http.StatusOK)
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.c.Response().Committed {
		w.start()
	}
	return w.c.Response().Write(p)
}

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}

func (s *Server) healthz(c echo.Context) error {
	if s.opts.Health == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
	return c.JSON(http.StatusOK, s.opts.Health())
}

func (s *Server) readyz(c echo.Context) error {
	if s.opts.Ready == nil || s.opts.Ready() {
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
	return c.JSON(http.StatusServiceUnavailable, errorBody{errorDetail{
		Code: zones.CodeServiceUnavailable, Message: "not ready: no snapshot served yet, or shutting down"}})
}

// audit logs a successful write with who made it.
func (s *Server) audit(c echo.Context, msg string, args ...any) {
	s.log.Info("api: "+msg, append(args, "who", whoOf(c))...)
}

// query returns the query parameters, refusing unknown and repeated ones so a
// misspelt parameter is an error rather than silently ignored.
func query(c echo.Context, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, invalidInput("malformed query string: %v", err)
	}
	for k, vs := range q {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return nil, invalidInput("unknown query parameter %q (this route takes %v)", clip(k), allowed)
		}
		if len(vs) > 1 {
			return nil, invalidInput("query parameter %q given %d times", k, len(vs))
		}
	}
	return q, nil
}

// maxItems parses the maxItems query parameter: 1 to limit, default limit.
func maxItems(q url.Values, limit int) (int, error) {
	v, ok := q["maxItems"]
	if !ok {
		return limit, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 1 || n > limit {
		return 0, invalidInput("maxItems %q: want an integer from 1 to %d", clip(v[0]), limit)
	}
	return n, nil
}

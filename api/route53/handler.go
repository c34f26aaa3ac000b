package route53

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/healthdns/healthdns/zones"
)

// PathPrefix is where Route 53's API lives; mount the Handler there.
const PathPrefix = "/2013-04-01/"

// DefaultMaxBodyBytes bounds a request body (2 MiB): a change batch at Route
// 53's limits (1,000 values, 32,000 characters of values) is well below it.
const DefaultMaxBodyBytes = 2 << 20

// anonymous is who a write is recorded as when no credentials are configured.
const anonymous = "anonymous"

// Options configure a Handler.
type Options struct {
	// Store holds the zones. Required. If it also implements ZoneCommenter
	// (UpdateHostedZoneComment) and ZoneTagger (ChangeTagsForResource on
	// zones), those operations work; else they are 501 NotImplemented.
	Store Store
	// HealthChecks serves the health check operations: pass the service
	// /v1 uses (*healthcheck.Service). Nil answers them 501 NotImplemented.
	HealthChecks HealthChecks
	// HealthCheckTags keeps health check tags; nil falls back to
	// HealthChecks if it is a HealthCheckTagger. Without either, a health
	// check lists no tags and ChangeTagsForResource on one is 501.
	HealthCheckTags HealthCheckTagger
	// Answerer serves TestDNSAnswer. Nil answers it 501 NotImplemented.
	Answerer DNSAnswerer
	// Audit, if not nil, records every authenticated write (POST, DELETE)
	// as /v1's audit log does, its Route "route53:" + the operation and its
	// Request the write in /v1's JSON terms.
	Audit Auditor
	// Credentials are the accepted access keys. Empty turns SigV4 off: every
	// request is accepted unsigned (only safe on a loopback address).
	Credentials Credentials
	// Logger receives the audit log of writes (Info) and internal errors
	// (Error). Nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock signatures are checked against; nil means time.Now.
	Now func() time.Time
}

// Handler serves Route 53's REST-XML API. It is safe for concurrent use.
type Handler struct {
	o       Options
	store   Store
	comment ZoneCommenter
	zoneTag ZoneTagger
	hcTags  HealthCheckTagger
	log     *slog.Logger
	verify  *verifier
	routes  []route
}

// New returns a Handler for o.
func New(o Options) (*Handler, error) {
	if o.Store == nil {
		return nil, errors.New("route53: Options.Store is nil")
	}
	if o.MaxBodyBytes < 0 {
		return nil, errors.New("route53: negative MaxBodyBytes")
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, store: o.Store, log: o.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.comment, _ = o.Store.(ZoneCommenter)
	h.zoneTag, _ = o.Store.(ZoneTagger)
	h.hcTags = o.HealthCheckTags
	if h.hcTags == nil && o.HealthChecks != nil {
		h.hcTags, _ = o.HealthChecks.(HealthCheckTagger)
	}
	if len(o.Credentials) > 0 {
		h.verify = &verifier{creds: o.Credentials, signer: v4.NewSigner(), now: o.Now}
	}
	h.routes = h.routeTable()
	return h, nil
}

// call is one request in flight.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	op     string
	params []string
	query  url.Values
	body   []byte
	who    string
	reqID  string
	authed bool

	// What the audit log records, set as the request is served.
	status   int
	errCode  string
	auditReq any    // the write in /v1's terms
	changeID string // bare
	resource string // bare id of the zone or health check
}

func (c *call) ctx() context.Context { return c.r.Context() }

// ServeHTTP authenticates the request, routes it and writes the reply or
// the error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, reqID: newRequestID(), who: anonymous}
	w.Header().Set("X-Amzn-Requestid", c.reqID)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.fail(c, errors.New("route53: panic"), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if err := h.serve(c); err != nil {
		h.fail(c, err)
	}
	h.recordAudit(c)
}

// recordAudit records an authenticated write. A failure to record is
// logged; the write itself has happened and its reply has gone out.
func (h *Handler) recordAudit(c *call) {
	m := c.r.Method
	if h.o.Audit == nil || !c.authed || (m != http.MethodPost && m != http.MethodPut && m != http.MethodDelete) {
		return
	}
	e := zones.AuditEntry{Time: time.Now().UTC(), Who: c.who, Method: m, Route: "route53:" + c.op, Path: c.r.URL.Path,
		BodyBytes: int64(len(c.body)), Status: c.status, ErrorCode: c.errCode, ChangeID: c.changeID, Resource: c.resource}
	if c.op == "" {
		e.Route = "route53:unmatched"
	}
	if c.auditReq != nil {
		if b, err := json.Marshal(c.auditReq); err == nil {
			e.Request = b
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.r.Context()), 5*time.Second)
	defer cancel()
	if err := h.o.Audit.RecordAudit(ctx, e); err != nil {
		h.log.Error("route53: could not record the audit entry", "err", err, "op", c.op, "who", c.who, "status", c.status)
	}
}

func (h *Handler) serve(c *call) error {
	r := c.r
	if r.ContentLength > h.o.MaxBodyBytes {
		return &http.MaxBytesError{Limit: h.o.MaxBodyBytes}
	}
	if r.Body != nil {
		b, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, h.o.MaxBodyBytes))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return err
			}
			return invalidInput("reading the request body: %v", err)
		}
		c.body = b
	}
	if h.verify != nil {
		cred, err := h.verify.verify(r.Context(), r, c.body)
		if err != nil {
			return err
		}
		c.who = cred.Name
		if c.who == "" {
			c.who = cred.AccessKeyID
		}
	}
	c.authed = true
	u, err := requestURL(r)
	if err != nil {
		return invalidInput("request URI: %v", err)
	}
	c.query = u.Query()
	rt, params, err := h.match(r.Method, u.EscapedPath())
	if err != nil {
		return err
	}
	c.op, c.params = rt.op, params
	return rt.serve(c)
}

// fail writes err as Route 53's error body: InvalidChangeBatch's own shape,
// or ErrorResponse.
func (h *Handler) fail(c *call, err error, logArgs ...any) {
	rep := errorReply(err)
	c.errCode = rep.code
	if rep.internal {
		lvl := slog.LevelError
		if errors.Is(err, context.Canceled) && c.r.Context().Err() != nil {
			lvl = slog.LevelInfo // the client went away
		}
		h.log.Log(c.r.Context(), lvl, "route53: internal error", append([]any{"op", c.op,
			"method", c.r.Method, "path", c.r.URL.Path, "requestId", c.reqID, "err", err}, logArgs...)...)
	}
	e := xmlError{Type: "Sender", Code: rep.code, Message: rep.message}
	if rep.status >= 500 {
		e.Type = "Receiver"
	}
	if rep.code == zones.CodeInvalidChangeBatch {
		e.Message = "[" + strings.Join(rep.messages, ", ") + "]"
		h.writeXML(c, rep.status, invalidChangeBatchResponse{Messages: rep.messages, Error: e, RequestID: c.reqID})
		return
	}
	h.writeXML(c, rep.status, errorResponse{Error: e, RequestID: c.reqID})
}

// writeXML writes v as the response body with status.
func (h *Handler) writeXML(c *call, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		h.log.Error("route53: encoding a response", "op", c.op, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
	}
	c.status = status
	c.w.Header().Set("Content-Type", "text/xml")
	c.w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		if _, err := c.w.Write(buf.Bytes()); err != nil {
			h.log.Debug("route53: writing a response", "op", c.op, "err", err)
		}
	}
}

// ok writes a 200 reply.
func (h *Handler) ok(c *call, v any) error {
	h.writeXML(c, http.StatusOK, v)
	return nil
}

// decode parses the request body into v, a request struct whose XMLName
// names the root element.
func decode(c *call, v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return invalidInput("the request body is empty; %s takes an XML document", c.op)
	}
	dec := xml.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		return invalidInput("malformed %s request body: %v", c.op, err)
	}
	return nil
}

// audit logs a successful write with who made it.
func (h *Handler) audit(c *call, msg string, args ...any) {
	h.log.Info("route53: "+msg, append(args, "who", c.who, "requestId", c.reqID)...)
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// route is one operation: a method and a path pattern under PathPrefix in
// which "*" stands for one path segment (an id).
type route struct {
	method  string
	pattern []string
	op      string
	serve   func(*call) error
}

func (h *Handler) routeTable() []route {
	r := func(method, pattern, op string, f func(*call) error) route {
		return route{method: method, pattern: strings.Split(pattern, "/"), op: op, serve: f}
	}
	return []route{
		r("POST", "hostedzone", "CreateHostedZone", h.createHostedZone),
		r("GET", "hostedzone", "ListHostedZones", h.listHostedZones),
		r("GET", "hostedzone/*", "GetHostedZone", h.getHostedZone),
		r("DELETE", "hostedzone/*", "DeleteHostedZone", h.deleteHostedZone),
		r("POST", "hostedzone/*", "UpdateHostedZoneComment", h.updateHostedZoneComment),
		r("POST", "hostedzone/*/rrset", "ChangeResourceRecordSets", h.changeResourceRecordSets),
		r("GET", "hostedzone/*/rrset", "ListResourceRecordSets", h.listResourceRecordSets),
		r("GET", "hostedzonesbyname", "ListHostedZonesByName", h.listHostedZonesByName),
		r("GET", "hostedzonecount", "GetHostedZoneCount", h.getHostedZoneCount),
		r("GET", "change/*", "GetChange", h.getChange),
		r("POST", "healthcheck", "CreateHealthCheck", h.createHealthCheck),
		r("GET", "healthcheck", "ListHealthChecks", h.listHealthChecks),
		r("GET", "healthcheck/*", "GetHealthCheck", h.getHealthCheck),
		r("POST", "healthcheck/*", "UpdateHealthCheck", h.updateHealthCheck),
		r("DELETE", "healthcheck/*", "DeleteHealthCheck", h.deleteHealthCheck),
		r("GET", "healthcheck/*/status", "GetHealthCheckStatus", h.getHealthCheckStatus),
		r("GET", "healthcheck/*/lastfailurereason", "GetHealthCheckLastFailureReason", h.getHealthCheckLastFailureReason),
		r("GET", "healthcheckcount", "GetHealthCheckCount", h.getHealthCheckCount),
		r("GET", "testdnsanswer", "TestDNSAnswer", h.testDNSAnswer),
		r("POST", "tags/*/*", "ChangeTagsForResource", h.changeTagsForResource),
		r("GET", "tags/*/*", "ListTagsForResource", h.listTagsForResource),
	}
}

// match finds the route of an escaped path. A trailing slash is optional
// (the SDKs send ChangeResourceRecordSets to ".../rrset/"); path segments are
// unescaped one by one, so an id sent as "%2Fhostedzone%2FZ..." stays one
// segment.
func (h *Handler) match(method, escapedPath string) (route, []string, error) {
	rest, ok := strings.CutPrefix(escapedPath, PathPrefix)
	if !ok {
		return route{}, nil, newError(http.StatusNotFound, CodeUnknownOperation, "no Route 53 operation at %s", clip(escapedPath))
	}
	rest = strings.TrimSuffix(rest, "/")
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return route{}, nil, invalidInput("malformed path segment %q", clip(s))
		}
		segs[i] = u
	}
	methodOK := false
	for _, rt := range h.routes {
		params, ok := matchSegs(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method != method && !(method == http.MethodHead && rt.method == http.MethodGet) {
			methodOK = true
			continue
		}
		return rt, params, nil
	}
	if methodOK {
		return route{}, nil, newError(http.StatusMethodNotAllowed, CodeUnknownOperation,
			"%s is not allowed on %s", method, clip(escapedPath))
	}
	return route{}, nil, newError(http.StatusNotFound, CodeUnknownOperation, "no Route 53 operation at %s", clip(escapedPath))
}

func matchSegs(pattern, segs []string) ([]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range pattern {
		switch {
		case p == "*" && segs[i] != "":
			params = append(params, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// maxItemsParam parses the maxitems query parameter. Route 53 answers at
// most limit items however many are asked for.
func maxItemsParam(q url.Values, limit int) (int, error) {
	v := q.Get("maxitems")
	if v == "" {
		return limit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalidInput("maxitems %q: want a positive integer", clip(v))
	}
	return min(n, limit), nil
}

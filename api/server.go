package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server.
type Options struct {
	// Store holds the zones. Required.
	Store Store
	// Logger receives the audit log of writes (Info), internal errors (Error)
	// and one line per request (Debug). Nil discards.
	Logger *slog.Logger
	// Registerer receives the API's metrics. Nil registers nowhere; the
	// global registry is never used.
	Registerer prometheus.Registerer
	// Tokens maps each accepted bearer token to the name the audit log
	// records for it. Empty turns authentication off.
	Tokens map[string]string
	// Ready reports whether the node serves a snapshot (GET /readyz is 200,
	// else 503). Nil means always ready.
	Ready func() bool
	// Health returns the body of GET /healthz: the sync state. Nil answers
	// {"status":"ok"}.
	Health func() any
	// Metrics, if not nil, is served at GET /metrics.
	Metrics http.Handler
	// MaxBodyBytes bounds JSON request bodies; 0 means DefaultMaxBodyBytes
	// (1 MiB).
	MaxBodyBytes int64
	// MaxZoneFileBytes bounds a zone file upload; 0 means
	// DefaultMaxZoneFileBytes (64 MiB).
	MaxZoneFileBytes int64
	// Route53, if not nil, serves every method under /2013-04-01/ (Route
	// 53's REST-XML API, package api/route53). It does its own
	// authentication (SigV4): bearer tokens do not apply there.
	Route53 http.Handler
	// HealthChecks, if not nil, serves /v1/healthchecks (package
	// healthcheck's Service satisfies it).
	HealthChecks HealthCheckService
	// Cidr, if not nil, serves /v1/cidrcollections.
	Cidr CidrService
	// Audit, if not nil, records every /v1 write and serves GET /v1/audit.
	Audit AuditLog
	// RateLimit is the requests per second each client (token name, or
	// remote address) may send to /v1, with bursts of RateBurst; 0 means
	// DefaultRateLimit, negative turns limiting off.
	RateLimit float64
	RateBurst int
	// TestDNSAnswer serves GET /v1/testdnsanswer (dnsserver.Table
	// satisfies it); nil answers 503.
	TestDNSAnswer DNSAnswerer
}

// Server is the REST API. It is safe for concurrent use.
type Server struct {
	opts    Options
	store   Store
	log     *slog.Logger
	tokens  []token
	metrics *metrics
	echo    *echo.Echo
	limiter *limiter // nil: no rate limit
	// routes is the set of registered route patterns: the bounded values of
	// the metrics' route label.
	routes map[string]struct{}
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: Options.Store is nil")
	}
	if opts.MaxBodyBytes < 0 || opts.MaxZoneFileBytes < 0 {
		return nil, errors.New("api: negative body size limit")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxZoneFileBytes == 0 {
		opts.MaxZoneFileBytes = DefaultMaxZoneFileBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.RateBurst = DefaultRateLimit, DefaultRateBurst
	}
	s := &Server{
		limiter: newLimiter(opts.RateLimit, opts.RateBurst),
		opts:    opts,
		store:   opts.Store,
		log:     log,
		tokens:  newTokens(opts.Tokens),
		metrics: m,
		routes:  map[string]struct{}{},
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = s.handleError
	e.Pre(rewritePath)
	e.Use(s.observe, s.recoverPanics, s.authenticate, s.rateLimit, s.auditWrites)
	s.echo = e
	s.register()
	for _, r := range e.Routes() {
		s.routes[r.Path] = struct{}{}
	}
	return s, nil
}

// Handler returns the http.Handler serving the API, /healthz, /readyz and, if
// configured, /metrics. Serve it at the root of the server: it needs the raw
// request path (it accepts Route 53's "/hostedzone/Z..." ids in it).
func (s *Server) Handler() http.Handler { return s.echo }

// register adds every route. The /v1 ones must match api/openapi.json (a test
// checks both ways).
func (s *Server) register() {
	e := s.echo
	json := bodyLimit(s.opts.MaxBodyBytes)

	e.POST("/v1/zones", s.createZone, json)
	e.GET("/v1/zones", s.listZones)
	e.GET("/v1/zones/:zoneId", s.getZone)
	e.DELETE("/v1/zones/:zoneId", s.deleteZone)
	e.GET("/v1/zones/:zoneId/rrsets", s.listRecordSets)
	e.POST("/v1/zones/:zoneId/rrsets", s.changeRecordSets, json)
	e.PUT("/v1/zones/:zoneId/zonefile", s.importZoneFile, bodyLimit(s.opts.MaxZoneFileBytes))
	e.GET("/v1/zones/:zoneId/zonefile", s.exportZoneFile)
	e.GET("/v1/changes/:changeId", s.getChange)
	e.GET("/v1/openapi.json", s.openAPI)
	e.GET("/v1/testdnsanswer", s.testDNSAnswer)
	s.registerHealthChecks(json)
	s.registerCidr(json)
	if s.opts.Audit != nil {
		e.GET("/v1/audit", s.listAudit)
	}

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.opts.Metrics))
	}
	if s.opts.Route53 != nil {
		e.Any("/2013-04-01/*", echo.WrapHandler(s.opts.Route53))
	}
}

// recoverPanics turns a handler's panic into a 500 and logs it with its stack.
// http.ErrAbortHandler passes on: it cuts a streamed response short.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("api: panic: %v\n%s", p, debug.Stack())
		}()
		return next(c)
	}
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// unmatchedRoute is the route label of requests no route matched, so the
// label stays bounded by the routes registered.
const unmatchedRoute = "unmatched"

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthdns_api_requests_total",
			Help: "HTTP API requests, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "healthdns_api_request_duration_seconds",
			Help:    "Time to serve an HTTP API request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("api: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// observe is the outermost middleware: it lets the error handler write any
// error response first, so the status it counts is the one sent, then counts
// and times the request and logs it at debug level.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		start := time.Now()
		route := c.Path()
		if _, ok := s.routes[route]; !ok {
			route = unmatchedRoute
		}
		method := methodLabel(c.Request().Method)
		defer func() {
			code := strconv.Itoa(c.Response().Status)
			if p := recover(); p != nil {
				// Only http.ErrAbortHandler gets here (see recoverPanics): the
				// handler cut a streamed response short on purpose.
				code = "aborted"
				defer panic(p)
			}
			elapsed := time.Since(start)
			s.metrics.requests.WithLabelValues(route, method, code).Inc()
			s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
			s.log.Debug("api: request", "method", c.Request().Method, "route", route,
				"path", c.Request().URL.Path, "code", code, "who", c.Get(whoKey), "duration", elapsed)
		}()
		if err = next(c); err != nil {
			if errors.Is(err, echo.ErrNotFound) {
				route = unmatchedRoute
			}
			c.Error(err)
		}
		return nil
	}
}

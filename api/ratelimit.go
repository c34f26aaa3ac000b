package api

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/healthdns/healthdns/zones"
)

// Default API rate limits, per client (the token's name, or the remote
// address without auth): generous for people and scripts, a wall for a loop
// gone wrong.
const (
	DefaultRateLimit = 50  // requests per second
	DefaultRateBurst = 200 // requests at once
)

// limiter keeps one token bucket per client; idle buckets are dropped.
type limiter struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*bucket
	swept time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	if rps <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(rps) + 1
	}
	return &limiter{rps: rate.Limit(rps), burst: burst, by: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.by {
			if now.Sub(b.seen) > 5*time.Minute {
				delete(l.by, k)
			}
		}
		l.swept = now
	}
	b := l.by[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(l.rps, l.burst)}
		l.by[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// rateLimit answers 429 Throttling (Route 53's code) to a client over its
// rate on /v1; health, readiness and metrics are never limited.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.limiter == nil || !strings.HasPrefix(c.Request().URL.Path, "/v1/") {
			return next(c)
		}
		key := whoOf(c)
		if key == anonymous {
			host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
			if err != nil {
				host = c.Request().RemoteAddr
			}
			key = "addr:" + host
		}
		if !s.limiter.allow(key) {
			c.Response().Header().Set("Retry-After", "1")
			return zones.Errorf(zones.CodeThrottling, "rate exceeded: at most %g requests per second per client (burst %d); retry later", float64(s.limiter.rps), s.limiter.burst)
		}
		return next(c)
	}
}

package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// anonymous is who a write is recorded as without authentication, or with a
// token that has no name.
const anonymous = "anonymous"

// whoKey is the echo.Context key of the caller's name.
const whoKey = "healthdns.who"

type token struct {
	sum  [sha256.Size]byte
	name string
}

func newTokens(m map[string]string) []token {
	ts := make([]token, 0, len(m))
	for tok, name := range m {
		if tok == "" {
			continue
		}
		ts = append(ts, token{sum: sha256.Sum256([]byte(tok)), name: name})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// lookup returns the name of the token in an Authorization header value. It
// compares hashes, in constant time, against every token, so neither the
// token's length nor where it differs shows in the timing.
func (s *Server) lookup(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(tok))
	name, found := "", 0
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			name, found = t.name, 1
		}
	}
	if found == 0 {
		return "", false
	}
	if name == "" {
		name = anonymous
	}
	return name, true
}

// needsAuth reports whether a request path is under /v1 and not open.
func needsAuth(path string) bool {
	if path != "/v1" && !strings.HasPrefix(path, "/v1/") {
		return false
	}
	return path != "/v1/openapi.json"
}

// authenticate is the middleware that checks bearer tokens on /v1 and records
// who the caller is. It looks at the request path, not the route, so an
// unknown /v1 path without a token is 401 rather than 404.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(s.tokens) == 0 {
			c.Set(whoKey, anonymous)
			return next(c)
		}
		if !needsAuth(c.Request().URL.Path) {
			return next(c)
		}
		who, ok := s.lookup(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return errUnauthorized()
		}
		c.Set(whoKey, who)
		return next(c)
	}
}

// whoOf returns the authenticated caller's name.
func whoOf(c echo.Context) string {
	if who, ok := c.Get(whoKey).(string); ok && who != "" {
		return who
	}
	return anonymous
}

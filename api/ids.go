package api

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// idPrefixes are the Route 53 forms of ids the API accepts beside the bare
// ones: "/hostedzone/Z..." and "/change/C...".
var idPrefixes = []struct{ base, prefix string }{
	{"/v1/zones/", "hostedzone/"},
	{"/v1/changes/", "change/"},
}

// canonicalPath rewrites a request path so routing sees bare ids. It is the one
// place Route 53's prefixed ids are stripped, whether they came URL-escaped
// ("/v1/zones/%2Fhostedzone%2FZ1...") or as extra path segments
// ("/v1/zones/hostedzone/Z1..." or "/v1/zones//hostedzone/Z1..."); it works on
// the decoded path, where all of these look alike. A trailing slash is
// dropped too. ok is false when p needs no change.
func canonicalPath(p string) (string, bool) {
	out := p
	for _, ip := range idPrefixes {
		rest, found := strings.CutPrefix(out, ip.base)
		if !found {
			continue
		}
		rest = strings.TrimPrefix(rest, "/")
		if id, found := strings.CutPrefix(rest, ip.prefix); found && id != "" && id[0] != '/' {
			rest = id
		}
		out = ip.base + rest
		break
	}
	if len(out) > 1 && strings.HasSuffix(out, "/") {
		out = out[:len(out)-1]
	}
	return out, out != p
}

// rewritePath is the Pre middleware that applies canonicalPath.
func rewritePath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if p, changed := canonicalPath(u.Path); changed {
			u.Path = p
			u.RawPath = "" // the rest of a valid path has nothing to escape
		}
		return next(c)
	}
}

// validID reports whether id is kind ('Z' zone, 'C' change) followed by 13-21
// upper-case letters and digits.
func validID(id string, kind byte) bool {
	if len(id) < 14 || len(id) > 22 || id[0] != kind {
		return false
	}
	for i := 1; i < len(id); i++ {
		ch := id[i]
		if (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') {
			return false
		}
	}
	return true
}

// zoneID returns the :zoneId path parameter, or InvalidInput.
func zoneID(c echo.Context) (string, error) {
	id := c.Param("zoneId")
	if !validID(id, 'Z') {
		return "", invalidInput("zoneId %q is not a hosted zone id (Z followed by 13-21 upper-case letters and digits, optionally as /hostedzone/ID)", clip(id))
	}
	return id, nil
}

// changeID returns the :changeId path parameter, or InvalidInput.
func changeID(c echo.Context) (string, error) {
	id := c.Param("changeId")
	if !validID(id, 'C') {
		return "", invalidInput("changeId %q is not a change id (C followed by 13-21 upper-case letters and digits, optionally as /change/ID)", clip(id))
	}
	return id, nil
}

// clip shortens user input quoted in messages.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

package healthcheck

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/healthdns/healthdns/zones"
)

// Health check types (Route 53's).
const (
	TypeHTTP           = "HTTP"
	TypeHTTPS          = "HTTPS"
	TypeHTTPStrMatch   = "HTTP_STR_MATCH"
	TypeHTTPSStrMatch  = "HTTPS_STR_MATCH"
	TypeTCP            = "TCP"
	TypeCalculated     = "CALCULATED"
	TypeRoutingControl = "ROUTING_CONTROL"
)

// Routing control states.
const (
	StateOn  = "ON"
	StateOff = "OFF"
)

// Limits and defaults of a configuration (Route 53's, except that any
// interval from 1 to 30 seconds is allowed where Route 53 offers 10 or 30).
const (
	DefaultRequestInterval  = 30
	MaxRequestInterval      = 30
	DefaultFailureThreshold = 3
	MaxFailureThreshold     = 10
	MaxSearchString         = 255
	MaxResourcePath         = 255
	MaxFQDN                 = 255
	MaxChildHealthChecks    = 256
	MaxCallerReference      = 64
	// SearchBytes is how much of a response body a string match looks at.
	SearchBytes = 5120
)

// IsEndpoint reports whether checks of type t probe an endpoint.
func IsEndpoint(t string) bool {
	switch t {
	case TypeHTTP, TypeHTTPS, TypeHTTPStrMatch, TypeHTTPSStrMatch, TypeTCP:
		return true
	}
	return false
}

func isHTTP(t string) bool  { return t != TypeTCP && IsEndpoint(t) }
func isTLS(t string) bool   { return t == TypeHTTPS || t == TypeHTTPSStrMatch }
func isMatch(t string) bool { return t == TypeHTTPStrMatch || t == TypeHTTPSStrMatch }

func invalid(format string, args ...any) error {
	return zones.Errorf(zones.CodeInvalidInput, format, args...)
}

// Normalize validates a configuration and returns it with Route 53's
// defaults filled in (port 80 or 443, requestInterval 30, failureThreshold 3,
// resourcePath "/"), the type upper-case, the FQDN lower-case without its
// trailing dot and child ids lower-case. Fields that do not apply to the type
// must be empty. Every error is a *zones.Error with code InvalidInput naming
// the field. Whether children exist is the Store's business.
func Normalize(c zones.HealthCheckConfig) (zones.HealthCheckConfig, error) {
	c.Type = strings.ToUpper(strings.TrimSpace(c.Type))
	switch {
	case c.Type == "":
		return c, invalid("config.type: required (HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED or ROUTING_CONTROL)")
	case IsEndpoint(c.Type):
		return normalizeEndpoint(c)
	case c.Type == TypeCalculated:
		return normalizeCalculated(c)
	case c.Type == TypeRoutingControl:
		if err := onlyFields(c, "inverted", "disabled"); err != nil {
			return c, err
		}
		return c, nil
	}
	return c, invalid("config.type: unknown type %q (want HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED or ROUTING_CONTROL)", clip(c.Type))
}

func normalizeEndpoint(c zones.HealthCheckConfig) (zones.HealthCheckConfig, error) {
	if err := onlyFields(c, "ipAddress", "port", "resourcePath", "fullyQualifiedDomainName", "searchString",
		"requestInterval", "failureThreshold", "inverted", "disabled", "enableSNI"); err != nil {
		return c, err
	}
	if c.IPAddress != "" {
		ip, err := netip.ParseAddr(c.IPAddress)
		if err != nil || ip.Zone() != "" {
			return c, invalid("config.ipAddress: %q is not an IPv4 or IPv6 address", clip(c.IPAddress))
		}
		c.IPAddress = ip.Unmap().String()
	}
	if c.FullyQualifiedDomainName != "" {
		n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(c.FullyQualifiedDomainName), "."))
		if err := checkHostName(n); err != nil {
			return c, invalid("config.fullyQualifiedDomainName: %v", err)
		}
		c.FullyQualifiedDomainName = n
	}
	if c.IPAddress == "" && c.FullyQualifiedDomainName == "" {
		return c, invalid("config.ipAddress: give ipAddress or fullyQualifiedDomainName (or both)")
	}
	switch {
	case c.Port == 0 && isTLS(c.Type):
		c.Port = 443
	case c.Port == 0:
		c.Port = 80
	case c.Port < 1 || c.Port > 65535:
		return c, invalid("config.port: %d is not from 1 to 65535", c.Port)
	}
	if isHTTP(c.Type) {
		if c.ResourcePath == "" {
			c.ResourcePath = "/"
		}
		if !strings.HasPrefix(c.ResourcePath, "/") {
			c.ResourcePath = "/" + c.ResourcePath
		}
		if len(c.ResourcePath) > MaxResourcePath {
			return c, invalid("config.resourcePath: at most %d characters", MaxResourcePath)
		}
		if strings.ContainsAny(c.ResourcePath, " \t\r\n#") || !utf8.ValidString(c.ResourcePath) {
			return c, invalid("config.resourcePath: %q holds white space, control characters or a fragment", clip(c.ResourcePath))
		}
	} else if c.ResourcePath != "" {
		return c, invalid("config.resourcePath: not used by %s checks", c.Type)
	}
	if isMatch(c.Type) {
		if c.SearchString == "" {
			return c, invalid("config.searchString: required for %s checks", c.Type)
		}
		if len(c.SearchString) > MaxSearchString {
			return c, invalid("config.searchString: at most %d characters", MaxSearchString)
		}
	} else if c.SearchString != "" {
		return c, invalid("config.searchString: only for HTTP_STR_MATCH and HTTPS_STR_MATCH checks")
	}
	if c.EnableSNI && !isTLS(c.Type) {
		return c, invalid("config.enableSNI: only for HTTPS and HTTPS_STR_MATCH checks")
	}
	if c.EnableSNI && c.FullyQualifiedDomainName == "" {
		return c, invalid("config.enableSNI: needs fullyQualifiedDomainName, the name sent in the TLS handshake")
	}
	switch {
	case c.RequestInterval == 0:
		c.RequestInterval = DefaultRequestInterval
	case c.RequestInterval < 1 || c.RequestInterval > MaxRequestInterval:
		return c, invalid("config.requestInterval: %d is not from 1 to %d seconds", c.RequestInterval, MaxRequestInterval)
	}
	switch {
	case c.FailureThreshold == 0:
		c.FailureThreshold = DefaultFailureThreshold
	case c.FailureThreshold < 1 || c.FailureThreshold > MaxFailureThreshold:
		return c, invalid("config.failureThreshold: %d is not from 1 to %d", c.FailureThreshold, MaxFailureThreshold)
	}
	return c, nil
}

func normalizeCalculated(c zones.HealthCheckConfig) (zones.HealthCheckConfig, error) {
	if err := onlyFields(c, "childHealthChecks", "healthThreshold", "inverted", "disabled"); err != nil {
		return c, err
	}
	if len(c.ChildHealthChecks) > MaxChildHealthChecks {
		return c, invalid("config.childHealthChecks: at most %d children", MaxChildHealthChecks)
	}
	children := make([]string, 0, len(c.ChildHealthChecks))
	for i, id := range c.ChildHealthChecks {
		cid, ok := CanonicalID(id)
		if !ok {
			return c, invalid("config.childHealthChecks[%d]: %q is not a health check id (a UUID)", i, clip(id))
		}
		if slices.Contains(children, cid) {
			return c, invalid("config.childHealthChecks[%d]: %s is listed twice", i, cid)
		}
		children = append(children, cid)
	}
	c.ChildHealthChecks = children
	if c.HealthThreshold < 0 || c.HealthThreshold > len(children) {
		return c, invalid("config.healthThreshold: %d is not from 0 to the number of children (%d)", c.HealthThreshold, len(children))
	}
	return c, nil
}

// onlyFields refuses a configuration that sets a field its type does not use.
func onlyFields(c zones.HealthCheckConfig, allowed ...string) error {
	set := map[string]bool{
		"ipAddress":                c.IPAddress != "",
		"port":                     c.Port != 0,
		"resourcePath":             c.ResourcePath != "",
		"fullyQualifiedDomainName": c.FullyQualifiedDomainName != "",
		"searchString":             c.SearchString != "",
		"requestInterval":          c.RequestInterval != 0,
		"failureThreshold":         c.FailureThreshold != 0,
		"enableSNI":                c.EnableSNI,
		"childHealthChecks":        len(c.ChildHealthChecks) > 0,
		"healthThreshold":          c.HealthThreshold != 0,
	}
	for _, f := range []string{"ipAddress", "port", "resourcePath", "fullyQualifiedDomainName", "searchString",
		"requestInterval", "failureThreshold", "enableSNI", "childHealthChecks", "healthThreshold"} {
		if set[f] && !slices.Contains(allowed, f) {
			return invalid("config.%s: not used by %s checks", f, c.Type)
		}
	}
	return nil
}

func checkHostName(n string) error {
	if n == "" {
		return fmt.Errorf("empty name")
	}
	if len(n) > MaxFQDN {
		return fmt.Errorf("at most %d characters", MaxFQDN)
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return fmt.Errorf("%q is an address; put it in ipAddress", n)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q: labels must be 1-63 characters", clip(n))
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return fmt.Errorf("%q: only letters, digits, '-' and '_' are allowed in a host name", clip(n))
			}
		}
	}
	return nil
}

// NewID returns a random (version 4) UUID, the shape of Route 53's health
// check ids.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CanonicalID returns id lower-case if it has a UUID's shape
// (8-4-4-4-12 hexadecimal digits).
func CanonicalID(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	id = strings.ToLower(id)
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return "", false
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
				return "", false
			}
		}
	}
	return id, true
}

func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

package route53

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credential is one accepted access key.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// Name is who the audit log records; empty means the access key id.
	Name string
}

// Credentials maps access key ids to their keys.
type Credentials map[string]Credential

// LoadCredentials reads a credentials file: one key a line,
// `ACCESS_KEY_ID SECRET_ACCESS_KEY [NAME]`; blank lines and lines starting
// with # are skipped.
func LoadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("route53 credentials: %w", err)
	}
	defer f.Close()
	c, err := ParseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("route53 credentials %s: %w", path, err)
	}
	return c, nil
}

// ParseCredentials parses the credentials file format (see LoadCredentials).
// A file without any key is an error: it would turn authentication off.
func ParseCredentials(r io.Reader) (Credentials, error) {
	c := Credentials{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want ACCESS_KEY_ID SECRET_ACCESS_KEY [NAME], got %d fields", n, len(f))
		}
		if strings.ContainsAny(f[0], "/,=") {
			return nil, fmt.Errorf("line %d: access key id %q may not contain '/', ',' or '='", n, f[0])
		}
		if _, dup := c[f[0]]; dup {
			return nil, fmt.Errorf("line %d: access key id %s is listed twice", n, f[0])
		}
		cr := Credential{AccessKeyID: f[0], SecretAccessKey: f[1]}
		if len(f) == 3 {
			cr.Name = f[2]
		}
		c[f[0]] = cr
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("no keys (lines ACCESS_KEY_ID SECRET_ACCESS_KEY [NAME])")
	}
	return c, nil
}

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	// signingService is the service name in Route 53's credential scope.
	signingService = "route53"
	// maxClockSkew bounds how far a request's X-Amz-Date may be from now.
	maxClockSkew = 5 * time.Minute
)

// authHeader is a parsed SigV4 Authorization header.
type authHeader struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

func parseAuthHeader(h string) (authHeader, error) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigAlgorithm {
		return a, newError(http.StatusBadRequest, CodeIncompleteSignature,
			"Authorization header: only %s signatures are accepted", sigAlgorithm)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return a, newError(http.StatusBadRequest, CodeIncompleteSignature, "Authorization header: malformed component %q", clip(p))
		}
		parts[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if parts[k] == "" {
			return a, newError(http.StatusBadRequest, CodeIncompleteSignature, "Authorization header requires a '%s' parameter", k)
		}
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return a, newError(http.StatusBadRequest, CodeIncompleteSignature,
			"Credential %q: want ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request", clip(parts["Credential"]))
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(parts["SignedHeaders"], ";")
	a.signature = parts["Signature"]
	return a, nil
}

// verifier checks SigV4 signatures. It recomputes each signature with the
// AWS SDK's own signer, over a request rebuilt from exactly what the client
// says it signed, rather than reimplementing the algorithm.
type verifier struct {
	creds  Credentials
	signer *v4.Signer
	now    func() time.Time
}

// verify checks r's signature, body being r's whole body, and returns the
// credential that signed it.
func (v *verifier) verify(ctx context.Context, r *http.Request, body []byte) (Credential, error) {
	if r.URL.Query().Has("X-Amz-Signature") {
		return Credential{}, newError(http.StatusBadRequest, CodeIncompleteSignature,
			"presigned URLs are not accepted; sign requests with the Authorization header")
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return Credential{}, newError(http.StatusForbidden, CodeMissingAuthenticationToken, "Missing Authentication Token")
	}
	a, err := parseAuthHeader(h)
	if err != nil {
		return Credential{}, err
	}
	cred, ok := v.creds[a.accessKeyID]
	if !ok {
		return Credential{}, newError(http.StatusForbidden, CodeInvalidClientTokenID,
			"The security token included in the request is invalid.")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return Credential{}, newError(http.StatusForbidden, CodeInvalidClientTokenID,
			"temporary credentials (X-Amz-Security-Token) are not accepted; use a key from the credentials file")
	}
	if a.service != signingService {
		return Credential{}, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
			"Credential should be scoped to correct service: '%s'.", signingService)
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return Credential{}, newError(http.StatusBadRequest, CodeIncompleteSignature, "SignedHeaders must include host")
	}
	if !slices.Contains(a.signedHeaders, "x-amz-date") {
		return Credential{}, newError(http.StatusBadRequest, CodeIncompleteSignature,
			"SignedHeaders must include x-amz-date (the Date header is not accepted)")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFmt, amzDate)
	if err != nil {
		return Credential{}, newError(http.StatusBadRequest, CodeIncompleteSignature,
			"X-Amz-Date %q: want yyyymmddThhmmssZ", clip(amzDate))
	}
	if a.date != t.Format("20060102") {
		return Credential{}, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", clip(a.date), t.Format("20060102"))
	}
	now := v.now().UTC()
	if t.Before(now.Add(-maxClockSkew)) {
		return Credential{}, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
			"Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate,
			now.Add(-maxClockSkew).Format(amzDateFmt), now.Format(amzDateFmt))
	}
	if t.After(now.Add(maxClockSkew)) {
		return Credential{}, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
			"Signature not yet current: %s is still later than %s (%s + 5 min.)", amzDate,
			now.Add(maxClockSkew).Format(amzDateFmt), now.Format(amzDateFmt))
	}

	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != payloadHash {
		return Credential{}, newError(http.StatusBadRequest, CodeContentSHA256Mismatch,
			"The provided 'x-amz-content-sha256' header does not match what was computed.")
	}

	re, err := rebuild(ctx, r, a.signedHeaders, len(body))
	if err != nil {
		return Credential{}, err
	}
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey}
	if err := v.signer.SignHTTP(ctx, creds, re, payloadHash, a.service, a.region, t); err != nil {
		return Credential{}, fmt.Errorf("route53: recompute signature: %w", err)
	}
	want, err := parseAuthHeader(re.Header.Get("Authorization"))
	if err != nil {
		return Credential{}, fmt.Errorf("route53: the signer's own header: %w", err)
	}
	// Both sides are hex strings of fixed length when well formed; comparing
	// in constant time keeps a guessed prefix from showing in the timing.
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 ||
		!slices.Equal(want.signedHeaders, a.signedHeaders) {
		return Credential{}, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return cred, nil
}

// rebuild returns a request holding exactly what the client signed: its
// method, escaped path and query as sent, its Host, and only the headers
// named in SignedHeaders. The signer adds host itself, and content-length
// from the request's ContentLength, so those two are set that way.
func rebuild(ctx context.Context, r *http.Request, signed []string, bodyLen int) (*http.Request, error) {
	u, err := requestURL(r)
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeIncompleteSignature, "request URI: %v", err)
	}
	u.Scheme, u.Host = "http", r.Host
	re, err := http.NewRequestWithContext(ctx, r.Method, "http://placeholder/", nil)
	if err != nil {
		return nil, err
	}
	re.URL = u
	re.Host = r.Host
	re.Header = http.Header{}
	for _, name := range signed {
		switch name {
		case "host":
			continue
		case "content-length":
			re.ContentLength = int64(bodyLen)
			continue
		}
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			return nil, newError(http.StatusForbidden, CodeSignatureDoesNotMatch,
				"SignedHeaders names %q, which the request does not carry", clip(name))
		}
		re.Header[http.CanonicalHeaderKey(name)] = slices.Clone(vals)
	}
	return re, nil
}

// requestURL returns the request's URL as the client sent it. r.URL may have
// been rewritten by a router in front (a trailing slash dropped, say), while
// the signature covers the original; RequestURI keeps that.
func requestURL(r *http.Request) (*url.URL, error) {
	if r.RequestURI == "" || r.RequestURI == "*" {
		u := *r.URL
		return &u, nil
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = "", ""
	return u, nil
}

// clip shortens user input quoted in messages.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

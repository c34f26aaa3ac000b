package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// maxErrorBody bounds how much of an error reply is read: enough for the
// messages of a large rejected change batch, not a runaway body.
const maxErrorBody = 4 << 20

// Client calls the /v1 REST API of one healthdns node.
type Client struct {
	base  string // scheme://host[/prefix], without a trailing slash
	token string
	hc    *http.Client
}

// New returns a client for the API at baseURL (e.g. "http://127.0.0.1:8053").
// A non-empty token is sent as "Authorization: Bearer TOKEN" on every call.
// A nil httpClient means a plain &http.Client{}; bound calls with contexts.
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: httpClient}
}

// APIError is a non-2xx reply of the API.
type APIError struct {
	Status   int      // HTTP status code
	Code     string   // Route 53-style error code, e.g. "InvalidChangeBatch"
	Message  string   // one-line summary
	Messages []string // one line per bad change or zone file line
}

// Error prints the code and message on the first line and each of Messages
// on a line of its own.
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if t := http.StatusText(e.Status); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, m := range e.Messages {
		b.WriteString("\n")
		b.WriteString(m)
	}
	return b.String()
}

// ErrorCode returns the Code of the first *APIError in err's chain, or "".
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// errorBody is the API's error envelope.
type errorBody struct {
	Error struct {
		Code     string   `json:"code"`
		Message  string   `json:"message"`
		Messages []string `json:"messages"`
	} `json:"error"`
}

// changeInfoBody is the envelope of replies that carry a ChangeInfo.
type changeInfoBody struct {
	ChangeInfo *zones.ChangeInfo `json:"changeInfo"`
}

// request describes one API call.
type request struct {
	method      string
	path        string // under the base URL, e.g. "/v1/zones/Z123"
	query       url.Values
	body        io.Reader
	contentType string
	accept      string
}

// send performs req and returns the response of a 2xx reply; the caller
// closes its body. Any other status becomes an *APIError.
func (c *Client) send(ctx context.Context, req request) (*http.Response, error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, req.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	hr.Header.Set("Accept", accept)
	hr.Header.Set("User-Agent", "healthdns-client")
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err // *url.Error already names the method and URL
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// decodeError turns a non-2xx reply into an *APIError. A body that is not the
// API's envelope (a proxy's page, a plain-text 404) becomes the message.
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e.Code, e.Message, e.Messages = eb.Error.Code, eb.Error.Message, eb.Error.Messages
		return e
	}
	msg := strings.TrimSpace(string(raw))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] + " ..."
	}
	if len(msg) > 200 {
		msg = msg[:200] + " ..."
	}
	e.Message = msg
	return e
}

// doJSON sends in (if not nil) as JSON and decodes a 2xx reply into out
// (if not nil).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	req := request{method: method, path: path, query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		req.body = bytes.NewReader(b)
		req.contentType = "application/json"
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode reply: %w", method, path, err)
	}
	return nil
}

// bareID strips Route 53's "/hostedzone/" or "/change/" prefix.
func bareID(id string) string {
	for _, p := range []string{"/hostedzone/", "hostedzone/", "/change/", "change/"} {
		if strings.HasPrefix(id, p) {
			return id[len(p):]
		}
	}
	return id
}

func zonePath(id string, rest ...string) string {
	p := "/v1/zones/" + url.PathEscape(bareID(id))
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// CreateZone creates a hosted zone. The API's 201 reply carries the Zone and
// the change that created it, whose INSYNC means every DNS node serves the
// zone; the ChangeInfo is nil when the reply carries none.
func (c *Client) CreateZone(ctx context.Context, in zones.CreateZoneRequest) (*zones.Zone, *zones.ChangeInfo, error) {
	var out struct {
		zones.Zone
		ChangeInfo *zones.ChangeInfo `json:"changeInfo"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v1/zones", nil, in, &out); err != nil {
		return nil, nil, err
	}
	return &out.Zone, out.ChangeInfo, nil
}

// GetZone returns the hosted zone with the given id.
func (c *Client) GetZone(ctx context.Context, id string) (*zones.Zone, error) {
	var z zones.Zone
	if err := c.doJSON(ctx, http.MethodGet, zonePath(id), nil, nil, &z); err != nil {
		return nil, err
	}
	return &z, nil
}

// ListZones returns one page of hosted zones, starting at marker ("" for the
// first page); maxItems 0 leaves the page size to the server.
func (c *Client) ListZones(ctx context.Context, marker string, maxItems int) (*zones.ZonePage, error) {
	q := url.Values{}
	if marker != "" {
		q.Set("marker", marker)
	}
	if maxItems > 0 {
		q.Set("maxItems", strconv.Itoa(maxItems))
	}
	var p zones.ZonePage
	if err := c.doJSON(ctx, http.MethodGet, "/v1/zones", q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// AllZones follows ListZones's pages and returns every hosted zone.
func (c *Client) AllZones(ctx context.Context) ([]zones.Zone, error) {
	var all []zones.Zone
	err := c.eachZone(ctx, func(z *zones.Zone) bool {
		all = append(all, *z)
		return true
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// eachZone follows ListZones's pages and calls fn for each zone until the
// list ends or fn returns false.
func (c *Client) eachZone(ctx context.Context, fn func(*zones.Zone) bool) error {
	marker := ""
	for {
		p, err := c.ListZones(ctx, marker, 0)
		if err != nil {
			return err
		}
		for i := range p.Zones {
			if !fn(&p.Zones[i]) {
				return nil
			}
		}
		if !p.IsTruncated {
			return nil
		}
		if p.NextMarker == "" || p.NextMarker == marker {
			return errors.New("list zones: truncated page without a new nextMarker")
		}
		marker = p.NextMarker
	}
}

// DeleteZone deletes a hosted zone. The API refuses (409 HostedZoneNotEmpty)
// while record sets other than the apex SOA and NS remain. The returned
// ChangeInfo is nil when the server's reply carries none.
func (c *Client) DeleteZone(ctx context.Context, id string) (*zones.ChangeInfo, error) {
	resp, err := c.send(ctx, request{method: http.MethodDelete, path: zonePath(id)})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, fmt.Errorf("DELETE %s: read reply: %w", zonePath(id), err)
	}
	var ci changeInfoBody
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &ci) != nil {
		return nil, nil // the deletion succeeded; a reply body is optional
	}
	return ci.ChangeInfo, nil
}

// IsZoneID reports whether s has the shape of a hosted zone id: "Z" and
// upper-case letters and digits, bare or with Route 53's "/hostedzone/" prefix.
func IsZoneID(s string) bool {
	s = bareID(s)
	if len(s) < 2 || s[0] != 'Z' {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// CanonicalName returns name lower-case and fully qualified ("Example.Test"
// -> "example.test.").
func CanonicalName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// ResolveZone returns the id of the zone nameOrID names. Ids (see IsZoneID)
// pass through without a call; names are matched case-insensitively, with or
// without the trailing dot, against every zone. An unknown name is an
// *APIError with Status 404 and Code NoSuchHostedZone.
func (c *Client) ResolveZone(ctx context.Context, nameOrID string) (string, error) {
	if IsZoneID(nameOrID) {
		return bareID(nameOrID), nil
	}
	z, err := c.ResolveZoneInfo(ctx, nameOrID)
	if err != nil {
		return "", err
	}
	return z.ID, nil
}

// ResolveZoneInfo is ResolveZone returning the whole zone: for an id it
// calls GetZone, for a name it searches the zone list.
func (c *Client) ResolveZoneInfo(ctx context.Context, nameOrID string) (*zones.Zone, error) {
	if IsZoneID(nameOrID) {
		return c.GetZone(ctx, nameOrID)
	}
	want := CanonicalName(nameOrID)
	if want == "." && strings.TrimSpace(nameOrID) == "" {
		return nil, &APIError{Status: http.StatusBadRequest, Code: zones.CodeInvalidInput, Message: "empty zone name"}
	}
	var found *zones.Zone
	err := c.eachZone(ctx, func(z *zones.Zone) bool {
		if CanonicalName(z.Name) == want {
			found = z
		}
		return found == nil
	})
	if err != nil || found != nil {
		return found, err
	}
	return nil, &APIError{
		Status:  http.StatusNotFound,
		Code:    zones.CodeNoSuchHostedZone,
		Message: fmt.Sprintf("no hosted zone named %s", want),
	}
}

// ListRecordSets returns one page of a zone's record sets in Route 53's
// order, starting at in.Name, in.Type and in.Identifier (all optional).
func (c *Client) ListRecordSets(ctx context.Context, zoneID string, in zones.ListRecordSetsInput) (*zones.RecordSetPage, error) {
	q := url.Values{}
	if in.Name != "" {
		q.Set("name", in.Name)
	}
	if in.Type != "" {
		q.Set("type", in.Type)
	}
	if in.Identifier != "" {
		q.Set("identifier", in.Identifier)
	}
	if in.MaxItems > 0 {
		q.Set("maxItems", strconv.Itoa(in.MaxItems))
	}
	var p zones.RecordSetPage
	if err := c.doJSON(ctx, http.MethodGet, zonePath(zoneID, "rrsets"), q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// EachRecordSet follows ListRecordSets's pages from in and calls fn for each
// record set until the listing ends or fn returns false.
func (c *Client) EachRecordSet(ctx context.Context, zoneID string, in zones.ListRecordSetsInput, fn func(zones.RecordSet) bool) error {
	for {
		p, err := c.ListRecordSets(ctx, zoneID, in)
		if err != nil {
			return err
		}
		for _, rs := range p.RecordSets {
			if !fn(rs) {
				return nil
			}
		}
		if !p.IsTruncated {
			return nil
		}
		next := zones.ListRecordSetsInput{Name: p.NextName, Type: p.NextType, Identifier: p.NextIdentifier, MaxItems: in.MaxItems}
		if next == in || next.Name == "" {
			return fmt.Errorf("list record sets: truncated page without a new start")
		}
		in = next
	}
}

// ChangeRecordSets submits a change batch; the server applies all of its
// changes or none.
func (c *Client) ChangeRecordSets(ctx context.Context, zoneID string, batch zones.ChangeBatch) (*zones.ChangeInfo, error) {
	var out changeInfoBody
	if err := c.doJSON(ctx, http.MethodPost, zonePath(zoneID, "rrsets"), nil, batch, &out); err != nil {
		return nil, err
	}
	return changeInfo(out, "POST "+zonePath(zoneID, "rrsets"))
}

// GetChange returns the status of a submitted change.
func (c *Client) GetChange(ctx context.Context, id string) (*zones.ChangeInfo, error) {
	p := "/v1/changes/" + url.PathEscape(bareID(id))
	var out changeInfoBody
	if err := c.doJSON(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return changeInfo(out, "GET "+p)
}

func changeInfo(b changeInfoBody, what string) (*zones.ChangeInfo, error) {
	if b.ChangeInfo == nil {
		return nil, fmt.Errorf("%s: reply has no changeInfo", what)
	}
	return b.ChangeInfo, nil
}

// WaitChange polls GetChange every interval until the change is INSYNC and
// returns its final status. Server-side trouble (5xx, Throttling) and
// transport errors are retried; other API errors end the wait. When ctx ends
// first, it returns the last status seen (possibly nil) and an error wrapping
// ctx.Err().
func (c *Client) WaitChange(ctx context.Context, id string, interval time.Duration) (*zones.ChangeInfo, error) {
	if interval <= 0 {
		interval = time.Second
	}
	var (
		last    *zones.ChangeInfo
		lastErr error
	)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ci, err := c.GetChange(ctx, id)
		switch {
		case err == nil:
			last, lastErr = ci, nil
			if ci.Status == zones.StatusInsync {
				return ci, nil
			}
		case ctx.Err() != nil:
			// The context ended during the call; reported below.
		case !Retryable(err):
			return last, err
		default:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("wait for change %s: %w (last error: %v)", bareID(id), ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("wait for change %s: %w", bareID(id), ctx.Err())
		case <-t.C:
		}
	}
}

// Retryable reports whether a failed status poll may succeed if repeated:
// transport errors, 5xx, 429 and the Throttling and PriorRequestNotComplete
// codes are; other API errors (a 404, a 403) are not.
func Retryable(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return true // transport trouble: a node restarting, a dropped connection
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Code == zones.CodeThrottling || e.Code == zones.CodePriorRequestNotComplete
}

// ImportZoneFile replaces the zone's record sets with those of an RFC 1035
// master file read from r, streamed as the request body.
func (c *Client) ImportZoneFile(ctx context.Context, zoneID string, r io.Reader) (*zones.ChangeInfo, error) {
	p := zonePath(zoneID, "zonefile")
	resp, err := c.send(ctx, request{method: http.MethodPut, path: p, body: r, contentType: "text/dns"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out changeInfoBody
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("PUT %s: decode reply: %w", p, err)
	}
	return changeInfo(out, "PUT "+p)
}

// ExportZoneFile writes the zone as an RFC 1035 master file to w.
func (c *Client) ExportZoneFile(ctx context.Context, zoneID string, w io.Writer) error {
	p := zonePath(zoneID, "zonefile")
	resp, err := c.send(ctx, request{method: http.MethodGet, path: p, accept: "text/dns"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", p, err)
	}
	return nil
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Entries     []zones.AuditEntry `json:"entries"`
	IsTruncated bool               `json:"isTruncated"`
	NextSince   string             `json:"nextSince,omitempty"`
}

// ListAudit returns audit entries at or after since (RFC 3339; "" = all).
func (c *Client) ListAudit(ctx context.Context, since string, maxItems int) (*AuditPage, error) {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if maxItems > 0 {
		q.Set("maxItems", strconv.Itoa(maxItems))
	}
	var out AuditPage
	if err := c.doJSON(ctx, http.MethodGet, "/v1/audit", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

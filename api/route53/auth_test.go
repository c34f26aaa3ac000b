package route53_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/healthdns/healthdns/api/route53"
)

// errorResponse is Route 53's error body, decoded strictly enough to check
// its shape.
type errorResponse struct {
	XMLName xml.Name
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

func decodeError(t *testing.T, status int, body string) errorResponse {
	t.Helper()
	var e errorResponse
	if err := xml.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("status %d: body %q is not XML: %v", status, body, err)
	}
	if e.XMLName.Space != route53.Namespace || e.XMLName.Local != "ErrorResponse" || e.Error.Code == "" ||
		e.Error.Message == "" || e.RequestID == "" || (e.Error.Type != "Sender" && e.Error.Type != "Receiver") {
		t.Fatalf("status %d: body %q is not Route 53's ErrorResponse", status, body)
	}
	return e
}

// TestSigV4 is the second acceptance check and the rest of the signature
// rules.
func TestSigV4(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s := startStack(t, stackOptions{now: func() time.Time { return clock() }})
	ctx := ctxT(t)

	// Right key, any region.
	for _, region := range []string{"us-east-1", "eu-west-3", "healthdns-local"} {
		if _, err := s.client(t, testKeyID, testSecret, region).GetHostedZoneCount(ctx, &awsr53.GetHostedZoneCountInput{}); err != nil {
			t.Errorf("region %s: %v", region, err)
		}
	}

	// A wrong secret: Route 53's SignatureDoesNotMatch, and nothing done.
	bad := s.client(t, testKeyID, "wrong"+testSecret, "us-east-1")
	_, err := bad.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("nope.test"), CallerReference: aws.String("n-1")})
	wantCode(t, err, route53.CodeSignatureDoesNotMatch, http.StatusForbidden)
	if n, err := s.sdk(t).GetHostedZoneCount(ctx, &awsr53.GetHostedZoneCountInput{}); err != nil || aws.ToInt64(n.HostedZoneCount) != 0 {
		t.Errorf("after a refused create: %v zones, %v", n, err)
	}

	// An unknown key.
	_, err = s.client(t, "AKIDUNKNOWN", testSecret, "us-east-1").ListHostedZones(ctx, &awsr53.ListHostedZonesInput{})
	wantCode(t, err, route53.CodeInvalidClientTokenID, http.StatusForbidden)

	// No signature at all; and a bearer token is no substitute.
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer " + v1Token}}} {
		status, _, body := s.raw(t, "GET", "/2013-04-01/hostedzone", h, "")
		e := decodeError(t, status, body)
		want := route53.CodeMissingAuthenticationToken
		if h != nil {
			want = route53.CodeIncompleteSignature
		}
		if e.Error.Code != want || e.Error.Type != "Sender" {
			t.Errorf("header %v: status %d code %s, want %s", h, status, e.Error.Code, want)
		}
	}

	// Clock skew: at most 5 minutes either way.
	for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
		clock = func() time.Time { return now.Add(skew) }
		_, err = s.sdk(t).ListHostedZones(ctx, &awsr53.ListHostedZonesInput{})
		code, status := apiError(t, err)
		if code != route53.CodeSignatureDoesNotMatch || status != 403 || !strings.Contains(err.Error(), "Signature") {
			t.Errorf("skew %s: %v", skew, err)
		}
	}
	clock = func() time.Time { return now.Add(4 * time.Minute) }
	if _, err := s.sdk(t).ListHostedZones(ctx, &awsr53.ListHostedZonesInput{}); err != nil {
		t.Errorf("skew of 4 minutes: %v", err)
	}
	clock = time.Now

	// The body is covered: a request signed for one body and sent with
	// another is refused, whether the client sent the body hash or not.
	const path = "/2013-04-01/hostedzone"
	body := `<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>signed.test</Name><CallerReference>s-1</CallerReference></CreateHostedZoneRequest>`
	other := strings.Replace(body, "signed.test", "swapped.test", 1)
	for _, withHash := range []bool{false, true} {
		req := s.signed(t, "POST", path, body, withHash)
		status, _, rb := s.send(t, req, other)
		e := decodeError(t, status, rb)
		want := route53.CodeSignatureDoesNotMatch
		if withHash {
			want = route53.CodeContentSHA256Mismatch
		}
		if e.Error.Code != want {
			t.Errorf("swapped body (hash header %v): %d %s, want %s", withHash, status, e.Error.Code, want)
		}
	}
	// The same request with its own body passes, with the hash header too.
	req := s.signed(t, "POST", path, body, true)
	if status, _, rb := s.send(t, req, body); status != http.StatusCreated {
		t.Fatalf("signed request: %d %s", status, rb)
	}
	// A header the client signed cannot be changed.
	req = s.signed(t, "GET", path+"?maxitems=1", "", false)
	req.Header.Set("X-Amz-Date", time.Now().UTC().Add(time.Second).Format("20060102T150405Z"))
	if status, _, rb := s.send(t, req, ""); decodeError(t, status, rb).Error.Code != route53.CodeSignatureDoesNotMatch {
		t.Errorf("changed X-Amz-Date: %d %s", status, rb)
	}
	// Nor the query.
	req = s.signed(t, "GET", path+"?maxitems=1", "", false)
	req.URL.RawQuery = "maxitems=2"
	if status, _, rb := s.send(t, req, ""); decodeError(t, status, rb).Error.Code != route53.CodeSignatureDoesNotMatch {
		t.Errorf("changed query: %d %s", status, rb)
	}
}

// signed returns a request signed with the test key by the SDK's signer.
func (s *stack) signed(t *testing.T, method, path, body string, hashHeader bool) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if hashHeader {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "route53", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// send sends req with body in place of the one it was signed with.
func (s *stack) send(t *testing.T, req *http.Request, body string) (int, http.Header, string) {
	t.Helper()
	return s.raw(t, req.Method, req.URL.RequestURI(), req.Header.Clone(), body)
}

// Without a credentials file the endpoint takes unsigned requests (the
// server only allows that on loopback), and signed ones alike.
func TestOpenEndpoint(t *testing.T) {
	s := startStack(t, stackOptions{open: true})
	status, hdr, body := s.raw(t, "POST", "/2013-04-01/hostedzone", nil,
		`<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>open.test</Name><CallerReference>o-1</CallerReference></CreateHostedZoneRequest>`)
	if status != http.StatusCreated || !strings.Contains(body, "<Name>open.test.</Name>") || hdr.Get("X-Amzn-Requestid") == "" {
		t.Fatalf("unsigned create: %d %s", status, body)
	}
	if _, err := s.client(t, "ANYKEY", "any-secret", "us-west-2").ListHostedZones(ctxT(t), &awsr53.ListHostedZonesInput{}); err != nil {
		t.Errorf("signed request to an open endpoint: %v", err)
	}
	if !strings.Contains(s.logs.String(), "who=anonymous") {
		t.Error("an unsigned write is not audited as anonymous")
	}
}

// TestErrorShapes checks the raw bodies: ErrorResponse for every error but
// InvalidChangeBatch, which has Route 53's own body.
func TestErrorShapes(t *testing.T) {
	s := startStack(t, stackOptions{open: true})
	status, _, body := s.raw(t, "GET", "/2013-04-01/hostedzone/Z12345678901234567890", nil, "")
	if e := decodeError(t, status, body); status != 404 || e.Error.Code != "NoSuchHostedZone" || e.Error.Type != "Sender" {
		t.Errorf("NoSuchHostedZone: %d %s", status, body)
	}
	status, _, body = s.raw(t, "POST", "/2013-04-01/hostedzone", nil, "<CreateHostedZoneRequest><Name>")
	if e := decodeError(t, status, body); status != 400 || e.Error.Code != "InvalidInput" {
		t.Errorf("malformed XML: %d %s", status, body)
	}
	status, _, body = s.raw(t, "POST", "/2013-04-01/hostedzone", nil, "<ListHostedZonesRequest/>")
	if e := decodeError(t, status, body); status != 400 || e.Error.Code != "InvalidInput" {
		t.Errorf("wrong root element: %d %s", status, body)
	}
	status, _, body = s.raw(t, "GET", "/2013-04-01/nosuchthing", nil, "")
	if e := decodeError(t, status, body); status != 404 || e.Error.Code != route53.CodeUnknownOperation {
		t.Errorf("unknown operation: %d %s", status, body)
	}
	status, _, body = s.raw(t, "PUT", "/2013-04-01/hostedzone", nil, "")
	if e := decodeError(t, status, body); status != 405 {
		t.Errorf("wrong method: %d %+v", status, e)
	}

	c := s.sdk(t)
	id := zoneID(t, createZone(t, c, "shapes.test", "sh-1").HostedZone.Id)
	batch := `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>
<Change><Action>DELETE</Action><ResourceRecordSet><Name>none.shapes.test</Name><Type>A</Type><TTL>60</TTL>
<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
<Change><Action>CREATE</Action><ResourceRecordSet><Name>tp.shapes.test</Name><Type>A</Type><TrafficPolicyInstanceId>x</TrafficPolicyInstanceId></ResourceRecordSet></Change>
</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
	for _, p := range []string{"/2013-04-01/hostedzone/" + id + "/rrset/", "/2013-04-01/hostedzone/%2Fhostedzone%2F" + id + "/rrset"} {
		status, _, body = s.raw(t, "POST", p, nil, batch)
		var icb struct {
			XMLName   xml.Name
			Messages  []string `xml:"Messages>Message"`
			RequestID string   `xml:"RequestId"`
		}
		if err := xml.Unmarshal([]byte(body), &icb); err != nil || status != 400 || icb.XMLName.Local != "InvalidChangeBatch" ||
			icb.XMLName.Space != route53.Namespace || len(icb.Messages) != 1 || icb.RequestID == "" ||
			!strings.Contains(icb.Messages[0], "TrafficPolicyInstanceId") {
			t.Errorf("POST %s: InvalidChangeBatch body: %d %s", p, status, body)
		}
	}
	// The SDK's custom deserializer reads that body into the typed error.
	_, err := c.ChangeResourceRecordSets(ctxT(t), &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{{Action: types.ChangeActionDelete, ResourceRecordSet: ptr(rrset("none.shapes.test", "A", 60, "192.0.2.1"))}}}})
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) || len(icb.Messages) != 1 {
		t.Errorf("SDK: %v", err)
	}
}

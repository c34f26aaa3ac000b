package route53

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/healthdns/healthdns/zones"
)

func TestLoadCredentials(t *testing.T) {
	c, err := LoadCredentials(filepath.Join("testdata", "credentials", "good.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{
		"AKIDALICE": {AccessKeyID: "AKIDALICE", SecretAccessKey: "secret-alice", Name: "alice"},
		"AKIDBOB":   {AccessKeyID: "AKIDBOB", SecretAccessKey: "secret-bob"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if _, err := LoadCredentials(filepath.Join("testdata", "credentials", "missing.txt")); err == nil {
		t.Error("a missing file: no error")
	}
}

// Each testdata/credentials/NAME.txt with a NAME.err must fail with that
// error text.
func TestParseCredentialsErrors(t *testing.T) {
	errs, _ := filepath.Glob(filepath.Join("testdata", "credentials", "*.err"))
	if len(errs) == 0 {
		t.Fatal("no test cases")
	}
	for _, ef := range errs {
		name := strings.TrimSuffix(filepath.Base(ef), ".err")
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(ef)
			if err != nil {
				t.Fatal(err)
			}
			in, err := os.ReadFile(strings.TrimSuffix(ef, ".err") + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseCredentials(bytes.NewReader(in))
			if err == nil || err.Error() != strings.TrimSpace(string(want)) {
				t.Errorf("error %v, want %s", err, want)
			}
		})
	}
}

func TestParseAuthHeader(t *testing.T) {
	a, err := parseAuthHeader("AWS4-HMAC-SHA256 Credential=AKID/20260102/eu-west-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123")
	if err != nil {
		t.Fatal(err)
	}
	want := authHeader{accessKeyID: "AKID", date: "20260102", region: "eu-west-1", service: "route53",
		signedHeaders: []string{"host", "x-amz-date"}, signature: "abc123"}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v", a)
	}
	for _, bad := range []string{
		"Bearer token",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AKID/20260102/eu-west-1/route53/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=AKID/20260102/route53/aws4_request, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=AKID/20260102/r/route53/aws4_request, SignedHeaders=host, Signature",
	} {
		if _, err := parseAuthHeader(bad); errorReply(err).code != CodeIncompleteSignature {
			t.Errorf("%q: %v, want IncompleteSignature", bad, err)
		}
	}
}

func TestMatch(t *testing.T) {
	h, err := New(Options{Store: nilStore{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, op string
		params           []string
		code             string
	}{
		{"POST", "/2013-04-01/hostedzone", "CreateHostedZone", nil, ""},
		{"GET", "/2013-04-01/hostedzone/Z123", "GetHostedZone", []string{"Z123"}, ""},
		{"GET", "/2013-04-01/hostedzone/%2Fhostedzone%2FZ123", "GetHostedZone", []string{"/hostedzone/Z123"}, ""},
		{"POST", "/2013-04-01/hostedzone/Z123/rrset/", "ChangeResourceRecordSets", []string{"Z123"}, ""},
		{"POST", "/2013-04-01/hostedzone/Z123/rrset", "ChangeResourceRecordSets", []string{"Z123"}, ""},
		{"GET", "/2013-04-01/hostedzone/Z123/rrset", "ListResourceRecordSets", []string{"Z123"}, ""},
		{"HEAD", "/2013-04-01/hostedzonecount", "GetHostedZoneCount", nil, ""},
		{"POST", "/2013-04-01/tags/healthcheck/abc", "ChangeTagsForResource", []string{"healthcheck", "abc"}, ""},
		{"GET", "/2013-04-01/healthcheck/abc/lastfailurereason", "GetHealthCheckLastFailureReason", []string{"abc"}, ""},
		{"PUT", "/2013-04-01/hostedzone/Z123", "", nil, CodeUnknownOperation},
		{"GET", "/2013-04-01/hostedzone//rrset", "", nil, CodeUnknownOperation},
		{"GET", "/2013-04-01/hostedzone/Z123/rrset/extra", "", nil, CodeUnknownOperation},
		{"GET", "/v1/zones", "", nil, CodeUnknownOperation},
		{"GET", "/2013-04-01/hostedzone/%zz", "", nil, zones.CodeInvalidInput},
	} {
		rt, params, err := h.match(tc.method, tc.path)
		if tc.code != "" {
			if errorReply(err).code != tc.code {
				t.Errorf("%s %s: %v, want %s", tc.method, tc.path, err, tc.code)
			}
			continue
		}
		if err != nil || rt.op != tc.op || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("%s %s: %s %q %v, want %s %q", tc.method, tc.path, rt.op, params, err, tc.op, tc.params)
		}
	}
}

func TestBareID(t *testing.T) {
	for in, want := range map[string]string{
		"Z123": "Z123", "/hostedzone/Z123": "Z123", "hostedzone/Z123": "Z123", "/change/C1": "/change/C1",
	} {
		if got := bareID(in, "hostedzone"); got != want {
			t.Errorf("bareID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDNSName(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.com":      "www.example.com",
		`\052.example.com`:     "*.example.com",
		`a\056b.example.com`:   `a\046b.example.com`, // a literal dot inside a label
		`\101\142.example.com`: "Ab.example.com",
		`\400.example.com`:     `\400.example.com`, // not a byte: left alone
		`a\.b.example.com`:     `a\.b.example.com`,
		`x\05`:                 `x\05`,
		`\\052`:                `\\052`,
	} {
		if got := dnsName(in); got != want {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
	n, err := zones.CanonicalName(dnsName(`\052.Example.COM`))
	if err != nil || n != "*.example.com." {
		t.Errorf("\\052.Example.COM: %q, %v", n, err)
	}
}

// A record set survives XML -> model -> XML, with an alias in the same zone
// stored without its zone id and shown with it.
func TestRecordSetMapping(t *testing.T) {
	w, ttl, yes := int64(7), int64(60), true
	for _, x := range []xmlResourceRecordSet{
		{Name: "a.example.", Type: "A", TTL: &ttl, SetIdentifier: "s", Weight: &w, HealthCheckID: "hc",
			ResourceRecords: []xmlResourceRecord{{Value: "192.0.2.1"}, {Value: "192.0.2.2"}}},
		{Name: "b.example.", Type: "A", TTL: &ttl, SetIdentifier: "p", Failover: "PRIMARY", ResourceRecords: []xmlResourceRecord{{Value: "192.0.2.3"}}},
		{Name: "c.example.", Type: "A", TTL: &ttl, SetIdentifier: "m", MultiValueAnswer: &yes, ResourceRecords: []xmlResourceRecord{{Value: "192.0.2.4"}}},
		{Name: "d.example.", Type: "A", SetIdentifier: "g", GeoLocation: &xmlGeoLocation{CountryCode: "DE"},
			AliasTarget: &xmlAliasTarget{HostedZoneID: "ZSAME", DNSName: "a.example.", EvaluateTargetHealth: true}},
		{Name: "e.example.", Type: "AAAA", TTL: &ttl, SetIdentifier: "c", CidrRoutingConfig: &xmlCidrRoutingConfig{CollectionID: "id", LocationName: "loc"},
			ResourceRecords: []xmlResourceRecord{{Value: "2001:db8::1"}}},
		{Name: "f.example.", Type: "A", TTL: &ttl, SetIdentifier: "r", Region: "eu-west-1", ResourceRecords: []xmlResourceRecord{{Value: "192.0.2.5"}}},
	} {
		rs, err := recordSetModel(x, "ZSAME")
		if err != nil {
			t.Fatal(err)
		}
		if rs.AliasTarget != nil && rs.AliasTarget.HostedZoneID != "" {
			t.Errorf("%s: alias zone id %q stored", x.Name, rs.AliasTarget.HostedZoneID)
		}
		if back := recordSetXML(rs, "ZSAME"); !reflect.DeepEqual(back, x) {
			t.Errorf("round trip of %+v gave %+v", x, back)
		}
	}
	if _, err := recordSetModel(xmlResourceRecordSet{Name: "x.", Type: "A", GeoProximityLocation: &xmlPresent{}}, "Z"); err == nil {
		t.Error("GeoProximityLocation accepted")
	}
}

func TestMergeUpdate(t *testing.T) {
	cur := zones.HealthCheckConfig{Type: "HTTP", IPAddress: "192.0.2.1", Port: 80, ResourcePath: "/a",
		FullyQualifiedDomainName: "x.example", RequestInterval: 10, FailureThreshold: 3}
	path, port, no := "/b", 8080, false
	got := mergeUpdate(cur, updateHealthCheckRequest{ResourcePath: &path, Port: &port, Inverted: &no,
		ResetElements: []string{"FullyQualifiedDomainName"}})
	want := cur
	want.ResourcePath, want.Port, want.FullyQualifiedDomainName = "/b", 8080, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// The InvalidChangeBatch body carries the messages both ways: as Route 53's
// Messages and in an Error element for clients that read only that.
func TestInvalidChangeBatchBody(t *testing.T) {
	b, err := xml.Marshal(invalidChangeBatchResponse{Messages: []string{"m1", "m2"},
		Error: xmlError{Type: "Sender", Code: zones.CodeInvalidChangeBatch, Message: "[m1, m2]"}, RequestID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := `<InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages><Message>m1</Message><Message>m2</Message></Messages>` +
		`<Error><Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>[m1, m2]</Message></Error><RequestId>r</RequestId></InvalidChangeBatch>`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// nilStore satisfies Store for tests that never reach it.
type nilStore struct{ Store }

// FuzzChangeBatch feeds request bodies through the XML decoder and the
// mapping to the model; neither may panic.
func FuzzChangeBatch(f *testing.F) {
	f.Add([]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.</Name><Type>A</Type><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords><AliasTarget><HostedZoneId>/hostedzone/Z</HostedZoneId></AliasTarget></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`))
	f.Add([]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch/></ChangeResourceRecordSetsRequest>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in changeResourceRecordSetsRequest
		if err := decode(&call{body: body, op: "ChangeResourceRecordSets"}, &in); err != nil || in.ChangeBatch == nil {
			return
		}
		for _, ch := range in.ChangeBatch.Changes {
			if rs, err := recordSetModel(ch.ResourceRecordSet, "Z"); err == nil {
				recordSetXML(rs, "Z")
			}
		}
	})
}

// FuzzAuthHeader checks that any Authorization header parses or fails with
// IncompleteSignature.
func FuzzAuthHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260102/eu-west-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature==")
	f.Fuzz(func(t *testing.T, h string) {
		if _, err := parseAuthHeader(h); err != nil && errorReply(err).code != CodeIncompleteSignature {
			t.Errorf("%q: %v", h, err)
		}
	})
}

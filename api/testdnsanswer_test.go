package api

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/zones"
)

// downChecks is a dnsserver.Health with fixed unhealthy checks.
type downChecks map[string]bool

func (d downChecks) Healthy(id string) bool { return !d[id] }

// oneBlock is a dnsserver.CIDRSource with one location, "east".
type oneBlock struct{}

func (oneBlock) Lookup(_ string, a netip.Addr) (string, int, bool) {
	if netip.MustParsePrefix("198.51.100.0/24").Contains(a) {
		return "east", 24, true
	}
	return "", 0, false
}

// answerTable serves example.test. (the fake store's zone name) with a
// weighted pair whose first check is down and an IP-based pair.
func answerTable(t *testing.T) *dnsserver.Table {
	t.Helper()
	i64 := func(v int64) *int64 { return &v }
	var sets []*zones.Set
	for _, rs := range []zones.RecordSet{
		{Name: "example.test.", Type: "SOA", TTL: i64(300), Values: []string{"ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300"}},
		{Name: "example.test.", Type: "NS", TTL: i64(300), Values: []string{"ns1.example.test."}},
		{Name: "w.example.test.", Type: "A", TTL: i64(60), Values: []string{"192.0.2.1"}, SetIdentifier: "one", Weight: i64(1), HealthCheckID: "down"},
		{Name: "w.example.test.", Type: "A", TTL: i64(60), Values: []string{"192.0.2.2"}, SetIdentifier: "two", Weight: i64(1)},
		{Name: "c.example.test.", Type: "A", TTL: i64(60), Values: []string{"192.0.2.5"}, SetIdentifier: "e", CidrRouting: &zones.CidrRouting{CollectionID: "col", LocationName: "east"}},
		{Name: "c.example.test.", Type: "A", TTL: i64(60), Values: []string{"192.0.2.6"}, SetIdentifier: "d", CidrRouting: &zones.CidrRouting{CollectionID: "col", LocationName: "*"}},
	} {
		s, err := zones.ParseRecordSet(rs, "example.test.")
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	tb := dnsserver.NewTable()
	tb.SetHealth(downChecks{"down": true})
	tb.SetCIDRSource(oneBlock{})
	if err := tb.Apply([]zones.ZoneDelta{{ZoneID: "Z0123456789ABCD", Origin: "example.test.", Reset: true, Put: sets}}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTestDNSAnswer(t *testing.T) {
	ts := newTestServer(t, Options{TestDNSAnswer: answerTable(t)})
	get := func(query string) (int, testDNSAnswerBody, response) {
		t.Helper()
		r := ts.do(t, "GET", "/v1/testdnsanswer?"+query, "", nil)
		var body testDNSAnswerBody
		if r.status == http.StatusOK {
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("%s: %v", r.body, err)
			}
		}
		return r.status, body, r
	}

	status, body, r := get("zoneId=Z0123456789ABCD&name=W.example.test&type=a&explain=true")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, r.body)
	}
	want := testDNSAnswerBody{Nameserver: "ns1.example.test.", RecordName: "w.example.test.", RecordType: "A",
		RecordData: []string{"192.0.2.2"}, ResponseCode: "NOERROR", Protocol: "UDP"}
	ex := body.Explanation
	body.Explanation = nil
	if !slices.Equal(body.RecordData, want.RecordData) || body.Nameserver != want.Nameserver || body.RecordName != want.RecordName ||
		body.RecordType != want.RecordType || body.ResponseCode != want.ResponseCode || body.Protocol != want.Protocol {
		t.Errorf("body %+v, want %+v", body, want)
	}
	if ex == nil || len(ex.Steps) != 1 || ex.Steps[0].Policy != "weighted" || len(ex.Steps[0].Candidates) != 2 ||
		ex.Steps[0].Candidates[0].Healthy || !ex.Steps[0].Candidates[1].Healthy || !slices.Equal(ex.Steps[0].Chosen, []string{"two"}) {
		t.Errorf("explanation %+v", ex)
	}

	// Without explain, no explanation; Route 53's prefixed zone id works.
	status, _, r = get("zoneId=%2Fhostedzone%2FZ0123456789ABCD&name=w.example.test&type=A")
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); status != http.StatusOK || err != nil || raw["explanation"] != nil {
		t.Errorf("status %d body %s", status, r.body)
	}

	// IP-based routing: clientSubnet, else resolverIP.
	for q, addr := range map[string]string{
		"clientSubnet=198.51.100.0/24":                      "192.0.2.5",
		"clientSubnet=198.51.100.77":                        "192.0.2.5",
		"clientSubnet=203.0.113.0/24":                       "192.0.2.6",
		"resolverIP=198.51.100.53":                          "192.0.2.5",
		"resolverIP=192.0.2.53":                             "192.0.2.6",
		"resolverIP=198.51.100.53&clientSubnet=10.0.0.0/8":  "192.0.2.6",
		"resolverIP=%3A%3Affff%3A198.51.100.53":             "192.0.2.5",
		"clientSubnet=%3A%3Affff%3A198.51.100.0%2F120":      "192.0.2.5",
		"resolverIP=198.51.100.53&clientSubnet=0.0.0.0%2F0": "192.0.2.5",
	} {
		status, body, r := get("zoneId=Z0123456789ABCD&name=c.example.test.&type=A&" + q)
		if status != http.StatusOK || !slices.Equal(body.RecordData, []string{addr}) {
			t.Errorf("%s: status %d body %s, want %s", q, status, r.body, addr)
		}
	}

	// NXDOMAIN is an answer too.
	if status, body, _ := get("zoneId=Z0123456789ABCD&name=nothing.example.test&type=A"); status != http.StatusOK ||
		body.ResponseCode != "NXDOMAIN" || body.RecordData == nil || len(body.RecordData) != 0 {
		t.Errorf("NXDOMAIN: %d %+v", status, body)
	}

	for _, c := range []struct {
		query  string
		status int
		code   string
	}{
		{"name=w.example.test&type=A", 400, zones.CodeInvalidInput},
		{"zoneId=nope&name=w.example.test&type=A", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&type=A", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.example.test", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.example.test&type=NOTATYPE", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.example.test&type=A&resolverIP=x", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.example.test&type=A&clientSubnet=x", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.example.test&type=A&explain=maybe", 400, zones.CodeInvalidInput},
		{"zoneId=Z0123456789ABCD&name=w.other.test&type=A", 400, zones.CodeInvalidInput},
	} {
		status, _, r := get(c.query)
		if status != c.status || r.errorBody(t).Code != c.code {
			t.Errorf("%s: status %d body %s, want %d %s", c.query, status, r.body, c.status, c.code)
		}
	}

	// A zone the store knows but this node does not serve yet.
	ts2 := newTestServer(t, Options{TestDNSAnswer: dnsserver.NewTable()})
	if r := ts2.do(t, "GET", "/v1/testdnsanswer?zoneId=Z0123456789ABCD&name=w.example.test&type=A", "", nil); r.status != http.StatusNotFound ||
		r.errorBody(t).Code != zones.CodeNoSuchHostedZone {
		t.Errorf("zone not served: %d %s", r.status, r.body)
	}
	// Not wired: 503.
	ts3 := newTestServer(t, Options{})
	if r := ts3.do(t, "GET", "/v1/testdnsanswer?zoneId=Z0123456789ABCD&name=w.example.test&type=A", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("not wired: %d %s", r.status, r.body)
	}
}

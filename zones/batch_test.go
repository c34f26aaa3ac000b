package zones

import (
	"strconv"
	"strings"
	"testing"
)

// memZone is a SetReader over a plain map, for the pure rule tests.
type memZone map[SetKey]*Set

func (m memZone) Get(k SetKey) *Set { return m[k] }
func (m memZone) AtName(name string) []*Set {
	var out []*Set
	for k, s := range m {
		if k.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func i64(n int64) *int64 { return &n }

func rs(name, typ string, values ...string) RecordSet {
	return RecordSet{Name: name, Type: typ, TTL: i64(300), Values: values}
}

func zoneWith(t *testing.T, sets ...RecordSet) memZone {
	t.Helper()
	m := memZone{}
	base, err := DefaultZoneSets("example.test.", []string{"ns1.example.net."})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range base {
		m[s.Key()] = s
	}
	for _, r := range sets {
		s, err := ParseRecordSet(r, "example.test.")
		if err != nil {
			t.Fatal(err)
		}
		m[s.Key()] = s
	}
	return m
}

func TestPlanBatchRoute53Rules(t *testing.T) {
	www := rs("www.example.test", "A", "192.0.2.1")
	cases := []struct {
		name    string
		zone    []RecordSet
		changes []Change
		want    []string // substrings of the messages, one per message; nil = accepted
	}{
		{"create new", nil, []Change{{ActionCreate, www}}, nil},
		{"create existing", []RecordSet{www}, []Change{{ActionCreate, www}}, []string{"change 1 (CREATE www.example.test A): Tried to create resource record set [name='www.example.test.', type='A'] but it already exists"}},
		{"delete missing", nil, []Change{{ActionDelete, www}}, []string{"but it was not found"}},
		{"delete mismatched values", []RecordSet{www}, []Change{{ActionDelete, rs("www.example.test", "A", "192.0.2.2")}}, []string{"do not match the current values"}},
		{"delete mismatched ttl", []RecordSet{www}, []Change{{ActionDelete, RecordSet{Name: "www.example.test", Type: "A", TTL: i64(60), Values: []string{"192.0.2.1"}}}}, []string{"do not match"}},
		{"delete matching, case and dot free", []RecordSet{www}, []Change{{ActionDelete, rs("WWW.Example.Test.", "a", "192.0.2.1")}}, nil},
		{"create twice", nil, []Change{{ActionCreate, www}, {ActionCreate, www}}, []string{"change 2 (CREATE www.example.test A): the batch changes resource record set [name='www.example.test.', type='A'] more than once"}},
		{"delete twice", []RecordSet{www}, []Change{{ActionDelete, www}, {ActionDelete, www}}, []string{"more than once"}},
		{"upsert twice", nil, []Change{{ActionUpsert, www}, {ActionUpsert, www}}, []string{"more than once"}},
		{"delete then create edits", []RecordSet{www}, []Change{{ActionDelete, www}, {ActionCreate, rs("www.example.test", "A", "192.0.2.9")}}, nil},
		{"cname beside a", []RecordSet{www}, []Change{{ActionCreate, rs("www.example.test", "CNAME", "other.example.test.")}}, []string{"www.example.test.: a CNAME cannot share its name with other data (A)"}},
		{"a beside cname", []RecordSet{rs("c.example.test", "CNAME", "x.example.test.")}, []Change{{ActionCreate, rs("c.example.test", "A", "192.0.2.1")}}, []string{"a CNAME cannot share its name"}},
		{"cname at apex", nil, []Change{{ActionCreate, rs("example.test", "CNAME", "x.example.test.")}}, []string{"a CNAME cannot stand at the zone apex"}},
		{"delete soa", nil, []Change{{ActionDelete, RecordSet{Name: "example.test", Type: "SOA", TTL: i64(900), Values: []string{"ns1.example.net. hostmaster.example.test. 1 7200 900 1209600 86400"}}}}, []string{"the apex SOA record set cannot be deleted"}},
		{"delete apex ns", nil, []Change{{ActionDelete, RecordSet{Name: "example.test", Type: "NS", TTL: i64(172800), Values: []string{"ns1.example.net."}}}}, []string{"the apex NS record set cannot be deleted"}},
		{"upsert apex ns", nil, []Change{{ActionUpsert, rs("example.test", "NS", "a.example.net.", "b.example.net.")}}, nil},
		{"upsert soa", nil, []Change{{ActionUpsert, rs("example.test", "SOA", "ns1.example.net. h.example.test. 9 1 1 1 1")}}, nil},
		{"bad rdata", nil, []Change{{ActionCreate, rs("x.example.test", "A", "192.0.2.300")}}, []string{`values[0]: value "192.0.2.300" is not valid A data`}},
		{"out of zone", nil, []Change{{ActionCreate, rs("www.example.org", "A", "192.0.2.1")}}, []string{"not permitted in zone example.test."}},
		{"64-byte label", nil, []Change{{ActionCreate, rs(strings.Repeat("a", 64)+".example.test", "A", "192.0.2.1")}}, []string{"is 64 bytes long, at most 63"}},
		{"ttl out of range", nil, []Change{{ActionCreate, RecordSet{Name: "x.example.test", Type: "A", TTL: i64(1 << 31), Values: []string{"192.0.2.1"}}}}, []string{"ttl: 2147483648 is out of range"}},
		{"bad action", nil, []Change{{"REPLACE", www}}, []string{`action "REPLACE" must be CREATE, UPSERT or DELETE`}},
		{"mixed policies", []RecordSet{{Name: "w.example.test", Type: "A", TTL: i64(60), Values: []string{"192.0.2.1"}, SetIdentifier: "a", Weight: i64(1)}},
			[]Change{{ActionCreate, RecordSet{Name: "w.example.test", Type: "A", TTL: i64(60), Values: []string{"192.0.2.2"}, SetIdentifier: "b", Failover: "PRIMARY"}}}, []string{"cannot mix routing policies"}},
		{"unknown type rfc3597", nil, []Change{{ActionCreate, rs("u.example.test", "TYPE65280", `\# 4 0a000001`)}}, nil},
		{"duplicate value", nil, []Change{{ActionCreate, rs("d.example.test", "A", "192.0.2.1", "192.0.2.1")}}, []string{"duplicate value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			z := zoneWith(t, c.zone...)
			ops, err := PlanBatch("example.test.", z, ChangeBatch{Changes: c.changes})
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(ops) != len(c.changes) {
					t.Fatalf("%d ops for %d changes", len(ops), len(c.changes))
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalidChangeBatch {
				t.Fatalf("want InvalidChangeBatch, got %v", err)
			}
			if len(e.Messages) != len(c.want) {
				t.Fatalf("messages %q, want %d", e.Messages, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(e.Messages[i], w) {
					t.Errorf("message %q lacks %q", e.Messages[i], w)
				}
			}
		})
	}
}

func TestPlanBatchLimits(t *testing.T) {
	z := zoneWith(t)
	var b ChangeBatch
	for i := 0; i < 501; i++ { // 501 UPSERTs count as 1,002 values
		b.Changes = append(b.Changes, Change{ActionUpsert, rs("h"+strconv.Itoa(i)+".example.test", "A", "192.0.2.1")})
	}
	_, err := PlanBatch("example.test.", z, b)
	if e, ok := err.(*Error); !ok || len(e.Messages) != 1 || !strings.Contains(e.Messages[0], "1002 values") {
		t.Fatalf("got %v", err)
	}
	b.Changes = b.Changes[:500]
	if _, err := PlanBatch("example.test.", z, b); err != nil {
		t.Fatalf("1,000 values must pass: %v", err)
	}
	long := `"` + strings.Repeat("x", 250) + `"`
	b.Changes = nil
	for i := 0; i < 64; i++ { // 64 UPSERTs x 2 x 252 chars > 32,000
		b.Changes = append(b.Changes, Change{ActionUpsert, rs("t"+strconv.Itoa(i)+".example.test", "TXT", long)})
	}
	if _, err := PlanBatch("example.test.", z, b); err == nil || !strings.Contains(err.Error(), "characters of values") {
		t.Fatalf("got %v", err)
	}
	if _, err := PlanBatch("example.test.", z, ChangeBatch{}); CodeOf(err) != CodeInvalidChangeBatch {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestCanonicalName(t *testing.T) {
	cases := map[string]string{
		"WWW.Example.COM":  "www.example.com.",
		"www.example.com.": "www.example.com.",
		`a\.b.example.`:    `a\.b.example.`,
		`\065bc.example`:   "abc.example.",
		"*.example":        "*.example.",
	}
	for in, want := range cases {
		got, err := CanonicalName(in)
		if err != nil || got != want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a..b", strings.Repeat("a", 64) + ".x", strings.Repeat("abcdefghi.", 26), "a b.c"} {
		if _, err := CanonicalName(bad); err == nil {
			t.Errorf("CanonicalName(%q) accepted", bad)
		}
	}
}

func TestListKeyOrder(t *testing.T) {
	if got := ListKey("www.example.com."); got != "com.example.www." {
		t.Fatalf("ListKey = %q", got)
	}
	keys := []SetKey{{Name: "b.example.com.", Type: "A"}, {Name: "example.com.", Type: "SOA"}, {Name: "a.b.example.com.", Type: "A"}, {Name: "example.com.", Type: "NS"}, {Name: "b.example.com.", Type: "A", SetID: "x"}}
	want := []string{"example.com. NS", "example.com. SOA", "b.example.com. A", "b.example.com. A x", "a.b.example.com. A"}
	for i := 0; i < len(keys); i++ {
		for j := i + 1; j < len(keys); j++ {
			if LessKey(keys[j], keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	for i, k := range keys {
		if got := strings.TrimSpace(k.Name + " " + k.Type + " " + k.SetID); got != want[i] {
			t.Fatalf("position %d: %q, want %q", i, got, want[i])
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/healthdns/healthdns/zones"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs one invocation against f (nil: no server) with stdin and the
// environment HEALTHDNS_API and HEALTHDNS_TOKEN pointing at f.
func runCLI(t *testing.T, f *fakeAPI, stdin string, args ...string) result {
	t.Helper()
	env := map[string]string{}
	if f != nil {
		env["HEALTHDNS_API"] = f.url
		env["HEALTHDNS_TOKEN"] = f.token
	}
	var out, errb bytes.Buffer
	c := &cli{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return env[k] },
		poll:   time.Millisecond,
	}
	code := c.run(args)
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// wantUsage checks for exit code 2 and one stderr line containing substr.
func (r result) wantUsage(t *testing.T, substr string) {
	t.Helper()
	r.want(t, 2)
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, substr) {
		t.Errorf("stderr = %q, want one line containing %q", r.stderr, substr)
	}
}

func ttl(n int64) *int64 { return &n }

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		json bool
		c    string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false, ""},
		{[]string{"--json", "a", "--comment", "x y", "b"}, []string{"a", "b"}, true, "x y"},
		{[]string{"a", "b", "--json", "-comment=z"}, []string{"a", "b"}, true, "z"},
		{[]string{"a", "-", "--json"}, []string{"a", "-"}, true, ""},
		{[]string{"a", "--", "--json", "-x"}, []string{"a", "--json", "-x"}, false, ""},
		{nil, nil, false, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		c := fs.String("comment", "", "")
		pos, err := parseInterspersed(fs, tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.pos) || *j != tc.json || *c != tc.c {
			t.Errorf("parseInterspersed(%q) = %q, json=%v comment=%q, %v; want %q, %v, %q",
				tc.args, pos, *j, *c, err, tc.pos, tc.json, tc.c)
		}
	}
}

func TestQualify(t *testing.T) {
	for _, tc := range []struct{ name, zone, want string }{
		{"@", "example.test", "example.test."},
		{"www", "example.test.", "www.example.test."},
		{"WWW.Sub", "Example.Test", "www.sub.example.test."},
		{"*", "example.test", "*.example.test."},
		{"other.org.", "example.test", "other.org."},
		{"www.example.test", "example.test.", "www.example.test."},
		{"example.test", "example.test", "example.test."},
		{"notexample.test", "example.test", "notexample.test.example.test."},
	} {
		if got := qualify(tc.name, tc.zone); got != tc.want {
			t.Errorf("qualify(%q, %q) = %q, want %q", tc.name, tc.zone, got, tc.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	f := newFakeAPI(t)
	for _, tc := range []struct {
		args   []string
		substr string
	}{
		{nil, "missing command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"zone"}, "missing subcommand (create, list, get, delete, import, export)"},
		{[]string{"zone", "bogus"}, `unknown subcommand "bogus"`},
		{[]string{"zone", "get"}, "missing arguments (usage: healthdns zone get NAME|ID)"},
		{[]string{"zone", "get", "a", "b"}, `unexpected argument "b"`},
		{[]string{"zone", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"zone", "list", "--api", "ftp://x"}, "--api: want an http:// or https:// URL"},
		{[]string{"zone", "list", "--timeout", "soon"}, "invalid value \"soon\" for flag -timeout"},
		{[]string{"record", "upsert", "example.test", "www", "A", "300"}, "missing arguments"},
		{[]string{"record", "upsert", "example.test", "www", "A", "ten", "192.0.2.1"}, `TTL "ten"`},
		{[]string{"record", "upsert", "example.test", "www", "A", "60", "192.0.2.1", "--failover", "MIDDLE"}, "--failover: want PRIMARY or SECONDARY"},
		{[]string{"record", "upsert", "example.test", "www", "A", "60", "192.0.2.1", "--weight", "x"}, `invalid value "x" for flag -weight`},
		{[]string{"record", "delete", "example.test", "www", "A", "60"}, "give TTL and at least one VALUE, or neither"},
		{[]string{"record", "change", "example.test"}, "--file is required"},
		{[]string{"zone", "import", "example.test", "no-such-file.zone"}, "no-such-file.zone"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			runCLI(t, f, "", tc.args...).wantUsage(t, tc.substr)
		})
	}
	if n := len(f.batches) + len(f.created); n != 0 {
		t.Errorf("usage errors reached the API %d times", n)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := runCLI(t, nil, "", args...).want(t, 0)
		for _, s := range []string{"healthdns zone create NAME", "healthdns record delete ZONE NAME TYPE", "healthdns change wait ID", "--api URL", "Exit codes"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("%v: help lacks %q", args, s)
			}
		}
	}
	r := runCLI(t, nil, "", "zone", "create", "-h").want(t, 0)
	if !strings.Contains(r.stdout, "Usage: healthdns zone create NAME") || !strings.Contains(r.stdout, "-caller-reference") {
		t.Errorf("zone create -h:\n%s", r.stdout)
	}
	r = runCLI(t, nil, "", "help", "record", "upsert").want(t, 0)
	if !strings.Contains(r.stdout, "-set-identifier") {
		t.Errorf("help record upsert:\n%s", r.stdout)
	}
	r = runCLI(t, nil, "", "record", "help").want(t, 0)
	if !strings.Contains(r.stdout, "healthdns record change ZONE --file") {
		t.Errorf("record help:\n%s", r.stdout)
	}
	r = runCLI(t, nil, "", "version").want(t, 0)
	if !strings.HasPrefix(r.stdout, "healthdns ") {
		t.Errorf("version = %q", r.stdout)
	}
}

// TestRunUsesEnvironment goes through run, which reads the real environment.
func TestRunUsesEnvironment(t *testing.T) {
	f := newFakeAPI(t)
	f.addZone("env.test")
	t.Setenv("HEALTHDNS_API", f.url)
	t.Setenv("HEALTHDNS_TOKEN", f.token)
	var out, errb bytes.Buffer
	if code := run([]string{"zone", "list"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "env.test.") {
		t.Errorf("run = %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	// Flags win over the environment.
	out.Reset()
	errb.Reset()
	if code := run([]string{"zone", "list", "--token", "wrong"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "Unauthorized") {
		t.Errorf("run with a wrong token = %d, stderr %q", code, errb.String())
	}
}

func TestZoneCreateGetList(t *testing.T) {
	f := newFakeAPI(t)
	r := runCLI(t, f, "", "zone", "create", "Example.Test", "--comment", "prod").want(t, 0)
	if len(f.created) != 1 || f.created[0].Name != "Example.Test" || f.created[0].Comment != "prod" ||
		!strings.HasPrefix(f.created[0].CallerReference, "healthdns-cli-") {
		t.Fatalf("create requests = %+v", f.created)
	}
	id := f.zones[0].ID
	for _, s := range []string{"ID:", id, "example.test.", "ns1.fake. ns2.fake.", "prod", "CHANGE:", "PENDING"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("zone create output lacks %q:\n%s", s, r.stdout)
		}
	}
	r = runCLI(t, f, "", "zone", "create", "other.test", "--caller-reference", "r1", "--json", "--wait").want(t, 0)
	if f.created[1].CallerReference != "r1" {
		t.Errorf("caller reference = %q", f.created[1].CallerReference)
	}
	var created struct {
		zones.Zone
		ChangeInfo *zones.ChangeInfo
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.Name != "other.test." ||
		created.ChangeInfo == nil || created.ChangeInfo.Status != zones.StatusInsync {
		t.Errorf("zone create --json --wait = %s, %v", r.stdout, err)
	}
	f.addZone("third.test")

	r = runCLI(t, f, "", "zone", "create", "example.test.").want(t, 1)
	if !strings.Contains(r.stderr, "HostedZoneAlreadyExists") {
		t.Errorf("duplicate create stderr = %q", r.stderr)
	}

	// Get by name (any case, with or without the dot) and by id.
	for _, arg := range []string{"example.test", "EXAMPLE.TEST.", id, "/hostedzone/" + id} {
		r = runCLI(t, f, "", "zone", "get", arg, "--json").want(t, 0)
		var z zones.Zone
		if err := json.Unmarshal([]byte(r.stdout), &z); err != nil || z.ID != id || z.Name != "example.test." {
			t.Errorf("zone get %s --json = %q, %v", arg, r.stdout, err)
		}
	}
	r = runCLI(t, f, "", "zone", "get", "missing.test").want(t, 1)
	if !strings.Contains(r.stderr, "NoSuchHostedZone: no hosted zone named missing.test.") {
		t.Errorf("stderr = %q", r.stderr)
	}

	// The list follows pages (two zones a page).
	r = runCLI(t, f, "", "zone", "list").want(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || strings.Fields(lines[0])[0] != "ID" || !strings.Contains(lines[3], "third.test.") {
		t.Errorf("zone list:\n%s", r.stdout)
	}
	if got := strings.Fields(lines[1]); !reflect.DeepEqual(got, []string{id, "example.test.", "2", "prod"}) {
		t.Errorf("zone list row = %q", got)
	}
	r = runCLI(t, f, "", "zone", "list", "--json").want(t, 0)
	var out struct{ Zones []zones.Zone }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Zones) != 3 {
		t.Errorf("zone list --json = %q, %v", r.stdout, err)
	}
}

func TestZoneListEmptyJSON(t *testing.T) {
	f := newFakeAPI(t)
	r := runCLI(t, f, "", "zone", "list", "--json").want(t, 0)
	if strings.TrimSpace(r.stdout) != `{
  "zones": []
}` {
		t.Errorf("empty list JSON = %q", r.stdout)
	}
}

func TestZoneDelete(t *testing.T) {
	f := newFakeAPI(t)
	z := f.addZone("example.test")
	f.addSet(z.ID, zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.1"}})
	r := runCLI(t, f, "", "zone", "delete", "example.test").want(t, 1)
	if !strings.Contains(r.stderr, "HostedZoneNotEmpty") {
		t.Errorf("stderr = %q", r.stderr)
	}
	runCLI(t, f, "", "record", "delete", "example.test", "www", "A").want(t, 0)
	r = runCLI(t, f, "", "zone", "delete", z.ID).want(t, 0)
	if r.stdout != "deleted hosted zone "+z.ID+" (example.test.)\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	if len(f.zones) != 0 {
		t.Errorf("zone not deleted")
	}
}

func TestZoneImportExport(t *testing.T) {
	f := newFakeAPI(t)
	z := f.addZone("example.test")
	const zoneFile = "$ORIGIN example.test.\nwww 60 IN A 192.0.2.1\n"

	// From stdin, waiting for INSYNC.
	r := runCLI(t, f, zoneFile, "zone", "import", "example.test", "-", "--wait", "--json").want(t, 0)
	var out struct{ ChangeInfo zones.ChangeInfo }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.ChangeInfo.Status != zones.StatusInsync {
		t.Errorf("import --wait --json = %q, %v", r.stdout, err)
	}
	// From a file, without waiting: the table shows PENDING.
	path := filepath.Join(t.TempDir(), "example.zone")
	if err := os.WriteFile(path, []byte(zoneFile), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, f, "", "zone", "import", z.ID, path).want(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || strings.Fields(lines[0])[1] != "STATUS" || strings.Fields(lines[1])[1] != "PENDING" {
		t.Errorf("import table:\n%s", r.stdout)
	}
	if len(f.imported) != 2 || f.imported[0] != zoneFile || f.imported[1] != zoneFile {
		t.Errorf("imported = %q", f.imported)
	}

	r = runCLI(t, f, "", "zone", "export", "example.test.").want(t, 0)
	if !strings.HasPrefix(r.stdout, "$ORIGIN example.test.\nexample.test. 3600 IN NS ns1.fake.\n") {
		t.Errorf("export = %q", r.stdout)
	}
}

func TestRecordUpsertAndCreate(t *testing.T) {
	f := newFakeAPI(t)
	z := f.addZone("example.test")
	yes := true

	for _, tc := range []struct {
		args []string
		want zones.Change
	}{
		{
			[]string{"record", "upsert", "example.test", "www", "a", "300", "192.0.2.1", "192.0.2.2", "--comment", "c1"},
			zones.Change{Action: "UPSERT", RecordSet: zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: ttl(300), Values: []string{"192.0.2.1", "192.0.2.2"}}},
		},
		{
			[]string{"record", "upsert", z.ID, "@", "MX", "600", "10 mail.example.test."},
			zones.Change{Action: "UPSERT", RecordSet: zones.RecordSet{Name: "example.test.", Type: "MX", TTL: ttl(600), Values: []string{"10 mail.example.test."}}},
		},
		{
			[]string{"record", "create", "--weight", "10", "example.test.", "api.example.test", "A", "60", "--set-identifier", "blue",
				"192.0.2.10", "--health-check-id", "0b0f8e5e-5c1e-4a43-9d6e-4e1f0a0a0a0a", "--multivalue"},
			zones.Change{Action: "CREATE", RecordSet: zones.RecordSet{Name: "api.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.10"},
				SetIdentifier: "blue", Weight: ttl(10), HealthCheckID: "0b0f8e5e-5c1e-4a43-9d6e-4e1f0a0a0a0a", MultiValueAnswer: &yes}},
		},
		{
			[]string{"record", "create", "example.test", "db.other.test.", "CNAME", "60", "x.example.test.", "--failover", "primary", "--set-identifier", "p"},
			zones.Change{Action: "CREATE", RecordSet: zones.RecordSet{Name: "db.other.test.", Type: "CNAME", TTL: ttl(60), Values: []string{"x.example.test."},
				SetIdentifier: "p", Failover: "PRIMARY"}},
		},
	} {
		n := len(f.batches)
		r := runCLI(t, f, "", tc.args...).want(t, 0)
		if len(f.batches) != n+1 || len(f.batches[n].Changes) != 1 {
			t.Fatalf("%v: batches = %+v", tc.args, f.batches)
		}
		if got := f.batches[n].Changes[0]; !reflect.DeepEqual(got, tc.want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tc.want)
			t.Errorf("%v: change = %s, want %s", tc.args, gj, wj)
		}
		if !strings.Contains(r.stdout, "PENDING") {
			t.Errorf("%v: output = %q", tc.args, r.stdout)
		}
	}
	if f.batches[0].Comment != "c1" {
		t.Errorf("comment = %q", f.batches[0].Comment)
	}

	// CREATE of an existing set: the API's messages reach stderr, one a line.
	r := runCLI(t, f, "", "record", "create", "example.test", "www", "A", "300", "192.0.2.9").want(t, 1)
	want := "healthdns record create: InvalidChangeBatch: 1 changes are invalid\nchange 1: www.example.test. A already exists\n"
	if r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}

	// --wait polls until INSYNC.
	r = runCLI(t, f, "", "record", "upsert", "example.test", "www", "A", "300", "192.0.2.3", "--wait").want(t, 0)
	if !strings.Contains(r.stdout, "INSYNC") {
		t.Errorf("--wait output = %q", r.stdout)
	}
}

func TestRecordDelete(t *testing.T) {
	f := newFakeAPI(t)
	z := f.addZone("example.test")
	www := zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: ttl(300), Values: []string{"192.0.2.1"}}
	blue := zones.RecordSet{Name: "api.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.10"}, SetIdentifier: "blue", Weight: ttl(10)}
	green := zones.RecordSet{Name: "api.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.20"}, SetIdentifier: "green", Weight: ttl(90)}
	txt := zones.RecordSet{Name: "api.example.test.", Type: "TXT", TTL: ttl(60), Values: []string{`"x"`}}
	for _, rs := range []zones.RecordSet{www, blue, green, txt} {
		f.addSet(z.ID, rs)
	}

	// Exact form.
	runCLI(t, f, "", "record", "delete", "example.test", "www", "A", "300", "192.0.2.1").want(t, 0)
	if got := f.batches[0].Changes[0]; got.Action != "DELETE" || !reflect.DeepEqual(got.RecordSet, www) {
		t.Errorf("exact delete = %+v", got)
	}

	// Lookup form: two weighted sets need --set-identifier.
	r := runCLI(t, f, "", "record", "delete", "example.test", "api", "A")
	r.wantUsage(t, `2 record sets api.example.test. A (set identifiers "blue", "green"): pick one with --set-identifier`)
	runCLI(t, f, "", "record", "delete", "example.test", "api", "A", "--set-identifier", "green").want(t, 0)
	if got := f.batches[1].Changes[0]; !reflect.DeepEqual(got.RecordSet, green) {
		t.Errorf("looked-up delete = %+v", got.RecordSet)
	}

	// Nothing to delete.
	r = runCLI(t, f, "", "record", "delete", "example.test", "nope", "A").want(t, 1)
	if !strings.Contains(r.stderr, "no record set nope.example.test. A in zone example.test.") {
		t.Errorf("stderr = %q", r.stderr)
	}
	// Exact form with stale values: the API refuses.
	r = runCLI(t, f, "", "record", "delete", "example.test", "api", "TXT", "60", `"y"`).want(t, 1)
	if !strings.Contains(r.stderr, "InvalidChangeBatch") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestRecordList(t *testing.T) {
	f := newFakeAPI(t)
	z := f.addZone("example.test")
	f.addSet(z.ID, zones.RecordSet{Name: "www.example.test.", Type: "A", TTL: ttl(300), Values: []string{"192.0.2.1", "192.0.2.2"}})
	f.addSet(z.ID, zones.RecordSet{Name: "www.example.test.", Type: "AAAA", TTL: ttl(300), Values: []string{"2001:db8::1"}})
	f.addSet(z.ID, zones.RecordSet{Name: "api.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.10"}, SetIdentifier: "blue", Weight: ttl(10)})
	f.addSet(z.ID, zones.RecordSet{Name: "api.example.test.", Type: "A", TTL: ttl(60), Values: []string{"192.0.2.20"}, SetIdentifier: "green", Weight: ttl(90)})
	f.addSet(z.ID, zones.RecordSet{Name: "alias.example.test.", Type: "A", AliasTarget: &zones.AliasTarget{DNSName: "www.example.test."}})

	r := runCLI(t, f, "", "record", "list", "example.test").want(t, 0)
	want := `NAME                 TYPE  TTL   SETID  VALUES
example.test.        NS    3600  -      ns1.fake.  ns2.fake.
example.test.        SOA   3600  -      ns1.fake. hostmaster.fake. 1 7200 900 1209600 86400
alias.example.test.  A     -     -      ALIAS www.example.test.
api.example.test.    A     60    blue   192.0.2.10
api.example.test.    A     60    green  192.0.2.20
www.example.test.    A     300   -      192.0.2.1  192.0.2.2
www.example.test.    AAAA  300   -      2001:db8::1
`
	if r.stdout != want {
		t.Errorf("record list:\n%s\nwant:\n%s", r.stdout, want)
	}

	// --name reads only the pages it needs and stops at the next name.
	f.rrsetGets = 0
	r = runCLI(t, f, "", "record", "list", "example.test", "--name", "api", "--json").want(t, 0)
	var out struct{ RecordSets []zones.RecordSet }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.RecordSets) != 2 ||
		out.RecordSets[0].SetIdentifier != "blue" || out.RecordSets[1].SetIdentifier != "green" {
		t.Errorf("--name api --json = %s, %v", r.stdout, err)
	}
	if f.rrsetGets != 2 {
		t.Errorf("--name api read %d pages, want 2", f.rrsetGets)
	}

	r = runCLI(t, f, "", "record", "list", z.ID, "--name", "www.example.test.", "--type", "aaaa").want(t, 0)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "2001:db8::1") {
		t.Errorf("--name --type:\n%s", r.stdout)
	}
	r = runCLI(t, f, "", "record", "list", "example.test", "--type", "A").want(t, 0)
	if n := strings.Count(r.stdout, "\n"); n != 5 {
		t.Errorf("--type A: %d lines:\n%s", n, r.stdout)
	}
	r = runCLI(t, f, "", "record", "list", "example.test", "--name", "missing", "--json").want(t, 0)
	if strings.TrimSpace(r.stdout) != "{\n  \"recordSets\": []\n}" {
		t.Errorf("no match JSON = %q", r.stdout)
	}
}

func TestRecordChange(t *testing.T) {
	f := newFakeAPI(t)
	f.addZone("example.test")
	batch := `{"comment":"from file","changes":[
		{"action":"UPSERT","recordSet":{"name":"a.example.test.","type":"A","ttl":60,"values":["192.0.2.1"]}},
		{"action":"CREATE","recordSet":{"name":"b.example.test.","type":"TXT","ttl":60,"values":["\"hi\""]}}]}`
	path := filepath.Join(t.TempDir(), "batch.json")
	if err := os.WriteFile(path, []byte(batch), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, f, "", "record", "change", "example.test", "--file", path).want(t, 0)
	if len(f.batches) != 1 || f.batches[0].Comment != "from file" || len(f.batches[0].Changes) != 2 {
		t.Fatalf("batches = %+v", f.batches)
	}
	r := runCLI(t, f, batch, "record", "change", "--file", "-", "example.test", "--comment", "override", "--wait").want(t, 1)
	if !strings.Contains(r.stderr, "b.example.test. TXT already exists") || f.batches[1].Comment != "override" {
		t.Errorf("second batch: stderr %q, comment %q", r.stderr, f.batches[1].Comment)
	}
}

// TestBadBatches feeds each testdata/badbatch/NAME.json on stdin and expects
// bad usage with the text in NAME.err.
func TestBadBatches(t *testing.T) {
	f := newFakeAPI(t)
	f.addZone("example.test")
	files, err := filepath.Glob(filepath.Join("testdata", "badbatch", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			runCLI(t, f, string(in), "record", "change", "example.test", "--file", "-").wantUsage(t, string(want))
		})
	}
	if len(f.batches) != 0 {
		t.Errorf("bad batches reached the API: %+v", f.batches)
	}
}

func TestChangeGetWait(t *testing.T) {
	f := newFakeAPI(t)
	id := f.addChange(3)
	r := runCLI(t, f, "", "change", "get", id).want(t, 0)
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "PENDING") {
		t.Errorf("change get = %q", r.stdout)
	}
	r = runCLI(t, f, "", "change", "wait", "/change/"+id, "--json").want(t, 0)
	var out struct{ ChangeInfo zones.ChangeInfo }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.ChangeInfo.Status != zones.StatusInsync || out.ChangeInfo.ID != id {
		t.Errorf("change wait --json = %q, %v", r.stdout, err)
	}

	never := f.addChange(-1)
	r = runCLI(t, f, "", "change", "wait", never, "--timeout", "30ms").want(t, 1)
	if !strings.Contains(r.stderr, "timed out after 30ms (--timeout)") || !strings.Contains(r.stderr, never) {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = runCLI(t, f, "", "change", "get", "CNOSUCH").want(t, 1)
	if !strings.Contains(r.stderr, "NoSuchChange") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := runCLI(t, nil, "", "zone", "list", "--api", "http://"+addr).want(t, 1)
	if !strings.HasPrefix(r.stderr, "healthdns zone list: ") || !strings.Contains(r.stderr, addr) {
		t.Errorf("stderr = %q", r.stderr)
	}
}

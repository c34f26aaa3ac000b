package zones

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each testdata/badzones/X.zone must be refused with a message containing
// the text of X.err.
func TestBadZoneFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/badzones/*.zone")
	if len(files) == 0 {
		t.Fatal("no bad zone files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".zone") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(f)
			_, err = ParseZoneFile(bytes.NewReader(data), "example.test.")
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalidInput {
				t.Fatalf("want InvalidInput, got %v", err)
			}
			if !strings.Contains(strings.Join(e.Messages, "\n"), strings.TrimSpace(string(want))) {
				t.Fatalf("messages %q lack %q", e.Messages, want)
			}
		})
	}
}

const fullZone = `$ORIGIN example.test.
$TTL 300
@        SOA   ns1 hostmaster 2024 7200 900 1209600 300
@        NS    ns1
@        MX    10 mail
ns1      A     192.0.2.53
mail     AAAA  2001:db8::25
www      CNAME @
*.wild   TXT   "wild card" "two strings"
sub      NS    ns.sub
ns.sub   A     192.0.2.54
_sip._tcp SRV  0 5 5060 sip
caa      CAA   0 issue "letsencrypt.org"
ipsec    IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
after    A     192.0.2.7
unknown  TYPE65280 \# 4 0a000001
loc      LOC   52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
d        DNAME example.net.
svc      HTTPS 1 . alpn=h2
tlsa     TLSA  3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
nap      NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
ssh      SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac
ds       DS    60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118
hinfo    HINFO "PC" "Linux"
uri      URI   10 1 "https://example.test/"
`

func TestZoneFileRoundTrip(t *testing.T) {
	sets, err := ParseZoneFile(strings.NewReader(fullZone), "example.test.")
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 23 {
		t.Fatalf("%d sets", len(sets))
	}
	var out bytes.Buffer
	if err := WriteZoneFile(&out, "example.test.", sets); err != nil {
		t.Fatal(err)
	}
	again, err := ParseZoneFile(&out, "example.test.")
	if err != nil {
		t.Fatalf("export does not re-import: %v\n%s", err, out.String())
	}
	byKey := map[SetKey]*Set{}
	for _, s := range sets {
		byKey[s.Key()] = s
	}
	for _, s := range again {
		o := byKey[s.Key()]
		if o == nil || !o.Equal(s) {
			t.Errorf("%v changed in the round trip: %v -> %v", s.Key(), o, s.Values)
		}
	}
	if len(again) != len(sets) {
		t.Fatalf("%d sets after round trip, want %d", len(again), len(sets))
	}
}

func FuzzParseZoneFile(f *testing.F) {
	f.Add(fullZone)
	f.Add("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n")
	f.Add("@ IN A 1.2.3.4 (\n)\n")
	f.Fuzz(func(t *testing.T, z string) {
		sets, err := ParseZoneFile(strings.NewReader(z), "example.test.")
		if err != nil {
			if CodeOf(err) != CodeInvalidInput {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := WriteZoneFile(&out, "example.test.", sets); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseZoneFile(&out, "example.test."); err != nil {
			t.Fatalf("accepted zone does not survive export and re-import: %v\n%s", err, out.String())
		}
	})
}

func FuzzParseRecordSet(f *testing.F) {
	f.Add("www.example.test", "A", "192.0.2.1")
	f.Add("x.example.test", "TXT", `"a" "b"`)
	f.Add("u.example.test", "TYPE65280", `\# 2 abcd`)
	f.Fuzz(func(t *testing.T, name, typ, value string) {
		ttl := int64(60)
		s, err := ParseRecordSet(RecordSet{Name: name, Type: typ, TTL: &ttl, Values: []string{value}}, "example.test.")
		if err != nil {
			return
		}
		// What was accepted must be accepted again in its normalised form.
		if _, err := ParseRecordSet(s.RecordSet, "example.test."); err != nil {
			t.Fatalf("normalised set %+v refused: %v", s.RecordSet, err)
		}
	})
}

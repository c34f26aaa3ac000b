package loadtest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseQueries(t *testing.T) {
	qs, err := ReadQueryFile(filepath.Join("testdata", "queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		qtype uint16
	}{
		{"www.example.com.", dns.TypeA},
		{"example.com.", dns.TypeMX},
		{"mail.example.com.", dns.TypeAAAA},
		{"example.com.", dns.TypeHTTPS},
	}
	if len(qs) != len(want) {
		t.Fatalf("got %d queries, want %d", len(qs), len(want))
	}
	for i, w := range want {
		q := qs[i]
		if q.Name != w.name || q.Type != w.qtype {
			t.Errorf("query %d: %s %s, want %s %s", i, q.Name, dns.TypeToString[q.Type], w.name, dns.TypeToString[w.qtype])
		}
		// The packed form is what dnsperf sends: id 0, RD, one IN question.
		var m dns.Msg
		if err := m.Unpack(q.Wire()); err != nil {
			t.Fatalf("query %d: unpack: %v", i, err)
		}
		if m.Id != 0 || !m.RecursionDesired || len(m.Question) != 1 || len(m.Extra) != 0 ||
			m.Question[0].Name != w.name || m.Question[0].Qtype != w.qtype || m.Question[0].Qclass != dns.ClassINET {
			t.Errorf("query %d packs as %v", i, &m)
		}
	}
}

// TestParseQueriesErrors reads each file in testdata/bad and wants the error
// testdata/bad-errors.txt gives for it.
func TestParseQueriesErrors(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "bad-errors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		file, wantErr, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("bad-errors.txt: bad line %q", line)
		}
		seen++
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", file)
			_, err := ReadQueryFile(path)
			if err == nil {
				t.Fatalf("no error, want %q", wantErr)
			}
			if got := strings.TrimPrefix(err.Error(), path+": "); got != wantErr {
				t.Errorf("error %q, want %q", got, wantErr)
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Join("testdata", "bad"))
	if seen != len(entries) {
		t.Errorf("bad-errors.txt covers %d files, testdata/bad holds %d", seen, len(entries))
	}
}

func FuzzParseQueries(f *testing.F) {
	f.Add("www.example.com A\n; c\n\nexample.com TYPE65\n")
	f.Add("a..b A\n")
	f.Add("x\tmx extra\n")
	f.Fuzz(func(t *testing.T, s string) {
		qs, err := ParseQueries(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, q := range qs {
			var m dns.Msg
			if err := m.Unpack(q.Wire()); err != nil || len(m.Question) != 1 {
				t.Fatalf("%q packs into something that does not unpack: %v", s, err)
			}
		}
	})
}

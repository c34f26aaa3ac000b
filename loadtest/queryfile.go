package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Query is one line of a query file, packed once.
type Query struct {
	Name string // fully qualified, as written
	Type uint16
	wire []byte // a whole query message with id 0; the question starts at byte 12
}

// Wire returns the packed query, id 0. Callers must not modify it.
func (q Query) Wire() []byte { return q.wire }

// NewQuery packs a query for name and type the way dnsperf does: one
// question of class IN, RD set, no EDNS.
func NewQuery(name string, qtype uint16) (Query, error) {
	fqdn := dns.Fqdn(name)
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return Query{}, fmt.Errorf("bad name %q", name)
	}
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.Id = 0
	m.RecursionDesired = true
	wire, err := m.Pack()
	if err != nil {
		return Query{}, fmt.Errorf("name %q: %w", name, err)
	}
	return Query{Name: fqdn, Type: qtype, wire: wire}, nil
}

// ParseQueries reads dnsperf's query-file format: one "name TYPE" a line,
// anything after the type ignored; lines starting with ';' or '#' and blank
// lines skipped. Types are mnemonics (any case) or RFC 3597's TYPEnnn. The
// first bad line ends the parse with an error naming it; a file without a
// query is an error too.
func ParseQueries(r io.Reader) ([]Query, error) {
	var qs []Query
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == ';' || text[0] == '#' {
			continue
		}
		q, err := parseQueryLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than 64 KiB", len(qs)+1)
		}
		return nil, err
	}
	if len(qs) == 0 {
		return nil, errors.New("no queries (want lines of \"name TYPE\")")
	}
	return qs, nil
}

// ReadQueryFile parses the query file at path.
func ReadQueryFile(path string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	qs, err := ParseQueries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return qs, nil
}

func parseQueryLine(text string) (Query, error) {
	fields := strings.Fields(text)
	if len(fields) < 2 {
		return Query{}, fmt.Errorf("%q: want \"name TYPE\"", text)
	}
	qtype, err := parseType(fields[1])
	if err != nil {
		return Query{}, err
	}
	return NewQuery(fields[0], qtype)
}

func parseType(s string) (uint16, error) {
	u := strings.ToUpper(s)
	if t, ok := dns.StringToType[u]; ok {
		return t, nil
	}
	if rest, ok := strings.CutPrefix(u, "TYPE"); ok {
		if n, err := strconv.ParseUint(rest, 10, 16); err == nil {
			return uint16(n), nil
		}
	}
	return 0, fmt.Errorf("unknown query type %q", s)
}

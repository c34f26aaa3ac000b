package zones

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// CanonicalName returns name fully qualified, lower-case and in the escaped
// form miekg/dns gives a name read off the wire, so that a name from the API,
// from a zone file and from a query compare equal byte for byte. The trailing
// dot is optional on input. The error names what is wrong.
func CanonicalName(name string) (string, error) {
	if plainCanonical(name) {
		return name, nil // the common case, without the round trip below
	}
	return canonicalSlow(name)
}

// canonicalSlow is CanonicalName for any name: checked, packed to wire form
// and back, lower-cased.
func canonicalSlow(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty name")
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return "", fmt.Errorf("name %q contains white space", name)
	}
	fq := dns.Fqdn(name)
	if fq != "." && strings.HasPrefix(fq, ".") {
		return "", fmt.Errorf("name %q has an empty label", name)
	}
	if strings.Contains(strings.ReplaceAll(fq, `\\`, ""), "..") && !strings.Contains(fq, `\.`) {
		return "", fmt.Errorf("name %q has an empty label", name)
	}
	for _, l := range dns.SplitDomainName(fq) {
		if n := labelWireLen(l); n > 63 {
			return "", fmt.Errorf("label %q of name %q is %d bytes long, at most 63 are allowed", l, name, n)
		}
	}
	buf := make([]byte, 256)
	off, err := dns.PackDomainName(fq, buf, 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("name %q: %v", name, err)
	}
	if off > 255 {
		return "", fmt.Errorf("name %q is %d bytes long in wire form, at most 255 are allowed", name, off)
	}
	out, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return "", fmt.Errorf("name %q: %v", name, err)
	}
	return lowerASCII(out), nil
}

// plainCanonical reports whether name is already canonical and needs no
// escapes: lower-case letters, digits, '-', '_' and '*', labels of 1-63
// octets, a final dot, at most 254 characters (255 octets in wire form).
func plainCanonical(name string) bool {
	if len(name) < 2 || len(name) > 254 || name[len(name)-1] != '.' {
		return false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 || label > 63 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '*':
			label++
		default:
			return false
		}
	}
	return true
}

// labelWireLen is the length in bytes of a presentation-format label once
// its escapes (\X and \DDD) are decoded.
func labelWireLen(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		if l[i] == '\\' && i+1 < len(l) {
			if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
				i += 3
			} else {
				i++
			}
		}
		n++
	}
	return n
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// InZone reports whether canonical name is origin or below it.
func InZone(name, origin string) bool {
	return dns.IsSubDomain(origin, name)
}

// ListKey is Route 53's sort key for a name: its labels reversed, joined by
// dots, with the trailing dot kept ("www.example.com." -> "com.example.www.").
func ListKey(name string) string {
	labels := dns.SplitDomainName(name)
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i := len(labels) - 1; i >= 0; i-- {
		b.WriteString(labels[i])
		b.WriteByte('.')
	}
	return b.String()
}

// TypeCode parses a type mnemonic ("A", "aaaa", "TYPE65280") into its code and
// canonical mnemonic. Meta and query-only types are refused.
func TypeCode(t string) (uint16, string, error) {
	u := strings.ToUpper(strings.TrimSpace(t))
	if u == "" {
		return 0, "", fmt.Errorf("empty type")
	}
	code, ok := dns.StringToType[u]
	if !ok {
		if !strings.HasPrefix(u, "TYPE") {
			return 0, "", fmt.Errorf("unknown type %q", t)
		}
		var n uint64
		if _, err := fmt.Sscanf(u[4:], "%d", &n); err != nil || n == 0 || n > 65535 || fmt.Sprint(n) != u[4:] {
			return 0, "", fmt.Errorf("unknown type %q", t)
		}
		code = uint16(n)
	}
	switch code {
	case dns.TypeNone, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeIXFR, dns.TypeAXFR,
		dns.TypeMAILA, dns.TypeMAILB, dns.TypeANY, dns.TypeReserved:
		return 0, "", fmt.Errorf("type %s cannot be stored in a zone", u)
	}
	if code >= 128 && code <= 255 { // RFC 6895 meta types
		if _, known := dns.TypeToString[code]; !known {
			return 0, "", fmt.Errorf("type %s is a meta type and cannot be stored", u)
		}
	}
	return code, TypeString(code), nil
}

// TypeString returns the canonical mnemonic of a type code.
func TypeString(code uint16) string {
	if s, ok := dns.TypeToString[code]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", code)
}

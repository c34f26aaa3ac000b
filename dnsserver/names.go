package dnsserver

import (
	"strings"

	"github.com/miekg/dns"
)

// maxLabels bounds the labels of a wire-format name (255 octets).
const maxLabels = 128

// canonicalName returns name fully qualified, lower-case and with escapes in
// miekg/dns's canonical form (what Msg.Unpack produces), so that names from
// zone files ("\035") and names from the wire ("#") compare equal.
func canonicalName(name string) string {
	name = dns.Fqdn(name)
	if strings.IndexByte(name, '\\') >= 0 {
		var buf [256]byte
		if off, err := dns.PackDomainName(name, buf[:], 0, nil, false); err == nil {
			if n, _, err := dns.UnpackDomainName(buf[:off], 0); err == nil {
				name = n
			}
		}
	}
	return lowerASCII(name)
}

// lowerASCII lower-cases ASCII letters; it does not allocate when s has none.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// labelOffsets appends to offs the offset of each label of the fully
// qualified presentation-format name, honouring backslash escapes; the root
// name has none. "a.b." gives [0 2].
func labelOffsets(name string, offs []int) []int {
	if name == "." || name == "" {
		return offs
	}
	for i := 0; i < len(name); i++ {
		offs = append(offs, i)
		for i < len(name) && name[i] != '.' {
			if name[i] == '\\' {
				i++
			}
			i++
		}
	}
	return offs
}

// parentName strips the first label of a fully qualified name; the root's
// parent is the root.
func parentName(name string) string {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			if i+1 < len(name) {
				return name[i+1:]
			}
			return "."
		}
	}
	return "."
}

// isWildcardName reports whether the first label of name is "*".
func isWildcardName(name string) bool {
	return len(name) >= 2 && name[0] == '*' && name[1] == '.'
}

// inZone reports whether name equals origin or lies below it; both are
// canonical.
func inZone(name, origin string) bool {
	if origin == "." {
		return true
	}
	if len(name) < len(origin) || name[len(name)-len(origin):] != origin {
		return false
	}
	if len(name) == len(origin) {
		return true
	}
	// The suffix must start a label: the dot before it must not be escaped.
	var buf [maxLabels]int
	off := len(name) - len(origin)
	for _, o := range labelOffsets(name, buf[:0]) {
		if o == off {
			return true
		}
	}
	return false
}

// shardOf hashes a canonical name to a shard (FNV-1a, folded to a byte;
// zone.wildcardOf repeats it over bytes).
func shardOf(name string) uint8 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return uint8(h ^ h>>8 ^ h>>16 ^ h>>24)
}

// typeOf returns the numeric type of a mnemonic such as "A" or "TYPE65534".
func typeOf(mnemonic string) (uint16, bool) {
	if t, ok := dns.StringToType[strings.ToUpper(mnemonic)]; ok {
		return t, true
	}
	up := strings.ToUpper(mnemonic)
	if rest, ok := strings.CutPrefix(up, "TYPE"); ok && rest != "" {
		var n uint32
		for _, c := range rest {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + uint32(c-'0')
			if n > 0xFFFF {
				return 0, false
			}
		}
		return uint16(n), true
	}
	return 0, false
}

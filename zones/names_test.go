package zones

import (
	"strings"
	"testing"
)

// TestPlainCanonicalAgrees: the fast path of CanonicalName accepts only
// names the full path leaves as they are.
func TestPlainCanonicalAgrees(t *testing.T) {
	names := []string{"host1.perf.test.", "a.", "*.wild.example.", "_dmarc.example.", "x-y.z9.", "a*b.example.",
		strings.Repeat("a", 63) + ".example.", strings.Repeat("a", 64) + ".example.", "Upper.example.", "no-dot",
		"a..b.", ".", "", strings.Repeat("abcdefghi.", 25) + "abc.", strings.Repeat("abcdefghi.", 25) + "abcd."}
	for _, n := range names {
		slow, err := canonicalSlow(n)
		if plainCanonical(n) && (err != nil || slow != n) {
			t.Errorf("%q: fast path takes it, the full path says %q, %v", n, slow, err)
		}
	}
	if !plainCanonical("host1.perf.test.") {
		t.Error("the common name is not on the fast path")
	}
}

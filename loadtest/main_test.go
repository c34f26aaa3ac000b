package loadtest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// etcdstore.Store starts a goroutine per change that measures the
		// time to INSYNC for up to a minute, not tied to the Store's life;
		// it outlives a test whose last change is still being measured.
		goleak.IgnoreAnyFunction("github.com/healthdns/healthdns/zones/etcdstore.(*Store).measureInsync"))
}

package faulttest

import (
	"os"
	"testing"

	"github.com/healthdns/healthdns/internal/clustertest"
)

func TestMain(m *testing.M) {
	os.Exit(clustertest.Main(m))
}

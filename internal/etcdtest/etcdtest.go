// Package etcdtest starts a real etcd member in-process for tests: embedded
// etcd in t.TempDir() on ports reserved by the test, with etcd's default
// limits, stopped in t.Cleanup.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/healthdns/healthdns/zones/etcdstore"
)

// Cluster is a one-member etcd cluster.
type Cluster struct {
	Etcd      *embed.Etcd
	ClientURL string
	dir       string
	peerURL   string
}

// Start starts a member and returns it with a client connected to it.
func Start(t testing.TB) (*Cluster, *clientv3.Client) {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		c := &Cluster{dir: dir, ClientURL: "http://" + FreeAddr(t), peerURL: "http://" + FreeAddr(t)}
		e, err := etcdstore.StartEmbedded(context.Background(), etcdstore.EmbeddedConfig{
			Dir: dir, ClientURL: c.ClientURL, PeerURL: c.peerURL, UnsafeNoFsync: true, LogLevel: "off",
		})
		if err != nil {
			lastErr = err // a reserved port was taken meanwhile: try others
			continue
		}
		c.Etcd = e
		t.Cleanup(c.Stop)
		return c, c.Client(t)
	}
	t.Fatalf("etcdtest: %v", lastErr)
	return nil, nil
}

// Client returns a new client of the member, closed in t.Cleanup.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Stop stops the member; Stop twice is harmless.
func (c *Cluster) Stop() {
	if c.Etcd != nil {
		c.Etcd.Close()
		c.Etcd = nil
	}
}

// Restart starts the member again on the same data and addresses.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.Stop()
	e, err := etcdstore.StartEmbedded(context.Background(), etcdstore.EmbeddedConfig{
		Dir: c.dir, ClientURL: c.ClientURL, PeerURL: c.peerURL, UnsafeNoFsync: true, LogLevel: "off",
	})
	if err != nil {
		t.Fatalf("etcdtest: restart: %v", err)
	}
	c.Etcd = e
}

// FreeAddr reserves a loopback TCP port and returns "127.0.0.1:port". The
// port is released before return, so a clash is possible and callers retry.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}

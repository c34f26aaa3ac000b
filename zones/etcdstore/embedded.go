package etcdstore

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbeddedConfig configures the etcd that a lone node runs in-process.
type EmbeddedConfig struct {
	Name      string // member name
	Dir       string // data directory
	ClientURL string // e.g. http://127.0.0.1:2379
	PeerURL   string // e.g. http://127.0.0.1:2380
	LogLevel  string // etcd's zap level: debug, info, warn, error; "off" silences it
	// CompactionRetention is etcd's periodic auto-compaction retention
	// (default "10m"): embedded etcd leaves compaction off, and repeated
	// imports would otherwise fill the quota (TRAPS.md).
	CompactionRetention string
	// UnsafeNoFsync trades durability for speed; tests only.
	UnsafeNoFsync bool
}

// StartEmbedded starts an etcd member in this process with etcd's default
// limits (128 operations per transaction, 1.5 MiB per request, 2 GiB quota),
// and waits until it serves clients.
func StartEmbedded(ctx context.Context, c EmbeddedConfig) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	if cfg.Name == "" {
		cfg.Name = "healthdns"
	}
	cfg.Dir = c.Dir
	cu, err := url.Parse(c.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: client url: %w", err)
	}
	pu, err := url.Parse(c.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: peer url: %w", err)
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = c.LogLevel
	switch cfg.LogLevel {
	case "":
		cfg.LogLevel = "error"
	case "off":
		cfg.LogLevel = "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	}
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = c.CompactionRetention
	if cfg.AutoCompactionRetention == "" {
		cfg.AutoCompactionRetention = "10m"
	}
	cfg.UnsafeNoFsync = c.UnsafeNoFsync
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
}

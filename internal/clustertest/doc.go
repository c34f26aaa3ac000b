// Package clustertest starts a real healthdns deployment for fault tests:
// a multi-member etcd cluster of separate etcd processes (Debian's etcd
// 3.4 binary) and `healthdns serve` processes pointed at it, all on
// loopback ports reserved by the test, with helpers to kill, stop and
// restart each process, to cut a node's link to etcd inside a network
// namespace, and to drive DNS queries against the nodes.
//
// Every process runs in t.TempDir() and is killed in t.Cleanup; when a test
// fails, the tail of each process's output is logged. etcd runs with its
// default limits (128 operations per transaction, 1.5 MiB per request,
// 2 GiB quota), as users run it. The healthdns binary is built once per
// test binary (Binary); a TestMain should call Main so that it is removed
// afterwards.
//
// Nothing here sleeps and hopes: waits poll a condition until a deadline.
//
// Concurrency: a Member or Node is started, killed and restarted from the
// test goroutine; its Logs, Running and query helpers may be called from any
// goroutine. QueryLoop runs its own goroutines until Stop.
//
// Requirements: the etcd binary (Debian package etcd-server; the tests skip
// without it, saying so), the go tool to build healthdns, and for NewNetNS
// root and iproute2 (it skips otherwise). Linux only.
package clustertest

// Package etcdstore keeps healthdns's hosted zones in etcd and mirrors them
// into memory.
//
// Layout (docs/etcd-layout.md has the full story): a zone's data is a base
// generation of immutable chunks (under a prefix nobody watches) plus a log of
// change batches; a small head key per zone says which base is current and
// how far the log goes. A change batch is one transaction of three puts (log
// entry, head, change record) guarded by a compare on the head's revision, so
// any batch within Route 53's limits fits etcd's default 128 operations and
// 1.5 MiB per request; a zone file import writes its chunks first and then
// commits them with the same small transaction. The change record inside the
// transaction makes a retry after an ambiguous commit safe.
//
// The Syncer lists everything at one revision and watches from the next
// (list-then-watch), applying events to the Mirror and handing each change to
// the DNS responder as zones.ZoneDelta values; on compaction or a lost watch
// it lists again. The Store answers API reads from the Mirror and writes to
// etcd, then waits for its own Mirror to catch up, so a client reads its own
// writes.
//
// Concurrency: Store and Mirror are safe for concurrent use; the Syncer's
// callbacks run on its single goroutine. Errors a user can cause are
// *zones.Error; an unreachable or full etcd is zones.CodeServiceUnavailable.
package etcdstore

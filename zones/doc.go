// Package zones owns healthdns's data model: hosted zones, record sets, change
// batches and their validation by Route 53's rules, RFC 1035 zone files, and
// the in-memory state of a zone that both the DNS responder and the API read.
//
// Everything here is pure and free of I/O: the etcd store lives in the
// subpackage etcdstore, and the DNS responder (package dnsserver) consumes the
// parsed record sets through ZoneDelta values.
//
// Concurrency: values returned by this package are immutable once built
// (a *Set is never changed after Parse returns it); State is not safe for
// concurrent use and is guarded by its owner.
//
// Errors: every error a user can cause is a *Error carrying a Route 53 error
// code (InvalidChangeBatch, InvalidInput, NoSuchHostedZone, ...) and, for
// batches and zone files, one message per bad change or line.
package zones

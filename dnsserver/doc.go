// Package dnsserver is healthdns's authoritative DNS responder: it answers
// queries for the hosted zones over UDP and TCP, as NSD and Knot DNS do for
// the same data (RFC 1034/1035/2181/2308/4592/6672/6891/8482).
//
// Three parts:
//
//   - Table holds a Snapshot of every hosted zone. Table.Apply turns
//     zones.ZoneDelta values (from the syncer) into the next snapshot and
//     publishes it through an atomic pointer. Each zone's name index is split
//     into shards copied on write, so an incremental change copies the shards
//     and names it touches, never the whole zone; empty non-terminals are kept
//     by child counts, so wildcard and NODATA logic stay exact.
//   - Answer is a pure function from (snapshot, request, transport, client)
//     to the reply: zone by longest suffix, referrals at zone cuts, DS from
//     the parent side, wildcards, CNAME and DNAME chains with loop detection,
//     Route 53 alias record sets, negative answers with the SOA, additional
//     addresses, EDNS and truncation to the client's buffer.
//   - Server binds UDP and TCP on one address and writes what Answer returns.
//
// Concurrency: Apply is for one writer (concurrent calls are serialised);
// snapshots are immutable, and any number of goroutines may call Load and
// Answer at once without locks. A query loads the snapshot once, so each
// reply is consistent with one version of the data.
//
// Errors: Apply returns an error (and keeps the current snapshot) when a
// delta holds a record set outside its zone, of an unknown type, or with
// neither records nor an alias target. New rejects a missing Table or a
// malformed address; Start returns listen errors. Queries never fail: bad
// queries get FORMERR, NOTIMP or BADVERS, names outside every hosted zone
// REFUSED, a zone without SOA SERVFAIL, and a panic while answering SERVFAIL,
// which is logged and counted in healthdns_dns_panics_total.
package dnsserver

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
// The UDP query path (wire.go, fast.go, udp.go). When a name changes, each
// of its RRsets that answers on its own is packed to wire format: the
// answer section (its records, then its RRSIGs for DO), compressed against
// the lower-case question as Pack compresses it. Weighted, failover,
// multivalue and simple-with-health-checks sets of non-alias records get
// one packed form per candidate. A zone's negative answer (the SOA with the
// negative TTL, and its RRSIGs) is packed once per version of the zone
// against a question of the origin, and its compression pointers are moved
// at send time to where the origin sits in the query name, so a new serial
// repacks one record, not the zone. Server reads UDP with one socket per
// GOMAXPROCS bound with SO_REUSEPORT (with a 4 MiB receive buffer, as the
// kernel allows), each read by its own loop: on Linux batches of recvmmsg
// and sendmmsg, issued as raw system calls since the sockets never block
// (the runtime's blocking-call protocol wakes sysmon on each). A loop parses only the header, the
// question and an OPT record, and for a plain query (one IN question, a name
// needing no escapes, OPT version 0 with no option but NSID, COOKIE or
// PADDING) whose answer is prepared (an RRset of the name, NODATA, NXDOMAIN
// or REFUSED) that fits the client's buffer, copies the prepared octets
// behind the query's header and question (so the client's case is kept),
// sets the ID, RD, CD and counts, and appends OPT: no allocation and no
// lock. Everything else (other opcodes and classes, ECS, other options,
// wildcards, CNAME and DNAME chains, referrals, DS, ANY, additional
// records, CIDR and alias routing, truncation) takes the slow path: Unpack,
// Answer, Pack, as TCP always does; the octets are the same where both
// apply (TestFastPathMatchesSlowPath, FuzzFastPath). Queries are counted in
// per-loop shards of atomic counters summed when scraped.
//
// Routing (routing.go) follows Route 53's documented rules. Record sets of
// one name and type that carry a routing policy, a health check or an alias
// target get a route, precomputed when the snapshot is built; a query only
// asks the Health source about the candidates' checks and draws:
//
//   - weighted: one set at random with probability weight/sum among the
//     healthy sets of weight > 0; failing those, among the healthy sets of
//     weight 0; failing those (none healthy), among all sets by weight as
//     if healthy, so weight-0 sets then get nothing unless every weight is 0.
//   - failover: PRIMARY when healthy, else SECONDARY when healthy, else
//     PRIMARY. A lone PRIMARY or SECONDARY answers alone.
//   - multivalue: up to 8 values at random from the healthy sets; from all
//     sets when none is healthy.
//   - IP-based (cidr): the client is the EDNS Client Subnet (RFC 7871) when
//     the query carries one with a non-zero source prefix, else the
//     resolver's address. The CIDRSource gives the longest block of the
//     collection holding it; a block longer than the ECS source prefix does
//     not match (as in Route 53). The location's set answers; when it is
//     unhealthy and the "*" set is healthy, or no location matches, "*"
//     answers; with no "*", NODATA. The reply echoes ECS with SCOPE
//     PREFIX-LENGTH the matched block's length (the source length when
//     nothing matched, 0 when no IP-based routing was involved). Nested
//     blocks of different locations make that scope too wide for the
//     inner block; Route 53 collections are expected not to nest.
//   - latency and geolocation are not implemented: their sets answer as a
//     union of the healthy sets (of all when none is healthy), as do simple
//     sets and sets that mix policies (package zones refuses those).
//
// A set with no health check is healthy; an unknown check id is healthy. An
// alias set is healthy when its own check (if any) is, and, with
// evaluateTargetHealth, when its target resolves (as this client would be
// routed) to at least one healthy set, so trees such as failover of weighted
// sets work; "all unhealthy means all healthy" applies at every level.
// Aliases nest up to maxAliasDepth (loops end there as NODATA) and a query
// evaluates at most maxTargetChecks alias targets. Explain and
// Table.TestDNSAnswer run the same code and report each decision: the
// candidates, their health and weights, and the rule that chose.
//
// Concurrency: Apply, SetHealth and SetCIDRSource are serialised; snapshots
// are immutable (prepared octets included: the fast path copies them), and
// any number of goroutines may call Load and Answer at once without locks. A query loads the snapshot once, so each reply is
// consistent with one version of the data; the Health and CIDRSource it
// carries answer live and must be safe for concurrent use and lock-free
// (healthcheck.Monitor and etcdstore.CIDRTable are). Random draws use
// math/rand/v2's per-thread generator, which takes no lock.
//
// Abuse and observation (Options): response rate limiting of UDP replies
// per client network and answer, with slip (rrl.go); a cap on concurrent
// TCP connections whose reads shorten once half the slots are taken
// (tcplimit.go); a query log of one JSON line per query, buffered per loop
// and flushed by its own goroutine so the query path never waits
// (querylog.go); per-loop latency and size histograms (metrics.go).
//
// Errors: Apply returns an error (and keeps the current snapshot) when a
// delta holds a record set outside its zone, of an unknown type, or with
// neither records nor an alias target. TestDNSAnswer returns *zones.Error
// values (NoSuchHostedZone, InvalidInput). New rejects a missing Table or a
// malformed address; Start returns listen errors. Queries never fail: bad
// queries (a malformed EDNS Client Subnet among them) get FORMERR, NOTIMP or
// BADVERS, names outside every hosted zone REFUSED, a zone without SOA
// SERVFAIL, and a panic while answering SERVFAIL, which is logged and
// counted in healthdns_dns_panics_total.
package dnsserver

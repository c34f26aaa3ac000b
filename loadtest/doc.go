// Package loadtest drives a DNS server from outside, as dnsperf does, and
// measures what healthdns's operators care about: how many queries per second
// a node answers and how fast (Run), how long a change made through the API
// takes to show on every DNS node (Propagation), and how fast the nodes move
// off a primary that goes down, and back onto it (Drill: a failover pair or
// weighted sets, the primary taken down by stopping its backend or by a
// routing control). cmd/dnsload is its command line; package
// loadtest/stacktest starts a real in-process cluster for tests.
//
// Run reads queries in dnsperf's format (ParseQueries: "name TYPE" a line),
// packs each once and sends copies with their id patched in, over UDP or
// pipelined over TCP with RFC 1035's two-byte length prefix. It sends on a
// schedule, open loop (the n-th query is due at n/rate, whatever the replies
// do, so a slow server shows as latency and loss rather than as a slower
// sender; a late wakeup sends what fell due meanwhile, so the count stays
// exact), or, at rate 0, as fast as it can. MaxOutstanding caps the queries in
// flight as dnsperf's -q does; dnsperf's default of 100 turns a stalling
// server into a slower sender, so Run's default leaves it open (the id
// space, 65,536 a socket; DefaultTCPWindow a connection). Each socket or connection
// tracks its queries in flight in a table of 65,536 send times indexed by
// id; a reply is matched by id and question with a header parse, and a query
// unanswered within the timeout counts as lost. Latencies go to a
// log-bucketed Histogram (quantiles within 0.4%).
//
// On Linux the UDP sockets are driven by one loop per Options.Threads that
// waits in ppoll(2) with nanosecond timeouts and reads with recvmmsg(2) only
// the sockets ppoll found readable; at a fixed rate, with Ps to spare, the
// loop is a sender and a receiver goroutine, as dnsperf's two threads are,
// so a reply is timed the moment it arrives. Elsewhere each socket has a
// goroutine and waits through the net package. A TCP connection has a writer and a reader goroutine; when the
// server closes it early (healthdns does after 128 queries) the queries it
// left unread go again on the next connection, and later connections take
// only as many queries as the server answers on one.
//
// Concurrency: Run, Propagation, Drill and ParseQueries may be called from several
// goroutines at once; each call's goroutines have ended when it returns. A
// Histogram is not safe for concurrent use.
//
// Errors: ParseQueries returns an error naming the line and what is wrong
// with it. Run returns an error for bad options or a socket it cannot open;
// lost queries, refused connections and failed writes are results, not
// errors. Propagation returns API errors as api/client reports them
// (*client.APIError), a timeout naming the change and the DNS address that
// did not show it, or ctx's error when interrupted, with the changes timed
// so far; it deletes the zone it created in every case. Drill refuses
// options it cannot run with (naming the option), returns API errors and
// phases that did not complete within DrillOptions.Timeout (naming the
// nodes still waiting) with what it measured so far, and removes its zone,
// records and health checks in every case.
package loadtest

// Package loadtest drives a DNS server from outside, as dnsperf does, and
// measures what healthdns's operators care about: how many queries per second
// a node answers and how fast (Run), and how long a change made through the
// API takes to show on every DNS node (Propagation). cmd/dnsload is its
// command line.
//
// Run reads queries in dnsperf's format (ParseQueries: "name TYPE" a line),
// packs each once and sends copies with a new id over UDP, or pipelined over
// TCP with RFC 1035's two-byte length prefix. It sends on a schedule (the
// n-th query of a socket is due at start + n/rate, so a late wakeup sends a
// small burst rather than losing queries) or, at rate 0, as fast as it can.
// Each socket or connection tracks its in-flight queries by id in a table of
// 65,536 send times; a reply is matched by id and question with a header
// parse, and a query unanswered within the timeout counts as lost. Latencies
// go to a log-bucketed Histogram (relative error under 0.4%).
//
// Concurrency: Run starts one goroutine per UDP socket (sending and receiving
// in one loop, so that a busy core still drains its replies) or two per TCP
// connection (writer and reader), plus a progress reporter; all have ended
// when it returns. Histogram is not safe for concurrent use; each goroutine
// keeps its own and Run merges them. Propagation runs one polling goroutine
// per DNS address and ends them before it returns.
//
// Errors: ParseQueries returns an error naming the line and what is wrong
// with it. Run returns an error for bad options or when it cannot open a
// socket; lost queries, refused connections and unanswered queries are
// results, not errors. Propagation returns API errors as api/client reports
// them (*client.APIError) and a timeout error naming the change and the DNS
// address that did not show it; it deletes the zone it created in every case.
package loadtest

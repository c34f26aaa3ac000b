// Command dnsload drives a healthdns deployment from outside and measures
// it, on package loadtest:
//
//	dnsload qps --server ADDR --queries FILE [--rate N] [--duration 10s] [--tcp] [--json]
//	            [--sockets 1] [--threads 1] [--timeout 1s] [--outstanding 100] [--max-queries N] [--quiet]
//	dnsload propagation --api URL --dns ADDR[,ADDR...] [--changes 100] [--json]
//	            [--token T] [--timeout 30s] [--interval 2ms] [--zone NAME] [--quiet]
//	dnsload drill --api URL --dns ADDR[,ADDR...] [--interval 1] [--threshold 2] [--rate 200] [--json]
//	            [--trigger backend|routing-control] [--record failover|weighted] [--backends URL,URL]
//	            [--token T] [--timeout 60s] [--quiet]
//
// qps sends the queries of a dnsperf query file ("name TYPE" a line) at a
// fixed rate, or as fast as it can with --rate 0, and reports sent,
// received, lost, qps (received per second of sending) and latency
// percentiles. Like dnsperf (its -q), it holds back while 100 queries are
// unanswered, and catches up after; the table counts the queries so
// delayed, whose latency leaves out the wait. --outstanding 0 keeps the rate
// whatever the server does (open loop), so that a stalling server shows as
// latency and loss. With --json:
//
//	{"sent","received","lost","qps","latencyMs":{"avg","p50","p90","p99","p999"},"rcodes":{...}}
//
// propagation creates a temporary zone through the API, makes --changes
// changes one after the other and times each from the API's answer until
// every DNS address answers with it; it deletes the zone when it ends, also
// on error or interrupt. With --json:
//
//	{"changes","p50Seconds","p99Seconds","maxSeconds"}
//
// drill sets up, through the API, two HTTP backends (local ones it starts,
// or with --backends the user's), a health check on each, a temporary zone
// and a failover pair (--record failover) or two weighted sets of weight 1
// (--record weighted); queries every DNS address at --rate; takes the
// primary down, by stopping its backend (--trigger backend) or by turning
// OFF a routing control that the primary's CALCULATED check needs besides
// its backend's check (--trigger routing-control); then brings it up
// again. It reports detection (trigger -> the primary's record's check
// UNHEALTHY), flip and fail-back per node, and every SERVFAIL, timeout
// and wrong answer. A failover node has flipped at its first answer of the
// secondary; a weighted node at the first of 20 answers in a row without
// the primary, and an answer of the primary after that, until the
// revival, counts as wrong. Fail-back is a node's first answer of the
// primary after the revival. The drill cannot stop a user's backend, so
// --backends needs --trigger routing-control. It deletes what it created,
// also on error or interrupt. With --json:
//
//	{"detectionSeconds","flipSeconds":{node:s},"failbackSeconds":{node:s},
//	 "queries","servfail","timeouts","wrongAnswers","trigger","record"}
//
// While running, qps and propagation print a progress line a second, and
// drill one a phase, on stderr unless --quiet or --json. The first interrupt stops a run early and reports what
// it measured (after cleaning up); a second one ends the process.
//
// Exit codes: 0 ok; 1 the run failed (nothing could be sent, an API error, a
// change that never showed); 2 bad usage, with one line on stderr saying
// what is wrong.
package main

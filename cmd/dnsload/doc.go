// Command dnsload drives a healthdns deployment from outside and measures
// it, on package loadtest:
//
//	dnsload qps --server ADDR --queries FILE [--rate N] [--duration 10s] [--tcp] [--json]
//	            [--sockets 1] [--threads 1] [--timeout 1s] [--outstanding 100] [--max-queries N] [--quiet]
//	dnsload propagation --api URL --dns ADDR[,ADDR...] [--changes 100] [--json]
//	            [--token T] [--timeout 30s] [--interval 2ms] [--zone NAME] [--quiet]
//	dnsload drill --api URL --dns ADDR[,ADDR...] [--interval 1] [--threshold 2] [--rate 200] [--json]
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
// While running, both print a progress line a second on stderr unless
// --quiet or --json. The first interrupt stops a run early and reports what
// it measured (after cleaning up); a second one ends the process.
//
// Exit codes: 0 ok; 1 the run failed (nothing could be sent, an API error, a
// change that never showed); 2 bad usage, with one line on stderr saying
// what is wrong.
package main

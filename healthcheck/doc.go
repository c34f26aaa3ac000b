// Package healthcheck is healthdns's health checking: Route 53's health
// check model (HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP,
// CALCULATED, ROUTING_CONTROL), its store in etcd, the probes, the per-node
// checker that publishes observations, and the monitor that turns live
// observations into a status every node agrees on.
//
// # Parts
//
//   - Normalize validates a zones.HealthCheckConfig and fills in Route 53's
//     defaults (port 80/443, requestInterval 30 of 1-30, failureThreshold 3
//     of 1-10, resourcePath "/").
//   - Store creates, reads, lists, updates and deletes checks, and sets the
//     state of routing controls. CallerReference follows Route 53: the same
//     reference and config returns the existing check, another config (or a
//     reference of a deleted check) is HealthCheckAlreadyExists.
//   - Prober sends one probe: HTTP(S) healthy on 2xx/3xx (redirects are not
//     followed), a 4 s connect and 2 s response budget, bounded further by
//     the caller's context; string match in the first 5,120 bytes; HTTPS
//     without certificate validation and with SNI only when enableSNI; TCP
//     healthy on connect; probes leave from an optional source address.
//   - Checker (one per checker node) watches the checks and runs one
//     goroutine per endpoint check: a jittered first probe, then one per
//     interval, each bounded by 3/4 of the interval (so a backend that
//     hangs fails before the next tick), never two at once;
//     failureThreshold consecutive results flip its state either way;
//     inverted is applied before publishing. It writes its observation of
//     each check to etcd under its own lease only when its verdict changes,
//     plus a slow refresh (CheckerOptions.Refresh, 60 s) so checkedAt stays
//     honest; a checker that dies loses its observations with its lease.
//   - Monitor (every node) watches checks and observations and publishes an
//     immutable status table through an atomic pointer: Healthy(id) is
//     lock-free. An endpoint check is HEALTHY when more than Quorum (0.18) of
//     its live observations say so; with none yet it is HEALTHY, with none
//     left it keeps its last status. Disabled checks are HEALTHY; a
//     ROUTING_CONTROL check is HEALTHY while ON; a CALCULATED one when at
//     least healthThreshold children are (recursively, a cycle counting as
//     unhealthy; an unknown child as healthy).
//   - Service joins Store and Monitor for the REST API.
//
// # etcd keys
//
//	/healthdns/hc/checks/<id>           HealthCheck JSON
//	/healthdns/hc/obs/<id>/<nodeId>     Observation JSON, under the checker's lease
//	/healthdns/index/hcref/<reference>  {"id","config"} of the create; after a delete
//	                                    {"id","deleted":true} under a 25 h lease
//	/healthdns/index/hcguard            bumped by every create of a CALCULATED check,
//	                                    update of one, and delete
//
// Monitors watch /healthdns/hc/; checkers watch /healthdns/hc/checks/ only, so
// their own observation writes do not wake them; the index keys wake nobody.
// Every write is one small transaction (at most 4 puts and 3 compares, or
// at most 100 observation puts per transaction), far within etcd's default
// 128 operations and 1.5 MiB per request. Observation writes are a handful
// per check flip plus one per check and checker per refresh interval, not
// one per probe.
//
// # Concurrency
//
// Store, Monitor.Healthy, Monitor.Status and Service are safe for concurrent
// use. Monitor.Run and Checker.Run each run on one goroutine; OnChange is
// called on the Monitor's goroutine.
//
// # Errors
//
// Errors a caller can cause are *zones.Error: InvalidInput naming the field,
// NoSuchHealthCheck, HealthCheckAlreadyExists, HealthCheckInUse,
// HealthCheckVersionMismatch (CodeHealthCheckVersionMismatch),
// PriorRequestNotComplete after too many concurrent writes, and
// ServiceUnavailable when etcd is unreachable or full. Probe failures are
// results with a Route 53-style reason, never errors.
package healthcheck

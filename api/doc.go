// Package api is healthdns's REST API: JSON over HTTP under /v1 for hosted
// zones, record sets, changes and zone files, plus /healthz, /readyz and
// (mounted by the caller) /metrics. It is built on echo v4 and reads and
// writes through the small Store interface it declares; package
// zones/etcdstore satisfies it.
//
// The routes are those of the contract (shared CONTRACT.md) and of
// api/openapi.json, which is embedded and served at GET /v1/openapi.json; a
// test keeps the document and the registered routes equal.
//
// Ids: path parameters take bare ids ("Z..." zones, "C..." changes) and Route
// 53's prefixed forms ("/hostedzone/Z...", "/change/C..."), URL-escaped or as
// extra path segments; canonicalPath strips the prefix before routing.
//
// Authentication: with Options.Tokens, every /v1 route but /v1/openapi.json
// needs "Authorization: Bearer TOKEN"; the token's name is the "who" of the
// audit log and of the writes passed to the store. /healthz, /readyz and
// /metrics are open.
//
// Limits: JSON request bodies are limited to Options.MaxBodyBytes
// (DefaultMaxBodyBytes, 1 MiB) and zone file uploads to
// Options.MaxZoneFileBytes (DefaultMaxZoneFileBytes, 64 MiB: a 1M-record zone
// is about 40 MB); a larger body is 413 RequestEntityTooLarge.
//
// Errors: every error response is
//
//	{"error":{"code":"...","message":"...","messages":["..."]}}
//
// and is written in one place, errorResponse. Store errors are *zones.Error
// values whose code picks the status: InvalidInput, InvalidChangeBatch and
// PriorRequestNotComplete 400; NoSuchHostedZone, NoSuchChange and
// NoSuchHealthCheck 404; HostedZoneAlreadyExists, HostedZoneNotEmpty,
// HealthCheckAlreadyExists and HealthCheckInUse 409; Throttling 429;
// ServiceUnavailable 503. Any other error is 500 InternalError with a generic
// message, its cause logged. The API's own errors use the same shape:
// Unauthorized 401, NotFound 404 (no such route), MethodNotAllowed 405,
// RequestEntityTooLarge 413, and InvalidInput 400 for bad ids, query
// parameters and JSON (the message names the field or the byte offset).
//
// Metrics: healthdns_api_requests_total{route,method,code} and
// healthdns_api_request_duration_seconds{route,method}, where route is the
// registered route pattern (or "unmatched"), registered on
// Options.Registerer only.
//
// Concurrency: a Server is safe for concurrent use once New returns; Options
// must not be changed after New.
package api

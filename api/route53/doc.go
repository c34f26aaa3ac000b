// Package route53 serves Amazon Route 53's own REST-XML API (version
// 2013-04-01, namespace https://route53.amazonaws.com/doc/2013-04-01/) over
// the same store and health check service as the JSON API under /v1, so that
// the AWS SDKs, the AWS CLI and Terraform's AWS provider work against
// healthdns unchanged.
//
// Mount the Handler at /2013-04-01/ (api.Options.Route53 does). It serves
// CreateHostedZone, GetHostedZone, ListHostedZones, ListHostedZonesByName,
// GetHostedZoneCount, DeleteHostedZone, UpdateHostedZoneComment,
// ChangeResourceRecordSets, ListResourceRecordSets, GetChange,
// CreateHealthCheck, GetHealthCheck, ListHealthChecks, UpdateHealthCheck,
// DeleteHealthCheck, GetHealthCheckStatus, GetHealthCheckLastFailureReason,
// GetHealthCheckCount, TestDNSAnswer, ChangeTagsForResource and
// ListTagsForResource.
//
// # One set of rules
//
// The handlers only translate: XML to the model types of package zones and
// healthcheck, a call to the Store or the HealthChecks service (the ones /v1
// calls), and the result back to XML. Every rule (names, types, values,
// routing policies, Route 53's batch rules, caller references, health check
// limits) is the store's. What Route 53's schema has no field for is refused
// here by name (private zones, delegation sets, traffic policies,
// geoproximity, CloudWatch alarms, health checker regions). Two /v1
// extensions fit the wire format and pass through: health check Type
// ROUTING_CONTROL and any RequestInterval from 1 to 30 seconds.
//
// Ids take Route 53's shapes: "/hostedzone/Z...", "/change/C...", and
// health check UUIDs; requests take them bare or prefixed.
//
// # Authentication
//
// With Options.Credentials, every request must carry an AWS Signature
// Version 4 Authorization header by one of the keys (LoadCredentials reads
// the --route53-credentials-file format). The signature is recomputed with
// the AWS SDK's own signer (aws/signer/v4) over a request rebuilt from
// exactly what the client signed: its SignedHeaders, its Host, its escaped
// path and query as sent (from RequestURI, so a router that rewrites the
// path in front does not matter), and the SHA-256 of the body as received
// (an X-Amz-Content-Sha256 header must match it). Signatures are compared in
// constant time. Any region is accepted in the credential scope; the
// service must be route53; X-Amz-Date must be signed and within 5 minutes of
// the server's clock. Without credentials every request is accepted unsigned
// (the server allows that on loopback only).
//
// # Audit
//
// With Options.Audit (the etcd store), every authenticated write (POST,
// DELETE) is recorded as /v1's writes are, so GET /v1/audit lists both: who
// (the key's NAME), Route "route53:<Operation>", the write in /v1's JSON
// terms (e.g. the zones.ChangeBatch a ChangeResourceRecordSets became), the
// status and error code, the zone or health check and the change id.
//
// # Errors
//
// Every error is Route 53's ErrorResponse (Type Sender or Receiver, Code,
// Message, RequestId) with Route 53's status for the code: InvalidInput,
// PriorRequestNotComplete, HostedZoneNotEmpty, HealthCheckInUse and
// Throttling 400; NoSuchHostedZone, NoSuchChange and NoSuchHealthCheck 404;
// HostedZoneAlreadyExists, HealthCheckAlreadyExists and
// HealthCheckVersionMismatch 409; ServiceUnavailable 503. InvalidChangeBatch
// (400) has Route 53's own body, one Message per bad change, which the SDKs
// read into types.InvalidChangeBatch.Messages. Authentication failures use
// the codes AWS services share: MissingAuthenticationToken,
// InvalidClientTokenId and SignatureDoesNotMatch (403),
// IncompleteSignature and XAmzContentSHA256Mismatch (400). Operations the
// server is not set up for (no health check service, no tag store, no DNS
// answerer) are 501 NotImplemented. Any other error is 500 InternalFailure,
// its cause logged, not shown.
//
// # Concurrency
//
// A Handler is safe for concurrent use once New returns; Options must not
// change after New.
package route53

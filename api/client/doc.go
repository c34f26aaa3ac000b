// Package client is a small Go client for healthdns's /v1 REST API: hosted
// zones, record set change batches, change status and RFC 1035 zone files.
// The healthdns command line (cmd/healthdns) is built on it.
//
// Every method takes a context; its deadline or cancellation bounds the whole
// call, including WaitChange's polling. The client sets no timeout of its own.
//
// Ids are sent bare; Route 53's prefixed forms ("/hostedzone/Z...",
// "/change/C...") are accepted and stripped. ResolveZone turns a zone name
// into its id, so callers may take either.
//
// Concurrency: a *Client holds no mutable state after New and is safe for
// concurrent use by several goroutines.
//
// Errors: a reply with a non-2xx status comes back as an *APIError carrying
// the HTTP status and the API's {"error":{"code","message","messages"}} body
// (Route 53's codes: InvalidChangeBatch, NoSuchHostedZone, ...); use
// errors.As or ErrorCode to tell them apart. Transport failures are returned
// as net/http reports them (a *url.Error naming the method and URL); a reply
// that cannot be decoded is an error naming the method and path.
package client

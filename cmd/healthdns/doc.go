// Command healthdns runs a healthdns node (healthdns serve) and is the
// command-line client of its REST API: zone, record and change commands
// built on package api/client.
//
// The client commands take --api (env HEALTHDNS_API, default
// http://127.0.0.1:8053), --token (env HEALTHDNS_TOKEN), --json and
// --timeout, before, between or after their arguments. Zones are named by
// name or id; names are resolved to ids through the zone list.
//
// Output is a table on stdout, or JSON with --json: a zone as the API's Zone,
// lists as {"zones":[...]} and {"recordSets":[...]} with every page followed,
// changes as {"changeInfo":{...}}.
//
// Exit codes: 0 ok; 1 an API or network error, reported on stderr with the
// API's code, message and each of its messages on a line of its own; 2 bad
// usage, with one line on stderr saying what is wrong.
//
// All of a command's work happens in run, which takes its arguments and
// writers, so tests drive the command without starting a process.
package main

// Package etcderr says what an etcd client error means for a caller of
// healthdns's stores: etcd unreachable or without a leader (retry later;
// DNS keeps answering), out of space, or something else, and turns it into
// the *zones.Error the API shows. Both stores (zones/etcdstore,
// healthcheck) use it, so the same failure reads the same in every answer.
package etcderr

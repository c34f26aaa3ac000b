package healthcheck

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// Key layout. Prefix is watched by every node's Monitor; the Checker watches
// ChecksPrefix only, so its own observation writes do not wake it. The
// callerReference index and the write guard live outside Prefix: writing them
// wakes no watcher.
const (
	Prefix       = "/healthdns/hc/"
	ChecksPrefix = Prefix + "checks/"
	ObsPrefix    = Prefix + "obs/"
	refPrefix    = "/healthdns/index/hcref/"
	// guardKey is put by every create, update and delete of a check, each of
	// which compares its ModRevision with the one it validated against: so a
	// CALCULATED check never names a child deleted meanwhile, and a check is
	// never deleted while a parent is being created.
	guardKey = "/healthdns/index/hcguard"
)

func checkKey(id string) string       { return ChecksPrefix + id }
func obsKey(id, node string) string   { return ObsPrefix + id + "/" + node }
func obsCheckPrefix(id string) string { return ObsPrefix + id + "/" }
func refKey(ref string) string        { return refPrefix + ref }

// parseObsKey splits an observation key into check id and checker node id.
func parseObsKey(k string) (id, node string, ok bool) {
	rest, ok := strings.CutPrefix(k, ObsPrefix)
	if !ok {
		return "", "", false
	}
	id, node, ok = strings.Cut(rest, "/")
	return id, node, ok && id != "" && node != ""
}

// HealthCheck is a stored health check, the value of its key and the API's
// representation.
type HealthCheck struct {
	ID              string                  `json:"id"`
	CallerReference string                  `json:"callerReference"`
	Config          zones.HealthCheckConfig `json:"config"`
	// RoutingControlState is ON or OFF for ROUTING_CONTROL checks, else
	// empty. A new routing control is ON.
	RoutingControlState string `json:"routingControlState,omitempty"`
	// Version starts at 1 and grows with every update of Config (Route 53's
	// HealthCheckVersion).
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
}

// Observation is one checker node's view of one check: the value of
// ObsPrefix/<checkId>/<nodeId>, kept alive by that checker's lease.
type Observation struct {
	Checker string `json:"checker"`
	Region  string `json:"region"`
	// Status is the Route 53-style reason of the last probe before the
	// observation was written, e.g. "Success: HTTP Status Code 200, OK".
	Status string `json:"status"`
	// Healthy is the checker's verdict after failureThreshold and inverted.
	Healthy   bool      `json:"healthy"`
	CheckedAt time.Time `json:"checkedAt"`
}

// Status values.
const (
	Healthy   = "HEALTHY"
	Unhealthy = "UNHEALTHY"
)

// Status is what GET /v1/healthchecks/{id}/status shows.
type Status struct {
	Status       string              `json:"status"`
	Observations []StatusObservation `json:"observations"`
}

// StatusObservation is one live observation in a Status.
type StatusObservation struct {
	Checker   string    `json:"checker"`
	Region    string    `json:"region"`
	Status    string    `json:"status"`
	Healthy   bool      `json:"healthy"`
	CheckedAt time.Time `json:"checkedAt"`
}

// refEntry is the value of a callerReference index key: the check it made
// and the configuration of that create request, so that a retry is
// recognised even after the check was updated.
type refEntry struct {
	ID      string                  `json:"id"`
	Config  zones.HealthCheckConfig `json:"config"`
	Deleted bool                    `json:"deleted,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

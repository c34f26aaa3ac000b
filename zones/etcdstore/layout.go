package etcdstore

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// Key prefixes. Only DataPrefix is watched; blobs, indexes, change records
// and node status live outside it so that writing them wakes no watcher
// (a node publishing "I serve revision R" must not chase itself).
const (
	Root        = "/healthdns/"
	DataPrefix  = Root + "data/"
	metaPrefix  = DataPrefix + "zones/"
	headPrefix  = DataPrefix + "head/"
	logPrefix   = DataPrefix + "log/"
	blobPrefix  = Root + "blobs/"
	namePrefix  = Root + "index/zonename/"
	refPrefix   = Root + "index/zoneref/"
	chgPrefix   = Root + "changes/"
	NodesPrefix = Root + "nodes/dns/"
)

func metaKey(zid string) string { return metaPrefix + zid }
func headKey(zid string) string { return headPrefix + zid }
func logZonePrefix(zid string) string {
	return logPrefix + zid + "/"
}

// logZoneID returns the zone id of log key k.
func logZoneID(k string) string {
	zid, _, _ := strings.Cut(k[len(logPrefix):], "/")
	return zid
}
func logKey(zid string, seq uint64) string { return fmt.Sprintf("%s%020d", logZonePrefix(zid), seq) }
func blobGenPrefix(zid, gen string) string { return blobPrefix + zid + "/" + gen + "/" }
func blobKey(zid, gen string, chunk int) string {
	return fmt.Sprintf("%s%06d", blobGenPrefix(zid, gen), chunk)
}
func nameKey(name string) string  { return namePrefix + name }
func refKey(ref string) string    { return refPrefix + ref }
func changeKey(cid string) string { return chgPrefix + cid }

// zoneMeta is the value of a zone's meta key.
type zoneMeta struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Comment         string            `json:"comment,omitempty"`
	CallerReference string            `json:"callerReference,omitempty"`
	NameServers     []string          `json:"nameServers"`
	Tags            map[string]string `json:"tags,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
}

// head is the value of a zone's head key: the base generation and how far
// the log goes.
type head struct {
	Base    string `json:"base,omitempty"` // blob generation; "" = empty base
	Chunks  int    `json:"chunks,omitempty"`
	BaseSeq uint64 `json:"baseSeq"` // log entries up to here are in the base
	Seq     uint64 `json:"seq"`     // last log entry
}

// logEntry is one committed change of a zone.
type logEntry struct {
	Seq      uint64    `json:"seq"`
	ChangeID string    `json:"changeId"`
	At       time.Time `json:"at"`                // commit time, by the writer's clock
	Replace  *blobRef  `json:"replace,omitempty"` // zone file import: the zone becomes these chunks
	Ops      []logOp   `json:"ops,omitempty"`
}

type blobRef struct {
	Gen    string `json:"gen"`
	Chunks int    `json:"chunks"`
}

type logOp struct {
	Delete bool            `json:"delete,omitempty"`
	Set    zones.RecordSet `json:"set"`
}

// changeRecord is the value of a change key; the key's ModRevision is the
// revision the change was committed at.
type changeRecord struct {
	ID          string    `json:"id"`
	ZoneID      string    `json:"zoneId"`
	SubmittedAt time.Time `json:"submittedAt"`
	Comment     string    `json:"comment,omitempty"`
	Who         string    `json:"who,omitempty"`
}

// nodeStatus is the value of a DNS node's key, kept alive by its lease.
type nodeStatus struct {
	NodeID    string    `json:"nodeId"`
	Revision  int64     `json:"revision"`
	UpdatedAt time.Time `json:"updatedAt"`
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// NewID returns prefix + 20 random upper-case letters and digits, Route 53's
// id shape ("Z..." for zones, "C..." for changes).
func NewID(prefix string) string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	var s strings.Builder
	s.WriteString(prefix)
	for _, c := range b {
		s.WriteByte(idAlphabet[int(c)%len(idAlphabet)])
	}
	return s.String()
}

var randRead = rand.Read

// newGen returns a fresh blob generation name, ordered by time.
func newGen() string {
	return fmt.Sprintf("%016x-%s", time.Now().UnixNano(), NewID("G")[1:9])
}

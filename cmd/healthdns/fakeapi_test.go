package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// fakeAPI is an in-memory stand-in for the /v1 REST API, in the contract's
// shapes, small pages included, so the CLI's paging is exercised. It records
// the change batches and zone files it receives.
type fakeAPI struct {
	t     *testing.T
	token string
	url   string

	mu        sync.Mutex
	zones     []*zones.Zone
	sets      map[string][]zones.RecordSet // by zone id, in listing order
	changes   map[string]*fakeChange
	batches   []zones.ChangeBatch
	created   []zones.CreateZoneRequest
	imported  []string
	rrsetGets int
	nextID    int
}

type fakeChange struct {
	info     zones.ChangeInfo
	pollsTil int // GETs answered PENDING before INSYNC; < 0: never
}

const fakePage = 2

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, token: "tok", sets: map[string][]zones.RecordSet{}, changes: map[string]*fakeChange{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/zones", f.createZone)
	mux.HandleFunc("GET /v1/zones", f.listZones)
	mux.HandleFunc("GET /v1/zones/{id}", f.getZone)
	mux.HandleFunc("DELETE /v1/zones/{id}", f.deleteZone)
	mux.HandleFunc("GET /v1/zones/{id}/rrsets", f.listSets)
	mux.HandleFunc("POST /v1/zones/{id}/rrsets", f.changeSets)
	mux.HandleFunc("PUT /v1/zones/{id}/zonefile", f.importZone)
	mux.HandleFunc("GET /v1/zones/{id}/zonefile", f.exportZone)
	mux.HandleFunc("GET /v1/changes/{id}", f.getChange)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			f.fail(w, http.StatusUnauthorized, "Unauthorized", "missing or wrong bearer token")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	f.url = srv.URL
	return f
}

func (f *fakeAPI) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string, msgs ...string) {
	f.reply(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "messages": msgs}})
}

func (f *fakeAPI) id(prefix string) string {
	f.nextID++
	return fmt.Sprintf("%sFAKE%010d", prefix, f.nextID)
}

// addZone adds a zone with apex SOA and NS record sets.
func (f *fakeAPI) addZone(name string) *zones.Zone {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addZoneLocked(name, "", "")
}

func (f *fakeAPI) addZoneLocked(name, comment, ref string) *zones.Zone {
	name = strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	z := &zones.Zone{ID: f.id("Z"), Name: name, Comment: comment, CallerReference: ref,
		NameServers: []string{"ns1.fake.", "ns2.fake."}, CreatedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	f.zones = append(f.zones, z)
	ttl := int64(3600)
	f.sets[z.ID] = []zones.RecordSet{
		{Name: name, Type: "NS", TTL: &ttl, Values: []string{"ns1.fake.", "ns2.fake."}},
		{Name: name, Type: "SOA", TTL: &ttl, Values: []string{"ns1.fake. hostmaster.fake. 1 7200 900 1209600 86400"}},
	}
	z.RecordSetCount = 2
	return z
}

// addSet puts a record set into a zone.
func (f *fakeAPI) addSet(zoneID string, rs zones.RecordSet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putSet(zoneID, rs)
}

func setKey(rs zones.RecordSet) string {
	labels := strings.Split(strings.TrimSuffix(rs.Name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "\x00" + rs.Type + "\x00" + rs.SetIdentifier
}

func (f *fakeAPI) putSet(zoneID string, rs zones.RecordSet) {
	sets := slices.DeleteFunc(f.sets[zoneID], func(o zones.RecordSet) bool { return setKey(o) == setKey(rs) })
	sets = append(sets, rs)
	slices.SortFunc(sets, func(a, b zones.RecordSet) int { return strings.Compare(setKey(a), setKey(b)) })
	f.sets[zoneID] = sets
	f.zone(zoneID).RecordSetCount = len(sets)
}

func (f *fakeAPI) zone(id string) *zones.Zone {
	for _, z := range f.zones {
		if z.ID == id {
			return z
		}
	}
	return nil
}

func (f *fakeAPI) newChange(comment string, pollsTil int) zones.ChangeInfo {
	ci := zones.ChangeInfo{ID: f.id("C"), Status: zones.StatusPending, Comment: comment,
		SubmittedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	f.changes[ci.ID] = &fakeChange{info: ci, pollsTil: pollsTil}
	return ci
}

// addChange registers a change that stays PENDING for pollsTil GETs (< 0: forever).
func (f *fakeAPI) addChange(pollsTil int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newChange("", pollsTil).ID
}

func (f *fakeAPI) createZone(w http.ResponseWriter, r *http.Request) {
	var in zones.CreateZoneRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, 400, zones.CodeInvalidInput, err.Error())
		return
	}
	f.created = append(f.created, in)
	for _, z := range f.zones {
		if z.Name == strings.ToLower(strings.TrimSuffix(in.Name, "."))+"." {
			f.fail(w, http.StatusConflict, zones.CodeHostedZoneAlreadyExists, "zone "+z.Name+" exists")
			return
		}
	}
	z := f.addZoneLocked(in.Name, in.Comment, in.CallerReference)
	f.reply(w, http.StatusCreated, struct {
		zones.Zone
		ChangeInfo zones.ChangeInfo `json:"changeInfo"`
	}{*z, f.newChange("", 1)})
}

func (f *fakeAPI) listZones(w http.ResponseWriter, r *http.Request) {
	start := 0
	if m := r.URL.Query().Get("marker"); m != "" {
		for i, z := range f.zones {
			if z.ID == m {
				start = i
			}
		}
	}
	end := min(start+fakePage, len(f.zones))
	p := zones.ZonePage{Zones: []zones.Zone{}}
	for _, z := range f.zones[start:end] {
		p.Zones = append(p.Zones, *z)
	}
	if end < len(f.zones) {
		p.IsTruncated, p.NextMarker = true, f.zones[end].ID
	}
	f.reply(w, 200, p)
}

func (f *fakeAPI) zoneOr404(w http.ResponseWriter, r *http.Request) *zones.Zone {
	z := f.zone(strings.TrimPrefix(r.PathValue("id"), "/hostedzone/"))
	if z == nil {
		f.fail(w, http.StatusNotFound, zones.CodeNoSuchHostedZone, "no hosted zone "+r.PathValue("id"))
	}
	return z
}

func (f *fakeAPI) getZone(w http.ResponseWriter, r *http.Request) {
	if z := f.zoneOr404(w, r); z != nil {
		f.reply(w, 200, z)
	}
}

func (f *fakeAPI) deleteZone(w http.ResponseWriter, r *http.Request) {
	z := f.zoneOr404(w, r)
	if z == nil {
		return
	}
	if n := len(f.sets[z.ID]); n > 2 {
		f.fail(w, http.StatusConflict, zones.CodeHostedZoneNotEmpty, fmt.Sprintf("zone %s has %d record sets besides SOA and NS", z.Name, n-2))
		return
	}
	f.zones = slices.DeleteFunc(f.zones, func(o *zones.Zone) bool { return o == z })
	delete(f.sets, z.ID)
	f.reply(w, 200, map[string]any{"changeInfo": f.newChange("", 0)})
}

// listSets implements Route 53's start semantics: the page starts at the
// first set at or after (name, type, identifier).
func (f *fakeAPI) listSets(w http.ResponseWriter, r *http.Request) {
	z := f.zoneOr404(w, r)
	if z == nil {
		return
	}
	f.rrsetGets++
	q := r.URL.Query()
	sets := f.sets[z.ID]
	start := 0
	if q.Get("name") != "" {
		from := setKey(zones.RecordSet{Name: q.Get("name"), Type: q.Get("type"), SetIdentifier: q.Get("identifier")})
		start = len(sets)
		for i, s := range sets {
			if setKey(s) >= from {
				start = i
				break
			}
		}
	}
	end := min(start+fakePage, len(sets))
	p := zones.RecordSetPage{RecordSets: append([]zones.RecordSet{}, sets[start:end]...)}
	if end < len(sets) {
		n := sets[end]
		p.IsTruncated, p.NextName, p.NextType, p.NextIdentifier = true, n.Name, n.Type, n.SetIdentifier
	}
	f.reply(w, 200, p)
}

func (f *fakeAPI) changeSets(w http.ResponseWriter, r *http.Request) {
	z := f.zoneOr404(w, r)
	if z == nil {
		return
	}
	var b zones.ChangeBatch
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		f.fail(w, 400, zones.CodeInvalidInput, err.Error())
		return
	}
	f.batches = append(f.batches, b)
	var msgs []string
	for i, c := range b.Changes {
		var cur *zones.RecordSet
		for j, s := range f.sets[z.ID] {
			if setKey(s) == setKey(c.RecordSet) {
				cur = &f.sets[z.ID][j]
			}
		}
		switch {
		case c.Action == zones.ActionCreate && cur != nil:
			msgs = append(msgs, fmt.Sprintf("change %d: %s %s already exists", i+1, c.RecordSet.Name, c.RecordSet.Type))
		case c.Action == zones.ActionDelete && (cur == nil || !reflect.DeepEqual(*cur, c.RecordSet)):
			msgs = append(msgs, fmt.Sprintf("change %d: %s %s not found with these values", i+1, c.RecordSet.Name, c.RecordSet.Type))
		}
	}
	if len(msgs) > 0 {
		f.fail(w, 400, zones.CodeInvalidChangeBatch, fmt.Sprintf("%d changes are invalid", len(msgs)), msgs...)
		return
	}
	for _, c := range b.Changes {
		if c.Action == zones.ActionDelete {
			f.sets[z.ID] = slices.DeleteFunc(f.sets[z.ID], func(o zones.RecordSet) bool { return setKey(o) == setKey(c.RecordSet) })
			z.RecordSetCount = len(f.sets[z.ID])
		} else {
			f.putSet(z.ID, c.RecordSet)
		}
	}
	f.reply(w, 200, map[string]any{"changeInfo": f.newChange(b.Comment, 2)})
}

func (f *fakeAPI) importZone(w http.ResponseWriter, r *http.Request) {
	z := f.zoneOr404(w, r)
	if z == nil {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/dns" {
		f.fail(w, 400, zones.CodeInvalidInput, "Content-Type "+ct)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.imported = append(f.imported, string(b))
	f.reply(w, 200, map[string]any{"changeInfo": f.newChange("", 1)})
}

func (f *fakeAPI) exportZone(w http.ResponseWriter, r *http.Request) {
	z := f.zoneOr404(w, r)
	if z == nil {
		return
	}
	w.Header().Set("Content-Type", "text/dns")
	fmt.Fprintf(w, "$ORIGIN %s\n", z.Name)
	for _, s := range f.sets[z.ID] {
		for _, v := range s.Values {
			fmt.Fprintf(w, "%s %d IN %s %s\n", s.Name, *s.TTL, s.Type, v)
		}
	}
}

func (f *fakeAPI) getChange(w http.ResponseWriter, r *http.Request) {
	c := f.changes[strings.TrimPrefix(r.PathValue("id"), "/change/")]
	if c == nil {
		f.fail(w, http.StatusNotFound, zones.CodeNoSuchChange, "no change "+r.PathValue("id"))
		return
	}
	if c.pollsTil == 0 {
		c.info.Status = zones.StatusInsync
	} else if c.pollsTil > 0 {
		c.pollsTil--
	}
	f.reply(w, 200, map[string]any{"changeInfo": c.info})
}

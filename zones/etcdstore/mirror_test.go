package etcdstore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/healthdns/healthdns/zones"
)

func decodeSet(t *testing.T, origin, name, typ, value, id string) *zones.Set {
	t.Helper()
	ttl := int64(300)
	rs := zones.RecordSet{Name: name, Type: typ, TTL: &ttl, Values: []string{value}, SetIdentifier: id}
	if id != "" {
		w := int64(1)
		rs.Weight = &w
	}
	s, err := zones.DecodeRecordSet(rs, origin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestZoneDataIndex: put, replace, delete and lookups by key and by name.
func TestZoneDataIndex(t *testing.T) {
	z := newZoneData()
	a := decodeSet(t, "ex.test.", "a.ex.test.", "A", "192.0.2.1", "")
	aaaa := decodeSet(t, "ex.test.", "a.ex.test.", "AAAA", "2001:db8::1", "")
	w1 := decodeSet(t, "ex.test.", "w.ex.test.", "A", "192.0.2.2", "one")
	w2 := decodeSet(t, "ex.test.", "w.ex.test.", "A", "192.0.2.3", "two")
	for _, s := range []*zones.Set{a, aaaa, w1, w2} {
		z.put(s)
	}
	a2 := decodeSet(t, "ex.test.", "a.ex.test.", "A", "192.0.2.9", "")
	z.put(a2)
	if z.count != 4 || z.Get(a.Key()) != a2 || z.Get(w2.Key()) != w2 || len(z.AtName("w.ex.test.")) != 2 {
		t.Fatalf("after puts: count %d, get %v", z.count, z.Get(a.Key()))
	}
	if got := z.sortedKeys(); !slices.IsSortedFunc(got, func(x, y zones.SetKey) int {
		if zones.LessKey(x, y) {
			return -1
		}
		return 1
	}) || len(got) != 4 {
		t.Errorf("sorted keys %v", got)
	}
	z.del(w1.Key())
	z.del(w1.Key()) // twice: no effect
	z.del(zones.SetKey{Name: "none.ex.test.", Type: "A"})
	if z.count != 3 || z.Get(w1.Key()) != nil || z.Get(w2.Key()) != w2 || len(z.AtName("w.ex.test.")) != 1 {
		t.Fatalf("after delete: count %d", z.count)
	}
	z.del(w2.Key())
	if _, ok := z.names["w.ex.test."]; ok || z.count != 2 || len(z.allSets()) != 2 {
		t.Fatalf("name left behind: %v", z.names)
	}
}

// TestSaveCacheFormat: the streamed cache file decodes as cacheFile with
// every zone and record set.
func TestSaveCacheFormat(t *testing.T) {
	m := NewMirror()
	for i, origin := range []string{"one.test.", "two.test."} {
		z := newZoneData()
		z.meta = zoneMeta{ID: "Z" + string(rune('A'+i)), Name: origin}
		z.headRev = int64(10 + i)
		for j := range 3 + i {
			z.put(decodeSet(t, origin, string(rune('a'+j))+"."+origin, "A", "192.0.2.1", ""))
		}
		m.zones[z.meta.ID] = z
	}
	m.rev = 42
	path := filepath.Join(t.TempDir(), "cache", "zones.json")
	if err := m.SaveCache(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cf cacheFile
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if cf.Version != 1 || cf.Revision != 42 || cf.SavedAt.IsZero() || len(cf.Zones) != 2 {
		t.Fatalf("cache %+v", cf)
	}
	sets := map[string]int{}
	for _, z := range cf.Zones {
		sets[z.Meta.Name] = len(z.Sets)
		if z.HeadRev < 10 {
			t.Errorf("headRev %d", z.HeadRev)
		}
	}
	if sets["one.test."] != 3 || sets["two.test."] != 4 {
		t.Errorf("sets per zone %v", sets)
	}
}

// TestAppendPlainJSON: the fast writer gives what encoding/json gives, and
// declines what it cannot write.
func TestAppendPlainJSON(t *testing.T) {
	ttl, w := int64(300), int64(5)
	for _, rs := range []zones.RecordSet{
		{Name: "host1.perf.test.", Type: "A", TTL: &ttl, Values: []string{"10.0.0.1"}},
		{Name: "a.test.", Type: "AAAA", TTL: &ttl, Values: []string{"2001:db8::1", "2001:db8::2"}},
		{Name: "t.test.", Type: "TXT", TTL: &ttl, Values: []string{`"quoted"`}},
		{Name: "w.test.", Type: "A", TTL: &ttl, Values: []string{"10.0.0.1"}, SetIdentifier: "x", Weight: &w},
		{Name: "m.test.", Type: "MX", TTL: &ttl, Values: []string{"10 <mail>.test."}},
	} {
		want, err := json.Marshal(&rs)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendPlainJSON(nil, &rs)
		if ok && string(got) != string(want) {
			t.Errorf("%s %s:\n got %s\nwant %s", rs.Name, rs.Type, got, want)
		}
		if plain := rs.SetIdentifier == "" && rs.Type != "TXT" && rs.Type != "MX"; ok != plain {
			t.Errorf("%s %s: fast path %v", rs.Name, rs.Type, ok)
		}
	}
}

// BenchmarkEncodeSet compares the local copy's encoder of a plain record
// set with encoding/json's (the figure behind appendPlainJSON's comment).
func BenchmarkEncodeSet(b *testing.B) {
	ttl := int64(300)
	rs := zones.RecordSet{Name: "host1.perf.test.", Type: "A", TTL: &ttl, Values: []string{"10.0.0.1"}}
	b.Run("appendPlainJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendPlainJSON(buf[:0], &rs)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&rs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

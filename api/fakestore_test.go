package api

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/healthdns/healthdns/zones"
)

// fakeStore is for tests of pure HTTP concerns only (auth, error shape, id
// forms, parameters, limits); behaviour is tested on the real store in
// integration_test.go. It records the last call and returns err if set.
type fakeStore struct {
	mu   sync.Mutex
	err  error
	last call
	// export is written by ExportZoneFile before exportErr is returned.
	export    string
	exportErr error
}

type call struct {
	method string
	id     string
	who    string
	body   string
	marker string
	max    int
	list   zones.ListRecordSetsInput
	batch  zones.ChangeBatch
	create zones.CreateZoneRequest
}

const (
	testZoneID   = "Z0123456789ABCDEF"
	testChangeID = "C0123456789ABCDEF"
)

var _ Store = (*fakeStore)(nil)

func (f *fakeStore) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = c
	return f.err
}

func (f *fakeStore) lastCall() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeStore) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func testChange() zones.ChangeInfo {
	return zones.ChangeInfo{ID: testChangeID, Status: zones.StatusPending, SubmittedAt: time.Unix(0, 0).UTC()}
}

func (f *fakeStore) CreateZone(_ context.Context, req zones.CreateZoneRequest) (zones.Zone, zones.ChangeInfo, error) {
	if err := f.record(call{method: "CreateZone", create: req}); err != nil {
		return zones.Zone{}, zones.ChangeInfo{}, err
	}
	return zones.Zone{ID: testZoneID, Name: req.Name}, testChange(), nil
}

func (f *fakeStore) GetZone(_ context.Context, id string) (zones.Zone, error) {
	if err := f.record(call{method: "GetZone", id: id}); err != nil {
		return zones.Zone{}, err
	}
	return zones.Zone{ID: id, Name: "example.test."}, nil
}

func (f *fakeStore) ListZones(_ context.Context, marker string, maxItems int) (zones.ZonePage, error) {
	return zones.ZonePage{}, f.record(call{method: "ListZones", marker: marker, max: maxItems})
}

func (f *fakeStore) DeleteZone(_ context.Context, id string) (zones.ChangeInfo, error) {
	return testChange(), f.record(call{method: "DeleteZone", id: id})
}

func (f *fakeStore) ChangeRecordSets(_ context.Context, zoneID string, batch zones.ChangeBatch, who string) (zones.ChangeInfo, error) {
	return testChange(), f.record(call{method: "ChangeRecordSets", id: zoneID, batch: batch, who: who})
}

func (f *fakeStore) ListRecordSets(_ context.Context, zoneID string, in zones.ListRecordSetsInput) (zones.RecordSetPage, error) {
	return zones.RecordSetPage{}, f.record(call{method: "ListRecordSets", id: zoneID, list: in})
}

func (f *fakeStore) GetChange(_ context.Context, id string) (zones.ChangeInfo, error) {
	return testChange(), f.record(call{method: "GetChange", id: id})
}

func (f *fakeStore) ImportZoneFile(_ context.Context, zoneID string, zonefile io.Reader, who string) (zones.ChangeInfo, error) {
	var b strings.Builder
	_, rerr := io.Copy(&b, zonefile)
	if err := f.record(call{method: "ImportZoneFile", id: zoneID, who: who, body: b.String()}); err != nil {
		return zones.ChangeInfo{}, err
	}
	if rerr != nil {
		// Like a zone file parser: the read error loses its type.
		return zones.ChangeInfo{}, zones.Errorf(zones.CodeInvalidInput, "line 1: %v", rerr.Error())
	}
	return testChange(), nil
}

func (f *fakeStore) ExportZoneFile(_ context.Context, zoneID string, w io.Writer) error {
	if err := f.record(call{method: "ExportZoneFile", id: zoneID}); err != nil {
		return err
	}
	f.mu.Lock()
	export, exportErr := f.export, f.exportErr
	f.mu.Unlock()
	if _, err := io.WriteString(w, export); err != nil {
		return err
	}
	return exportErr
}

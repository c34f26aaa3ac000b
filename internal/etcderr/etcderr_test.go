package etcderr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/healthdns/healthdns/zones"
)

func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("key not found"), false},
		{context.Canceled, false},
		{rpctypes.ErrNoLeader, true},
		{rpctypes.ErrTimeoutDueToConnectionLost, true},
		{fmt.Errorf("put: %w", context.DeadlineExceeded), true},
		{status.Error(codes.Unavailable, "transport is closing"), true},
		{status.Error(codes.InvalidArgument, "bad key"), false},
		{errors.New("dial tcp 127.0.0.1:2379: connect: connection refused"), true},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestToAPI(t *testing.T) {
	if ToAPI("op", nil, "away") != nil {
		t.Error("nil did not stay nil")
	}
	own := &zones.Error{Code: zones.CodeNoSuchHostedZone, Message: "no zone"}
	if got := ToAPI("op", fmt.Errorf("wrapped: %w", own), "away"); !errors.Is(got, own) || zones.CodeOf(got) != zones.CodeNoSuchHostedZone {
		t.Errorf("a *zones.Error became %v", got)
	}
	nospace := ToAPI("op", rpctypes.ErrNoSpace, "away")
	if zones.CodeOf(nospace) != zones.CodeServiceUnavailable || !strings.Contains(nospace.Error(), "NOSPACE") {
		t.Errorf("NOSPACE: %v", nospace)
	}
	away := ToAPI("op", rpctypes.ErrNoLeader, "etcd is away")
	if zones.CodeOf(away) != zones.CodeServiceUnavailable || !strings.Contains(away.Error(), "etcd is away") {
		t.Errorf("no leader: %v", away)
	}
	other := ToAPI("list zones", errors.New("boom"), "away")
	if zones.CodeOf(other) == zones.CodeServiceUnavailable || other.Error() != "list zones: boom" {
		t.Errorf("other error: %v", other)
	}
}

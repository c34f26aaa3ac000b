package etcderr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/healthdns/healthdns/zones"
)

// Unavailable reports whether err means etcd cannot be reached, has no
// leader or did not answer in time: a write that failed so may still have
// applied.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrTimeout) ||
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail) || errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return strings.Contains(err.Error(), "no leader") || strings.Contains(err.Error(), "connection refused")
}

// ToAPI turns an error of operation op into a *zones.Error the API can show:
// errors that already are one pass through; NOSPACE and an unreachable etcd
// become ServiceUnavailable, the latter with unreachable as its message;
// anything else is wrapped with op.
func ToAPI(op string, err error, unreachable string) error {
	if err == nil {
		return nil
	}
	var ze *zones.Error
	if errors.As(err, &ze) {
		return err
	}
	if errors.Is(err, rpctypes.ErrNoSpace) || strings.Contains(err.Error(), "NOSPACE") {
		return &zones.Error{Code: zones.CodeServiceUnavailable, Message: "etcd is out of space (NOSPACE alarm): compact, defragment and disarm the alarm; nothing was changed", Err: err}
	}
	if Unavailable(err) {
		return &zones.Error{Code: zones.CodeServiceUnavailable, Message: unreachable, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

package zones

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. They follow Route 53's names where one fits.
const (
	CodeInvalidChangeBatch       = "InvalidChangeBatch"
	CodeInvalidInput             = "InvalidInput"
	CodeNoSuchHostedZone         = "NoSuchHostedZone"
	CodeNoSuchChange             = "NoSuchChange"
	CodeNoSuchHealthCheck        = "NoSuchHealthCheck"
	CodeHostedZoneAlreadyExists  = "HostedZoneAlreadyExists"
	CodeHostedZoneNotEmpty       = "HostedZoneNotEmpty"
	CodePriorRequestNotComplete  = "PriorRequestNotComplete"
	CodeHealthCheckAlreadyExists = "HealthCheckAlreadyExists"
	CodeHealthCheckInUse         = "HealthCheckInUse"
	// CodeServiceUnavailable: the store (etcd) cannot be reached or refuses
	// writes (NOSPACE); nothing was changed.
	CodeServiceUnavailable = "ServiceUnavailable"
	// CodeThrottling: too many requests.
	CodeThrottling = "Throttling"
)

// Error is an error a caller caused or must know the kind of. Code is one of
// the Code constants; Messages holds one line per bad change or zone file line.
type Error struct {
	Code     string
	Message  string
	Messages []string
	// Err is an underlying cause, not shown to API users.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, m := range e.Messages {
		b.WriteString("; ")
		b.WriteString(m)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

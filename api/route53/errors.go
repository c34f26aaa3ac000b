package route53

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/healthdns/healthdns/zones"
)

// Error codes this package produces itself, beside the zones.Code* ones.
// The authentication codes are those AWS services share.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeContentSHA256Mismatch      = "XAmzContentSHA256Mismatch"
	CodeNotImplemented             = "NotImplemented"
	CodeInvalidArgument            = "InvalidArgument"
	CodeUnknownOperation           = "UnknownOperationException"
	CodeRequestEntityTooLarge      = "RequestEntityTooLarge"
	CodeInternalFailure            = "InternalFailure"
)

// apiError is an error this package answers with, as opposed to one the
// store returns.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func newError(status int, code, format string, args ...any) error {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// invalidInput is a 400 InvalidInput about a request's shape.
func invalidInput(format string, args ...any) error {
	return zones.Errorf(zones.CodeInvalidInput, format, args...)
}

// notImplemented is a 501 for an operation this server cannot serve as
// configured.
func notImplemented(format string, args ...any) error {
	return newError(http.StatusNotImplemented, CodeNotImplemented, format, args...)
}

// statusOf maps an error code to the HTTP status Route 53 answers it with
// (its service model's httpStatusCode); 0 means unknown.
func statusOf(code string) int {
	switch code {
	case zones.CodeInvalidChangeBatch, zones.CodeInvalidInput, zones.CodePriorRequestNotComplete,
		zones.CodeHostedZoneNotEmpty, zones.CodeHealthCheckInUse, zones.CodeThrottling,
		CodeInvalidArgument, "InvalidDomainName", "InvalidPaginationToken", "ConcurrentModification":
		return http.StatusBadRequest
	case zones.CodeNoSuchHostedZone, zones.CodeNoSuchChange, zones.CodeNoSuchHealthCheck:
		return http.StatusNotFound
	case zones.CodeHostedZoneAlreadyExists, zones.CodeHealthCheckAlreadyExists, "HealthCheckVersionMismatch":
		return http.StatusConflict
	case zones.CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return 0
}

// reply is an error turned into what goes on the wire.
type reply struct {
	status   int
	code     string
	message  string
	messages []string // InvalidChangeBatch only
	internal bool     // the cause is logged, not shown
}

// errorReply is the one place that turns an error into a status and code.
func errorReply(err error) reply {
	var (
		ae *apiError
		ze *zones.Error
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return reply{status: ae.status, code: ae.code, message: ae.message}
	case errors.As(err, &mb):
		return reply{status: http.StatusRequestEntityTooLarge, code: CodeRequestEntityTooLarge,
			message: fmt.Sprintf("request body exceeds the limit of %d bytes", mb.Limit)}
	case errors.As(err, &ze):
		st := statusOf(ze.Code)
		if st == 0 {
			// A code this package does not know yet: errors a caller caused
			// are *zones.Error values, so it is the caller's.
			st = http.StatusBadRequest
		}
		r := reply{status: st, code: ze.Code, message: ze.Message}
		if ze.Code == zones.CodeInvalidChangeBatch {
			r.messages = ze.Messages
			if len(r.messages) == 0 {
				r.messages = []string{ze.Message}
			}
		} else if len(ze.Messages) > 0 {
			r.message = joinMessages(ze.Message, ze.Messages)
		}
		return r
	}
	return reply{status: http.StatusInternalServerError, code: CodeInternalFailure,
		message: "internal error; the server log has the cause", internal: true}
}

func joinMessages(msg string, more []string) string {
	for i, m := range more {
		if i == 0 && msg != "" {
			msg += ": "
		} else if i > 0 {
			msg += "; "
		}
		msg += m
	}
	return msg
}

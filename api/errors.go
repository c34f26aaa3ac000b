package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/zones"
)

// Error codes the API itself produces, beside the zones.Code* ones.
const (
	codeUnauthorized     = "Unauthorized"
	codeNotFound         = "NotFound"
	codeMethodNotAllowed = "MethodNotAllowed"
	codeTooLarge         = "RequestEntityTooLarge"
	codeInternal         = "InternalError"
)

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Messages []string `json:"messages,omitempty"`
}

// httpError is an error the API itself answers with (401, 413, ...), as
// opposed to one the store returns.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errUnauthorized() error {
	return &httpError{http.StatusUnauthorized, codeUnauthorized, "missing or invalid bearer token"}
}

func errTooLarge(limit int64) error {
	return &httpError{http.StatusRequestEntityTooLarge, codeTooLarge,
		fmt.Sprintf("request body exceeds the limit of %d bytes", limit)}
}

// invalidInput is a 400 InvalidInput about one of the API's own inputs.
func invalidInput(format string, args ...any) error {
	return zones.Errorf(zones.CodeInvalidInput, format, args...)
}

// statusOf maps a zones error code to its HTTP status; 0 means unknown.
func statusOf(code string) int {
	switch code {
	case zones.CodeInvalidChangeBatch, zones.CodeInvalidInput:
		return http.StatusBadRequest
	case zones.CodePriorRequestNotComplete:
		return http.StatusBadRequest // Route 53's status for it
	case zones.CodeNoSuchHostedZone, zones.CodeNoSuchChange, zones.CodeNoSuchHealthCheck, zones.CodeNoSuchCidrCollection:
		return http.StatusNotFound
	case zones.CodeHostedZoneAlreadyExists, zones.CodeHostedZoneNotEmpty,
		zones.CodeHealthCheckAlreadyExists, zones.CodeHealthCheckInUse,
		zones.CodeCidrCollectionAlreadyExists, zones.CodeCidrCollectionInUse, zones.CodeCidrCollectionVersionMismatch:
		return http.StatusConflict
	case zones.CodeThrottling:
		return http.StatusTooManyRequests
	case zones.CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return 0
}

// errorResponse is the one place that turns an error into a status and body.
// internal reports an error whose cause must be logged, not shown.
func errorResponse(err error) (status int, body errorBody, internal bool) {
	var (
		ze *zones.Error
		he *httpError
		ee *echo.HTTPError
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		return he.status, errorBody{errorDetail{Code: he.code, Message: he.message}}, false
	case errors.As(err, &mb):
		return errorResponse(errTooLarge(mb.Limit))
	case errors.As(err, &ze) && statusOf(ze.Code) != 0:
		return statusOf(ze.Code), errorBody{errorDetail{Code: ze.Code, Message: ze.Message, Messages: ze.Messages}}, false
	case errors.As(err, &ee):
		return echoError(ee)
	}
	return http.StatusInternalServerError,
		errorBody{errorDetail{Code: codeInternal, Message: "internal error; the server log has the cause"}}, true
}

// echoError maps echo's own errors (no route, wrong method, body too large)
// into the API's shape.
func echoError(ee *echo.HTTPError) (int, errorBody, bool) {
	msg := http.StatusText(ee.Code)
	if m, ok := ee.Message.(string); ok && m != "" {
		msg = m
	}
	var code string
	switch ee.Code {
	case http.StatusNotFound:
		code, msg = codeNotFound, "no such route"
	case http.StatusMethodNotAllowed:
		code, msg = codeMethodNotAllowed, "method not allowed on this route"
	case http.StatusRequestEntityTooLarge:
		code = codeTooLarge
	case http.StatusUnauthorized:
		code, msg = codeUnauthorized, "missing or invalid bearer token"
	case http.StatusBadRequest:
		code = zones.CodeInvalidInput
	default:
		if ee.Code >= 500 {
			return http.StatusInternalServerError,
				errorBody{errorDetail{Code: codeInternal, Message: "internal error; the server log has the cause"}}, true
		}
		code = strings.ReplaceAll(http.StatusText(ee.Code), " ", "")
		if code == "" {
			code = "Error"
		}
	}
	return ee.Code, errorBody{errorDetail{Code: code, Message: msg}}, false
}

// handleError is echo's HTTPErrorHandler: every error response goes out here.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		s.log.Error("api: error after the response began", "method", c.Request().Method,
			"path", c.Request().URL.Path, "err", err)
		return
	}
	status, body, internal := errorResponse(err)
	if internal {
		lvl := slog.LevelError
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			lvl = slog.LevelInfo // the client went away
		}
		s.log.Log(c.Request().Context(), lvl, "api: internal error", "method", c.Request().Method,
			"route", c.Path(), "path", c.Request().URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="healthdns"`)
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, body)
	}
	if err != nil {
		s.log.Debug("api: writing error response", "err", err)
	}
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Default request body limits; Options can change them.
const (
	// DefaultMaxBodyBytes bounds every JSON request body (1 MiB): a change
	// batch of 1,000 record sets fits several times over.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxZoneFileBytes bounds a zone file upload (64 MiB): a zone of
	// 1M records is about 40 MB as a master file.
	DefaultMaxZoneFileBytes = 64 << 20
)

// limitedBody is a request body that reads at most limit bytes and remembers
// whether the caller tried to read past it, so a store that wraps the read
// error in its own (a zone file parser does) still yields a 413.
type limitedBody struct {
	io.ReadCloser
	tooLarge bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		b.tooLarge = true
	}
	return n, err
}

// bodyLimit is route middleware that limits the request body to limit bytes.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return errTooLarge(limit)
			}
			lb := &limitedBody{ReadCloser: http.MaxBytesReader(c.Response().Writer, req.Body, limit)}
			req.Body = lb
			err := next(c)
			if err != nil && lb.tooLarge {
				return fmt.Errorf("%w (%w)", errTooLarge(limit), err)
			}
			return err
		}
	}
}

// decodeJSON reads exactly one JSON value from the request body into v,
// refusing unknown fields. Errors are InvalidInput naming the field or the
// byte offset; a body over the limit is a 413.
func decodeJSON(c echo.Context, v any) error {
	body := c.Request().Body
	if body == nil {
		return invalidInput("request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, dec.InputOffset())
	}
	// Exactly one value: anything but white space after it is an error.
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return invalidInput("invalid JSON at offset %d: data after the JSON value", end)
	}
	return nil
}

// jsonError turns an encoding/json error into InvalidInput (or passes a read
// error on: a *http.MaxBytesError becomes 413 in errorResponse).
func jsonError(err error, offset int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mb  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mb):
		return err
	case errors.Is(err, io.EOF):
		return invalidInput("request body is empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidInput("invalid JSON at offset %d: unexpected end of input", offset)
	case errors.As(err, &syn):
		return invalidInput("invalid JSON at offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidInput("invalid JSON at offset %d: cannot use a JSON %s as %s", typ.Offset, typ.Value, typ.Type)
		}
		return invalidInput("field %q: cannot use a JSON %s as %s (offset %d)", typ.Field, typ.Value, typ.Type, typ.Offset)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalidInput("unknown field %s (offset %d)", f, offset)
	}
	if strings.HasPrefix(err.Error(), "json: ") {
		return invalidInput("invalid JSON at offset %d: %s", offset, strings.TrimPrefix(err.Error(), "json: "))
	}
	return fmt.Errorf("reading request body: %w", err)
}

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/zones"
)

// AuditLog keeps the record of every API write; the etcd store satisfies it.
type AuditLog interface {
	RecordAudit(ctx context.Context, e zones.AuditEntry) error
	ListAudit(ctx context.Context, since time.Time, maxItems int) ([]zones.AuditEntry, bool, error)
}

// maxAuditedResponse bounds how much of a reply is kept to find its change id.
const maxAuditedResponse = 64 << 10

// auditWrites records every /v1 write (POST, PUT, DELETE) with who made it,
// the request (JSON bodies as sent; a zone file by its size), the status and
// error code, and the change id of the reply. A failure to record is logged;
// the write itself has already happened and its reply is not held back.
func (s *Server) auditWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if s.opts.Audit == nil || !strings.HasPrefix(req.URL.Path, "/v1/") ||
			(req.Method != http.MethodPost && req.Method != http.MethodPut && req.Method != http.MethodDelete) {
			return next(c)
		}
		e := zones.AuditEntry{Time: time.Now().UTC(), Method: req.Method, Path: req.URL.Path}
		isJSON := !strings.HasSuffix(req.URL.Path, "/zonefile")
		var body bytes.Buffer
		if isJSON && req.Body != nil {
			// Keep at most the JSON limit; the route's own limit still applies
			// to the whole stream.
			req.Body = struct {
				io.Reader
				io.Closer
			}{io.TeeReader(req.Body, &limitedBuffer{buf: &body, max: s.opts.MaxBodyBytes}), req.Body}
		}
		counter := &countingReader{r: req.Body}
		if !isJSON && req.Body != nil {
			req.Body = struct {
				io.Reader
				io.Closer
			}{counter, req.Body}
		}
		resp := c.Response()
		capture := &captureWriter{ResponseWriter: resp.Writer}
		resp.Writer = capture
		err := next(c)
		resp.Writer = capture.ResponseWriter
		e.Route = c.Path()
		e.Who = whoOf(c)
		if names := c.ParamNames(); len(names) > 0 {
			e.Params = map[string]string{}
			for i, n := range names {
				e.Params[n] = c.ParamValues()[i]
			}
		}
		if isJSON && json.Valid(body.Bytes()) {
			e.Request = json.RawMessage(bytes.Clone(body.Bytes()))
		}
		e.BodyBytes = counter.n
		if isJSON {
			e.BodyBytes = int64(body.Len())
		}
		e.Status = resp.Status
		if err != nil {
			status, b, _ := errorResponse(err)
			e.Status, e.ErrorCode = status, b.Error.Code
		}
		var reply struct {
			ID         string `json:"id"`
			ChangeInfo struct {
				ID string `json:"id"`
			} `json:"changeInfo"`
		}
		if json.Unmarshal(capture.buf.Bytes(), &reply) == nil {
			e.ChangeID, e.Resource = reply.ChangeInfo.ID, reply.ID
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 5*time.Second)
		defer cancel()
		if rerr := s.opts.Audit.RecordAudit(ctx, e); rerr != nil {
			s.log.Error("api: could not record the audit entry", "err", rerr, "method", e.Method, "path", e.Path, "who", e.Who, "status", e.Status)
		}
		return err
	}
}

type limitedBuffer struct {
	buf *bytes.Buffer
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - int64(l.buf.Len()); room > 0 {
		if int64(len(p)) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// captureWriter passes a reply through and keeps its first bytes.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if room := maxAuditedResponse - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return w.ResponseWriter.Write(p)
}

func (w *captureWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// listAudit serves GET /v1/audit?since=RFC3339&maxItems=.
func (s *Server) listAudit(c echo.Context) error {
	q, err := query(c, "since", "maxItems")
	if err != nil {
		return err
	}
	n, err := maxItems(q, 1000)
	if err != nil {
		return err
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return invalidInput("since: %q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", clip(v))
		}
	}
	entries, more, err := s.opts.Audit.ListAudit(c.Request().Context(), since, n)
	if err != nil {
		return err
	}
	out := map[string]any{"entries": entries, "isTruncated": more}
	if more && len(entries) > 0 {
		out["nextSince"] = entries[len(entries)-1].Time.Add(time.Nanosecond).Format(time.RFC3339Nano)
	}
	return c.JSON(http.StatusOK, out)
}

package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/healthdns/healthdns/zones"
)

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/v1/zones//hostedzone/Z1/rrsets", "/v1/changes/change/", "/", "//", "/v1/zones/hostedzone//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out, changed := canonicalPath(p)
		if changed != (out != p) {
			t.Fatalf("canonicalPath(%q) = %q, changed %v", p, out, changed)
		}
		for _, ip := range idPrefixes {
			if strings.HasPrefix(p, ip.base) && !strings.HasPrefix(out+"/", ip.base) {
				t.Fatalf("canonicalPath(%q) = %q left %s", p, out, ip.base)
			}
		}
	})
}

// FuzzDecodeJSON: any body yields a decoded value or InvalidInput (413 when
// over the limit), never a panic or an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"changes":[]}`, `{"comment":"x","changes":[{"action":"CREATE","recordSet":{"name":"a","type":"A","ttl":1,"values":["192.0.2.1"]}}]}`, `{`, `{} x`, `[]`, `null`, `{"changes":[{"recordSet":{"ttl":1e99}}]}`} {
		f.Add(s)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		var b zones.ChangeBatch
		err := bodyLimit(256)(func(c echo.Context) error { return decodeJSON(c, &b) })(c)
		if err == nil {
			return
		}
		status, eb, internal := errorResponse(err)
		if internal || (status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("body %q: %v -> %d %+v", body, err, status, eb)
		}
		var ze *zones.Error
		if status == http.StatusBadRequest && (!errors.As(err, &ze) || ze.Code != zones.CodeInvalidInput) {
			t.Fatalf("body %q: %v is not InvalidInput", body, err)
		}
	})
}

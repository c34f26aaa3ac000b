package route53_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/healthdns/healthdns/healthcheck"
	"github.com/healthdns/healthdns/zones"
)

// backend is an HTTP endpoint for checks to probe, healthy until told not
// to be.
type backend struct {
	ip   string
	port int32
	fail atomic.Bool
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	b.ip, b.port = host, int32(p)
	return b
}

// healthCheckID creates an HTTP check of a healthy local backend for record
// sets to name.
func (s *stack) healthCheckID(t *testing.T, c *awsr53.Client) string {
	t.Helper()
	b := startBackend(t)
	out, err := c.CreateHealthCheck(ctxT(t), &awsr53.CreateHealthCheckInput{CallerReference: aws.String("for-records"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(b.ip), Port: aws.Int32(b.port)}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.HealthCheck.Id)
}

func TestSDKHealthChecks(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)
	b := startBackend(t)

	// An interval of 1 s is a /v1 extension that fits Route 53's wire format.
	cfg := &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(b.ip), Port: aws.Int32(b.port),
		ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(1), FailureThreshold: aws.Int32(1)}
	out, err := c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("hc-1"), HealthCheckConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	hc := out.HealthCheck
	id := aws.ToString(hc.Id)
	if _, ok := healthcheck.CanonicalID(id); !ok || aws.ToInt64(hc.HealthCheckVersion) != 1 || aws.ToString(hc.CallerReference) != "hc-1" ||
		aws.ToInt32(hc.HealthCheckConfig.RequestInterval) != 1 || aws.ToInt32(hc.HealthCheckConfig.FailureThreshold) != 1 ||
		aws.ToString(hc.HealthCheckConfig.ResourcePath) != "/health" || !strings.HasSuffix(aws.ToString(out.Location), "/healthcheck/"+id) {
		t.Fatalf("created %+v at %s", hc, aws.ToString(out.Location))
	}
	// Route 53's callerReference rules.
	again, err := c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("hc-1"), HealthCheckConfig: cfg})
	if err != nil || aws.ToString(again.HealthCheck.Id) != id {
		t.Errorf("the same request again: %+v, %v", again, err)
	}
	other := *cfg
	other.Port = aws.Int32(b.port + 1)
	_, err = c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("hc-1"), HealthCheckConfig: &other})
	var exists *types.HealthCheckAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("callerReference with another config: %v, want HealthCheckAlreadyExists", err)
	}
	wantCode(t, err, "HealthCheckAlreadyExists", 409)
	for _, bad := range []*types.HealthCheckConfig{
		{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(b.ip), Regions: []types.HealthCheckRegion{types.HealthCheckRegionUsEast1, types.HealthCheckRegionEuWest1, types.HealthCheckRegionApSoutheast1}},
		{Type: types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String("arn:aws:route53-recovery-control::1:controlpanel/x/routingcontrol/y")},
		{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("not-an-ip")},
		{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(b.ip), RequestInterval: aws.Int32(45)},
	} {
		_, err = c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("bad"), HealthCheckConfig: bad})
		var inv *types.InvalidInput
		if !errors.As(err, &inv) {
			t.Errorf("config %+v: %v, want InvalidInput", bad, err)
		}
	}

	// Status, from the checker's probes; then a failure and its reason.
	get, err := c.GetHealthCheck(ctx, &awsr53.GetHealthCheckInput{HealthCheckId: aws.String(strings.ToUpper(id))})
	if err != nil || aws.ToString(get.HealthCheck.Id) != id {
		t.Fatalf("GetHealthCheck (upper-case id): %+v, %v", get, err)
	}
	pollObservation := func(what string, op func() ([]types.HealthCheckObservation, error), prefix string) {
		t.Helper()
		poll(t, what, func() bool {
			obs, err := op()
			if err != nil {
				t.Fatal(err)
			}
			return len(obs) == 1 && strings.HasPrefix(aws.ToString(obs[0].StatusReport.Status), prefix) &&
				obs[0].Region == "test-region" && obs[0].StatusReport.CheckedTime != nil
		})
	}
	status := func() ([]types.HealthCheckObservation, error) {
		out, err := c.GetHealthCheckStatus(ctx, &awsr53.GetHealthCheckStatusInput{HealthCheckId: aws.String(id)})
		if err != nil {
			return nil, err
		}
		return out.HealthCheckObservations, nil
	}
	lastFailure := func() ([]types.HealthCheckObservation, error) {
		out, err := c.GetHealthCheckLastFailureReason(ctx, &awsr53.GetHealthCheckLastFailureReasonInput{HealthCheckId: aws.String(id)})
		if err != nil {
			return nil, err
		}
		return out.HealthCheckObservations, nil
	}
	pollObservation("a successful observation", status, "Success")
	if obs, err := lastFailure(); err != nil || len(obs) != 0 {
		t.Errorf("last failure of a healthy check: %+v, %v", obs, err)
	}
	b.fail.Store(true)
	pollObservation("a failed observation", status, "Failure")
	pollObservation("the failure reason", lastFailure, "Failure")
	var v1st healthcheck.Status
	s.v1(t, "GET", "/v1/healthchecks/"+id+"/status", nil, 200, &v1st)
	if v1st.Status != healthcheck.Unhealthy {
		t.Errorf("/v1 status %+v", v1st)
	}

	// Route 53's partial update: what is given changes, the rest stays.
	upd, err := c.UpdateHealthCheck(ctx, &awsr53.UpdateHealthCheckInput{HealthCheckId: aws.String(id),
		FailureThreshold: aws.Int32(2), ResourcePath: aws.String("/other"), Inverted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	u := upd.HealthCheck
	if aws.ToInt64(u.HealthCheckVersion) != 2 || aws.ToInt32(u.HealthCheckConfig.FailureThreshold) != 2 ||
		aws.ToString(u.HealthCheckConfig.ResourcePath) != "/other" || !aws.ToBool(u.HealthCheckConfig.Inverted) ||
		aws.ToString(u.HealthCheckConfig.IPAddress) != b.ip || aws.ToInt32(u.HealthCheckConfig.Port) != b.port ||
		aws.ToInt32(u.HealthCheckConfig.RequestInterval) != 1 {
		t.Errorf("after update: %+v", u.HealthCheckConfig)
	}
	upd, err = c.UpdateHealthCheck(ctx, &awsr53.UpdateHealthCheckInput{HealthCheckId: aws.String(id),
		HealthCheckVersion: aws.Int64(2), ResetElements: []types.ResettableElementName{types.ResettableElementNameResourcePath}})
	if err != nil || aws.ToString(upd.HealthCheck.HealthCheckConfig.ResourcePath) != "/" || aws.ToInt64(upd.HealthCheck.HealthCheckVersion) != 3 {
		t.Errorf("reset ResourcePath: %+v, %v", upd, err)
	}
	_, err = c.UpdateHealthCheck(ctx, &awsr53.UpdateHealthCheckInput{HealthCheckId: aws.String(id), HealthCheckVersion: aws.Int64(1), Disabled: aws.Bool(true)})
	var mismatch *types.HealthCheckVersionMismatch
	if !errors.As(err, &mismatch) {
		t.Errorf("stale version: %v, want HealthCheckVersionMismatch", err)
	}
	var v1hc healthcheck.HealthCheck
	s.v1(t, "GET", "/v1/healthchecks/"+id, nil, 200, &v1hc)
	if v1hc.Version != 3 || v1hc.Config.FailureThreshold != 2 || v1hc.Config.RequestInterval != 1 || !v1hc.Config.Inverted {
		t.Errorf("/v1 sees %+v", v1hc)
	}

	// ROUTING_CONTROL through the XML API, switched through /v1.
	rc, err := c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("rc-1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: "ROUTING_CONTROL"}})
	if err != nil || rc.HealthCheck.HealthCheckConfig.Type != "ROUTING_CONTROL" {
		t.Fatalf("ROUTING_CONTROL: %+v, %v", rc, err)
	}
	rcID := aws.ToString(rc.HealthCheck.Id)
	s.v1(t, "PUT", "/v1/healthchecks/"+rcID+"/routingcontrol", map[string]string{"state": "OFF"}, 200, nil)
	poll(t, "the routing control to turn OFF", func() bool {
		var st healthcheck.Status
		s.v1(t, "GET", "/v1/healthchecks/"+rcID+"/status", nil, 200, &st)
		return st.Status == healthcheck.Unhealthy
	})

	// A CALCULATED check over both; its children cannot go while it stands.
	calc, err := c.CreateHealthCheck(ctx, &awsr53.CreateHealthCheckInput{CallerReference: aws.String("calc-1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, ChildHealthChecks: []string{id, rcID}, HealthThreshold: aws.Int32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	calcID := aws.ToString(calc.HealthCheck.Id)
	if got := calc.HealthCheck.HealthCheckConfig; len(got.ChildHealthChecks) != 2 || aws.ToInt32(got.HealthThreshold) != 1 {
		t.Errorf("calculated: %+v", got)
	}
	_, err = c.DeleteHealthCheck(ctx, &awsr53.DeleteHealthCheckInput{HealthCheckId: aws.String(rcID)})
	var inUse *types.HealthCheckInUse
	if !errors.As(err, &inUse) {
		t.Errorf("delete of a child: %v, want HealthCheckInUse", err)
	}
	wantCode(t, err, "HealthCheckInUse", 400)

	// One made through /v1 is a Route 53 health check too.
	var v1made healthcheck.HealthCheck
	s.v1(t, "POST", "/v1/healthchecks", healthcheck.CreateRequest{CallerReference: "v1-1",
		Config: zones.HealthCheckConfig{Type: "TCP", IPAddress: b.ip, Port: int(b.port), RequestInterval: 10}}, 201, &v1made)
	g, err := c.GetHealthCheck(ctx, &awsr53.GetHealthCheckInput{HealthCheckId: aws.String(v1made.ID)})
	if err != nil || g.HealthCheck.HealthCheckConfig.Type != types.HealthCheckTypeTcp || aws.ToInt32(g.HealthCheck.HealthCheckConfig.RequestInterval) != 10 {
		t.Errorf("GetHealthCheck of a /v1 check: %+v, %v", g, err)
	}

	// Paging and counting.
	seen := map[string]bool{}
	p := awsr53.NewListHealthChecksPaginator(c, &awsr53.ListHealthChecksInput{MaxItems: aws.Int32(1)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 5 {
			t.Fatal("ListHealthChecks does not end")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.HealthChecks) != 1 {
			t.Fatalf("page of %d", len(page.HealthChecks))
		}
		seen[aws.ToString(page.HealthChecks[0].Id)] = true
	}
	if len(seen) != 4 || !seen[id] || !seen[rcID] || !seen[calcID] || !seen[v1made.ID] {
		t.Errorf("ListHealthChecks saw %v", seen)
	}
	n, err := c.GetHealthCheckCount(ctx, &awsr53.GetHealthCheckCountInput{})
	if err != nil || aws.ToInt64(n.HealthCheckCount) != 4 {
		t.Errorf("GetHealthCheckCount: %+v, %v", n, err)
	}

	// Tags: none kept for health checks by this store yet.
	tags, err := c.ListTagsForResource(ctx, &awsr53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: aws.String(id)})
	if err != nil || len(tags.ResourceTagSet.Tags) != 0 {
		t.Errorf("ListTagsForResource of a health check: %+v, %v", tags, err)
	}
	_, err = c.ChangeTagsForResource(ctx, &awsr53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: aws.String(id),
		AddTags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "NotImplemented", 501)

	// Delete, parent first.
	for _, hid := range []string{calcID, rcID, id, v1made.ID} {
		if _, err := c.DeleteHealthCheck(ctx, &awsr53.DeleteHealthCheckInput{HealthCheckId: aws.String(hid)}); err != nil {
			t.Fatalf("DeleteHealthCheck %s: %v", hid, err)
		}
	}
	_, err = c.GetHealthCheck(ctx, &awsr53.GetHealthCheckInput{HealthCheckId: aws.String(id)})
	var noHC *types.NoSuchHealthCheck
	if !errors.As(err, &noHC) {
		t.Errorf("deleted check: %v, want NoSuchHealthCheck", err)
	}
	wantCode(t, err, "NoSuchHealthCheck", 404)
	s.v1(t, "GET", "/v1/healthchecks/"+id, nil, 404, nil)
	_, err = c.GetHealthCheckStatus(ctx, &awsr53.GetHealthCheckStatusInput{HealthCheckId: aws.String("not-a-uuid")})
	wantCode(t, err, "InvalidInput", 400)
}

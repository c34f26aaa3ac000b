package route53_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"

	"github.com/healthdns/healthdns/zones"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiError returns err's Route 53 error code and HTTP status.
func apiError(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := apiError(t, err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("error %s (%d), want %s (%d): %v", gotCode, gotStatus, code, status, err)
	}
}

func createZone(t *testing.T, c *awsr53.Client, name, ref string) *awsr53.CreateHostedZoneOutput {
	t.Helper()
	out, err := c.CreateHostedZone(ctxT(t), &awsr53.CreateHostedZoneInput{
		Name: aws.String(name), CallerReference: aws.String(ref),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("made by " + t.Name())},
	})
	if err != nil {
		t.Fatalf("CreateHostedZone %s: %v", name, err)
	}
	return out
}

// zoneID returns the bare id of a "/hostedzone/Z..." id.
func zoneID(t *testing.T, id *string) string {
	t.Helper()
	s, ok := strings.CutPrefix(aws.ToString(id), "/hostedzone/")
	if !ok || !strings.HasPrefix(s, "Z") {
		t.Fatalf("hosted zone id %q is not /hostedzone/Z...", aws.ToString(id))
	}
	return s
}

func TestSDKHostedZones(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)

	out := createZone(t, c, "Example.TEST", "ref-1")
	id := zoneID(t, out.HostedZone.Id)
	if aws.ToString(out.HostedZone.Name) != "example.test." || aws.ToInt64(out.HostedZone.ResourceRecordSetCount) != 2 ||
		aws.ToString(out.HostedZone.CallerReference) != "ref-1" || aws.ToString(out.HostedZone.Config.Comment) != "made by "+t.Name() {
		t.Errorf("created %+v", out.HostedZone)
	}
	if out.DelegationSet == nil || !reflect.DeepEqual(out.DelegationSet.NameServers, []string{"ns1.example.net.", "ns2.example.net."}) {
		t.Errorf("delegation set %+v", out.DelegationSet)
	}
	if !strings.HasPrefix(aws.ToString(out.ChangeInfo.Id), "/change/C") || out.ChangeInfo.SubmittedAt == nil {
		t.Errorf("change info %+v", out.ChangeInfo)
	}
	if loc := aws.ToString(out.Location); !strings.HasSuffix(loc, "/2013-04-01/hostedzone/"+id) {
		t.Errorf("Location %q", loc)
	}

	// Get, with the id in either form.
	for _, zid := range []string{id, "/hostedzone/" + id} {
		got, err := c.GetHostedZone(ctx, &awsr53.GetHostedZoneInput{Id: aws.String(zid)})
		if err != nil {
			t.Fatalf("GetHostedZone %s: %v", zid, err)
		}
		if aws.ToString(got.HostedZone.Id) != "/hostedzone/"+id || len(got.DelegationSet.NameServers) != 2 {
			t.Errorf("GetHostedZone %s: %+v", zid, got.HostedZone)
		}
	}

	// Route 53's errors, typed.
	_, err := c.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String("ref-2")})
	var exists *types.HostedZoneAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("duplicate name: %v, want HostedZoneAlreadyExists", err)
	}
	wantCode(t, err, "HostedZoneAlreadyExists", 409)
	_, err = c.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("other.test"), CallerReference: aws.String("ref-1")})
	wantCode(t, err, "HostedZoneAlreadyExists", 409)
	_, err = c.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("bad..name"), CallerReference: aws.String("ref-3")})
	var invalid *types.InvalidInput
	if !errors.As(err, &invalid) {
		t.Errorf("bad name: %v, want InvalidInput", err)
	}
	_, err = c.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("private.test"), CallerReference: aws.String("ref-4"),
		VPC: &types.VPC{VPCId: aws.String("vpc-1"), VPCRegion: types.VPCRegionUsEast1}})
	wantCode(t, err, "InvalidInput", 400)
	_, err = c.GetHostedZone(ctx, &awsr53.GetHostedZoneInput{Id: aws.String("Z" + strings.Repeat("9", 20))})
	var noZone *types.NoSuchHostedZone
	if !errors.As(err, &noZone) {
		t.Errorf("unknown zone: %v, want NoSuchHostedZone", err)
	}
	wantCode(t, err, "NoSuchHostedZone", 404)

	// Paging: ListHostedZones by marker, ListHostedZonesByName by name.
	names := []string{"example.test.", "a.example.test.", "zeta.test.", "alpha.org."}
	for i, n := range names[1:] {
		createZone(t, c, n, fmt.Sprintf("page-%d", i))
	}
	var listed []string
	p := awsr53.NewListHostedZonesPaginator(c, &awsr53.ListHostedZonesInput{MaxItems: aws.Int32(1)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > len(names) {
			t.Fatal("ListHostedZones does not end")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.HostedZones) != 1 || aws.ToInt32(page.MaxItems) != 1 {
			t.Fatalf("page %+v", page)
		}
		listed = append(listed, aws.ToString(page.HostedZones[0].Name))
	}
	// Route 53's order: by name with the labels reversed.
	want := []string{"alpha.org.", "example.test.", "a.example.test.", "zeta.test."}
	if !reflect.DeepEqual(listed, want) {
		t.Errorf("ListHostedZones: %v, want %v", listed, want)
	}
	byName, err := c.ListHostedZonesByName(ctx, &awsr53.ListHostedZonesByNameInput{DNSName: aws.String("example.test"), MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(byName.HostedZones) != 2 || aws.ToString(byName.HostedZones[0].Name) != "example.test." ||
		aws.ToString(byName.HostedZones[1].Name) != "a.example.test." || !byName.IsTruncated ||
		aws.ToString(byName.NextDNSName) != "zeta.test." || aws.ToString(byName.NextHostedZoneId) == "" {
		t.Errorf("ListHostedZonesByName: %+v", byName)
	}
	rest, err := c.ListHostedZonesByName(ctx, &awsr53.ListHostedZonesByNameInput{DNSName: byName.NextDNSName, HostedZoneId: byName.NextHostedZoneId})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.HostedZones) != 1 || aws.ToString(rest.HostedZones[0].Name) != "zeta.test." || rest.IsTruncated {
		t.Errorf("ListHostedZonesByName, second page: %+v", rest)
	}
	count, err := c.GetHostedZoneCount(ctx, &awsr53.GetHostedZoneCountInput{})
	if err != nil || aws.ToInt64(count.HostedZoneCount) != 4 {
		t.Errorf("GetHostedZoneCount: %v, %v", count, err)
	}

	// UpdateHostedZoneComment: the store's if it has the method.
	upd, err := c.UpdateHostedZoneComment(ctx, &awsr53.UpdateHostedZoneCommentInput{Id: aws.String(id), Comment: aws.String("new comment")})
	if _, ok := any(s.store).(interface {
		UpdateZoneComment(context.Context, string, string) (zones.Zone, error)
	}); ok {
		if err != nil || aws.ToString(upd.HostedZone.Config.Comment) != "new comment" {
			t.Errorf("UpdateHostedZoneComment: %+v, %v", upd, err)
		}
		var z zones.Zone
		s.v1(t, "GET", "/v1/zones/"+id, nil, 200, &z)
		if z.Comment != "new comment" {
			t.Errorf("/v1 shows comment %q after UpdateHostedZoneComment", z.Comment)
		}
	} else {
		wantCode(t, err, "NotImplemented", 501)
		t.Log("etcdstore has no UpdateZoneComment yet: UpdateHostedZoneComment answers NotImplemented")
	}

	// Not empty: HostedZoneNotEmpty (Route 53's 400) until the records go.
	change(t, c, id, types.ChangeActionCreate, rrset("www.example.test", "A", 300, "192.0.2.1"))
	_, err = c.DeleteHostedZone(ctx, &awsr53.DeleteHostedZoneInput{Id: aws.String(id)})
	var notEmpty *types.HostedZoneNotEmpty
	if !errors.As(err, &notEmpty) {
		t.Fatalf("delete of a zone with records: %v, want HostedZoneNotEmpty", err)
	}
	wantCode(t, err, "HostedZoneNotEmpty", 400)
	change(t, c, id, types.ChangeActionDelete, rrset("www.example.test", "A", 300, "192.0.2.1"))
	del, err := c.DeleteHostedZone(ctx, &awsr53.DeleteHostedZoneInput{Id: aws.String("/hostedzone/" + id)})
	if err != nil || !strings.HasPrefix(aws.ToString(del.ChangeInfo.Id), "/change/C") {
		t.Fatalf("DeleteHostedZone: %+v, %v", del, err)
	}
	_, err = c.GetHostedZone(ctx, &awsr53.GetHostedZoneInput{Id: aws.String(id)})
	wantCode(t, err, "NoSuchHostedZone", 404)
	_, err = c.DeleteHostedZone(ctx, &awsr53.DeleteHostedZoneInput{Id: aws.String(id)})
	wantCode(t, err, "NoSuchHostedZone", 404)

	if !strings.Contains(s.logs.String(), "who="+testKeyName) {
		t.Errorf("the audit log lacks who=%s", testKeyName)
	}
}

func rrset(name, typ string, ttl int64, values ...string) types.ResourceRecordSet {
	rs := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ), TTL: aws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

func change(t *testing.T, c *awsr53.Client, zoneID string, action types.ChangeAction, sets ...types.ResourceRecordSet) *types.ChangeInfo {
	t.Helper()
	batch := &types.ChangeBatch{Comment: aws.String(string(action))}
	for _, rs := range sets {
		batch.Changes = append(batch.Changes, types.Change{Action: action, ResourceRecordSet: &rs})
	}
	out, err := c.ChangeResourceRecordSets(ctxT(t), &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), ChangeBatch: batch})
	if err != nil {
		t.Fatalf("ChangeResourceRecordSets %s: %v", action, err)
	}
	return out.ChangeInfo
}

// waitInsync waits for a change with the SDK's own waiter, its delays
// shortened.
func waitInsync(t *testing.T, c *awsr53.Client, ci *types.ChangeInfo) {
	t.Helper()
	w := awsr53.NewResourceRecordSetsChangedWaiter(c, func(o *awsr53.ResourceRecordSetsChangedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctxT(t), &awsr53.GetChangeInput{Id: ci.Id}, 20*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", aws.ToString(ci.Id), err)
	}
}

// listAll pages through ListResourceRecordSets maxItems at a time, as the
// SDK's users do: Start* from the previous page's Next*.
func listAll(t *testing.T, c *awsr53.Client, zoneID string, maxItems int32) ([]types.ResourceRecordSet, int) {
	t.Helper()
	in := &awsr53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(maxItems)}
	var all []types.ResourceRecordSet
	pages := 0
	for {
		out, err := c.ListResourceRecordSets(ctxT(t), in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.ResourceRecordSets) > int(maxItems) || aws.ToInt32(out.MaxItems) != maxItems {
			t.Fatalf("page of %d with MaxItems %d, asked %d", len(out.ResourceRecordSets), aws.ToInt32(out.MaxItems), maxItems)
		}
		all = append(all, out.ResourceRecordSets...)
		if !out.IsTruncated {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("ListResourceRecordSets does not end")
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

func setKey(rs types.ResourceRecordSet) string {
	return aws.ToString(rs.Name) + " " + string(rs.Type) + " " + aws.ToString(rs.SetIdentifier)
}

// TestSDKRecordSets is the first acceptance check: simple, weighted and
// failover records with a health check, paging, INSYNC with the SDK's
// waiter, a typed InvalidChangeBatch, and the DNS responder agreeing.
func TestSDKRecordSets(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)
	id := zoneID(t, createZone(t, c, "shop.test", "rr-1").HostedZone.Id)
	hcID := s.healthCheckID(t, c)

	weighted := func(setID string, w int64, v string) types.ResourceRecordSet {
		rs := rrset("api.shop.test", "A", 60, v)
		rs.SetIdentifier, rs.Weight = aws.String(setID), aws.Int64(w)
		return rs
	}
	failover := func(setID string, role types.ResourceRecordSetFailover, v, hc string) types.ResourceRecordSet {
		rs := rrset("app.shop.test", "A", 60, v)
		rs.SetIdentifier, rs.Failover = aws.String(setID), role
		if hc != "" {
			rs.HealthCheckId = aws.String(hc)
		}
		return rs
	}
	multi := func(setID, v string) types.ResourceRecordSet {
		rs := rrset("mv.shop.test", "A", 60, v)
		rs.SetIdentifier, rs.MultiValueAnswer = aws.String(setID), aws.Bool(true)
		return rs
	}
	alias := types.ResourceRecordSet{Name: aws.String("alias.shop.test"), Type: types.RRTypeA,
		AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("/hostedzone/" + id), DNSName: aws.String("www.shop.test"), EvaluateTargetHealth: true}}
	sets := []types.ResourceRecordSet{
		rrset("www.shop.test", "A", 300, "192.0.2.1", "192.0.2.2"),
		rrset("shop.test", "MX", 3600, "10 mail.shop.test."),
		rrset("txt.shop.test", "TXT", 300, `"v=spf1 -all"`),
		weighted("blue", 70, "192.0.2.10"),
		weighted("green", 30, "192.0.2.11"),
		failover("primary", types.ResourceRecordSetFailoverPrimary, "192.0.2.20", hcID),
		failover("secondary", types.ResourceRecordSetFailoverSecondary, "192.0.2.21", ""),
		multi("one", "192.0.2.30"),
		multi("two", "192.0.2.31"),
		alias,
	}
	ci := change(t, c, id, types.ChangeActionUpsert, sets...)
	if !strings.HasPrefix(aws.ToString(ci.Id), "/change/C") || aws.ToString(ci.Comment) != "UPSERT" {
		t.Errorf("change info %+v", ci)
	}
	waitInsync(t, c, ci)
	got, err := c.GetChange(ctx, &awsr53.GetChangeInput{Id: ci.Id})
	if err != nil || got.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Fatalf("GetChange after the waiter: %+v, %v", got, err)
	}

	// The DNS responder serves what the batch put.
	if a, rcode := s.dig(t, "www.shop.test", dns.TypeA); rcode != dns.RcodeSuccess || !reflect.DeepEqual(a, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Errorf("dig www: %v rcode %d", a, rcode)
	}
	// Routed sets: the answer is some of the set's values, whichever the
	// routing policy picks (it is dnsserver's business which).
	if a, _ := s.dig(t, "api.shop.test", dns.TypeA); !subset(a, "192.0.2.10", "192.0.2.11") {
		t.Errorf("dig api (weighted): %v", a)
	}
	if a, _ := s.dig(t, "app.shop.test", dns.TypeA); !subset(a, "192.0.2.20", "192.0.2.21") {
		t.Errorf("dig app (failover): %v", a)
	}
	if a, _ := s.dig(t, "alias.shop.test", dns.TypeA); !reflect.DeepEqual(a, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Errorf("dig alias: %v", a)
	}

	// Page through, 3 at a time: every set exactly once, the apex SOA and NS too.
	all, pages := listAll(t, c, id, 3)
	if pages < 4 {
		t.Errorf("%d sets came in %d pages of 3", len(all), pages)
	}
	byKey := map[string]types.ResourceRecordSet{}
	for _, rs := range all {
		if _, dup := byKey[setKey(rs)]; dup {
			t.Errorf("listed twice: %s", setKey(rs))
		}
		byKey[setKey(rs)] = rs
	}
	if len(all) != len(sets)+2 {
		t.Errorf("listed %d sets, want %d", len(all), len(sets)+2)
	}
	whole, _ := listAll(t, c, id, 300)
	if !reflect.DeepEqual(keys(whole), keys(all)) {
		t.Errorf("paged listing %v differs from one page %v", keys(all), keys(whole))
	}
	for _, want := range sets {
		k := setKey(want)
		got, ok := byKey[strings.Replace(k, aws.ToString(want.Name), dns.Fqdn(aws.ToString(want.Name)), 1)]
		if !ok {
			t.Errorf("%s not listed", k)
			continue
		}
		if aws.ToInt64(got.TTL) != aws.ToInt64(want.TTL) || aws.ToInt64(got.Weight) != aws.ToInt64(want.Weight) ||
			got.Failover != want.Failover || aws.ToString(got.HealthCheckId) != aws.ToString(want.HealthCheckId) ||
			aws.ToBool(got.MultiValueAnswer) != aws.ToBool(want.MultiValueAnswer) ||
			!reflect.DeepEqual(values(got), values(want)) {
			t.Errorf("%s listed as %s", k, describe(got))
		}
	}
	if a := byKey["alias.shop.test. A "].AliasTarget; a == nil || aws.ToString(a.HostedZoneId) != id ||
		aws.ToString(a.DNSName) != "www.shop.test." || !a.EvaluateTargetHealth {
		t.Errorf("alias listed as %+v", a)
	}
	// Starting mid-way: at a name, at a name and type, at a set identifier.
	from, err := c.ListResourceRecordSets(ctx, &awsr53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id),
		StartRecordName: aws.String("api.shop.test"), StartRecordType: types.RRTypeA, StartRecordIdentifier: aws.String("green"), MaxItems: aws.Int32(1)})
	if err != nil || len(from.ResourceRecordSets) != 1 || aws.ToString(from.ResourceRecordSets[0].SetIdentifier) != "green" || !from.IsTruncated {
		t.Errorf("ListResourceRecordSets from api A green: %+v, %v", from, err)
	}

	// A bad batch: typed InvalidChangeBatch, one message per bad change,
	// and nothing of it applied.
	_, err = c.ChangeResourceRecordSets(ctx, &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
		{Action: types.ChangeActionCreate, ResourceRecordSet: ptr(rrset("new.shop.test", "A", 60, "192.0.2.99"))},
		{Action: types.ChangeActionCreate, ResourceRecordSet: ptr(rrset("www.shop.test", "A", 300, "192.0.2.1", "192.0.2.2"))},
		{Action: types.ChangeActionDelete, ResourceRecordSet: ptr(rrset("gone.shop.test", "A", 60, "192.0.2.98"))},
	}}})
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Fatalf("bad batch: %v, want *types.InvalidChangeBatch", err)
	}
	if len(icb.Messages) != 2 || !strings.Contains(icb.Messages[0], "already exists") || !strings.Contains(icb.Messages[1], "not found") {
		t.Errorf("InvalidChangeBatch messages %q", icb.Messages)
	}
	if _, status := apiError(t, err); status != 400 {
		t.Errorf("InvalidChangeBatch status %d", status)
	}
	if a, rcode := s.dig(t, "new.shop.test", dns.TypeA); len(a) != 0 || rcode != dns.RcodeNameError {
		t.Errorf("a rejected batch was partly applied: dig new: %v rcode %d", a, rcode)
	}
	_, err = c.ChangeResourceRecordSets(ctx, &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
		{Action: types.ChangeActionCreate, ResourceRecordSet: ptr(rrset("bad.shop.test", "A", 60, "not-an-address"))},
	}}})
	if !errors.As(err, &icb) || len(icb.Messages) != 1 || !strings.Contains(icb.Messages[0], "not-an-address") {
		t.Errorf("bad value: %v", err)
	}
	_, err = c.ChangeResourceRecordSets(ctx, &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String("Z" + strings.Repeat("8", 20)),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: ptr(rrset("x.shop.test", "A", 60, "192.0.2.1"))}}}})
	wantCode(t, err, "NoSuchHostedZone", 404)
	_, err = c.GetChange(ctx, &awsr53.GetChangeInput{Id: aws.String("/change/C" + strings.Repeat("7", 20))})
	var noChange *types.NoSuchChange
	if !errors.As(err, &noChange) {
		t.Errorf("unknown change: %v", err)
	}

	// Delete everything (as listed, which is what Route 53 users send back),
	// then the zone; the DNS responder follows.
	var del []types.ResourceRecordSet
	for _, rs := range all {
		if !(aws.ToString(rs.Name) == "shop.test." && (rs.Type == types.RRTypeSoa || rs.Type == types.RRTypeNs)) {
			del = append(del, rs)
		}
	}
	waitInsync(t, c, change(t, c, id, types.ChangeActionDelete, del...))
	if a, rcode := s.dig(t, "www.shop.test", dns.TypeA); len(a) != 0 || rcode != dns.RcodeNameError {
		t.Errorf("dig www after delete: %v rcode %d", a, rcode)
	}
	dz, err := c.DeleteHostedZone(ctx, &awsr53.DeleteHostedZoneInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	waitInsync(t, c, dz.ChangeInfo)
	if _, rcode := s.dig(t, "shop.test", dns.TypeSOA); rcode != dns.RcodeRefused {
		t.Errorf("dig SOA of the deleted zone: rcode %d, want REFUSED", rcode)
	}
}

func ptr[T any](v T) *T { return &v }

// subset reports whether got is a non-empty subset of of.
func subset(got []string, of ...string) bool {
	if len(got) == 0 {
		return false
	}
	for _, g := range got {
		found := false
		for _, o := range of {
			found = found || g == o
		}
		if !found {
			return false
		}
	}
	return true
}

func keys(sets []types.ResourceRecordSet) []string {
	var out []string
	for _, rs := range sets {
		out = append(out, setKey(rs))
	}
	return out
}

func values(rs types.ResourceRecordSet) []string {
	var out []string
	for _, r := range rs.ResourceRecords {
		out = append(out, aws.ToString(r.Value))
	}
	sort.Strings(out)
	return out
}

func describe(rs types.ResourceRecordSet) string {
	return fmt.Sprintf("%s ttl=%d weight=%d failover=%s hc=%s multi=%v values=%v", setKey(rs), aws.ToInt64(rs.TTL),
		aws.ToInt64(rs.Weight), rs.Failover, aws.ToString(rs.HealthCheckId), aws.ToBool(rs.MultiValueAnswer), values(rs))
}

// TestCrossAPI is the third acceptance check: what one API writes, the
// other reads.
func TestCrossAPI(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)

	// Route 53 -> /v1.
	out := createZone(t, c, "xml.test", "x-1")
	id := zoneID(t, out.HostedZone.Id)
	rs := rrset("w.xml.test", "A", 120, "192.0.2.5")
	rs.SetIdentifier, rs.Weight = aws.String("w1"), aws.Int64(10)
	// Route 53 writes a wildcard's star in octal.
	ci := change(t, c, id, types.ChangeActionCreate, rs, rrset(`\052.xml.test`, "TXT", 60, `"wild"`))
	var z zones.Zone
	s.v1(t, "GET", "/v1/zones/"+id, nil, 200, &z)
	if z.Name != "xml.test." || z.CallerReference != "x-1" || z.Comment != "made by "+t.Name() || z.RecordSetCount != 4 {
		t.Errorf("/v1 zone %+v", z)
	}
	var page zones.RecordSetPage
	s.v1(t, "GET", "/v1/zones/"+id+"/rrsets?name=w.xml.test&type=A", nil, 200, &page)
	if len(page.RecordSets) != 1 || page.RecordSets[0].SetIdentifier != "w1" || *page.RecordSets[0].Weight != 10 ||
		page.RecordSets[0].Values[0] != "192.0.2.5" {
		t.Errorf("/v1 rrsets %+v", page)
	}
	s.v1(t, "GET", "/v1/zones/"+id+"/rrsets?name=*.xml.test&type=TXT&maxItems=1", nil, 200, &page)
	if len(page.RecordSets) != 1 || page.RecordSets[0].Name != "*.xml.test." {
		t.Errorf("/v1 wildcard %+v", page)
	}
	waitInsync(t, c, ci)
	if txt, _ := s.dig(t, "anything.xml.test", dns.TypeTXT); !reflect.DeepEqual(txt, []string{`"wild"`}) {
		t.Errorf("dig the wildcard: %v", txt)
	}
	var chg struct{ ChangeInfo zones.ChangeInfo }
	s.v1(t, "GET", "/v1/changes/"+strings.TrimPrefix(aws.ToString(ci.Id), "/change/"), nil, 200, &chg)
	if chg.ChangeInfo.ID == "" {
		t.Errorf("/v1 change %+v", chg)
	}
	if _, err := c.ChangeTagsForResource(ctx, &awsr53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone,
		ResourceId: aws.String(id), AddTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("dns")}}}); err != nil {
		t.Fatal(err)
	}
	s.v1(t, "GET", "/v1/zones/"+id, nil, 200, &z)
	if z.Tags["team"] != "dns" {
		t.Errorf("/v1 zone tags %v after ChangeTagsForResource", z.Tags)
	}

	// Route 53 writes are in /v1's audit log, in /v1's terms.
	var audit struct{ Entries []zones.AuditEntry }
	s.v1(t, "GET", "/v1/audit", nil, 200, &audit)
	found := false
	for _, e := range audit.Entries {
		if e.Route == "route53:ChangeResourceRecordSets" {
			found = true
			if e.Who != testKeyName || e.Status != 200 || e.Resource != id || "/change/"+e.ChangeID != aws.ToString(ci.Id) ||
				!strings.Contains(string(e.Request), `"setIdentifier":"w1"`) {
				t.Errorf("audit entry %+v (request %s)", e, e.Request)
			}
		}
	}
	if !found {
		t.Errorf("no audit entry for ChangeResourceRecordSets in %+v", audit.Entries)
	}

	// /v1 -> Route 53.
	var created struct {
		zones.Zone
		ChangeInfo zones.ChangeInfo `json:"changeInfo"`
	}
	s.v1(t, "POST", "/v1/zones", zones.CreateZoneRequest{Name: "json.test", CallerReference: "j-1", Comment: "from v1",
		Tags: map[string]string{"env": "test"}}, 201, &created)
	s.v1(t, "POST", "/v1/zones/"+created.ID+"/rrsets", zones.ChangeBatch{Changes: []zones.Change{{Action: "CREATE",
		RecordSet: zones.RecordSet{Name: "p.json.test", Type: "A", TTL: aws.Int64(60), Values: []string{"192.0.2.7"}, SetIdentifier: "p", Failover: "PRIMARY"}}}}, 200, nil)
	g, err := c.GetHostedZone(ctx, &awsr53.GetHostedZoneInput{Id: aws.String(created.ID)})
	if err != nil || aws.ToString(g.HostedZone.Name) != "json.test." || aws.ToString(g.HostedZone.Config.Comment) != "from v1" ||
		aws.ToString(g.HostedZone.CallerReference) != "j-1" {
		t.Fatalf("GetHostedZone of a /v1 zone: %+v, %v", g, err)
	}
	l, err := c.ListResourceRecordSets(ctx, &awsr53.ListResourceRecordSetsInput{HostedZoneId: aws.String(created.ID), StartRecordName: aws.String("p.json.test")})
	if err != nil || len(l.ResourceRecordSets) != 1 || l.ResourceRecordSets[0].Failover != types.ResourceRecordSetFailoverPrimary ||
		aws.ToString(l.ResourceRecordSets[0].SetIdentifier) != "p" {
		t.Fatalf("ListResourceRecordSets of a /v1 zone: %+v, %v", l, err)
	}
	tags, err := c.ListTagsForResource(ctx, &awsr53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(created.ID)})
	if err != nil || len(tags.ResourceTagSet.Tags) != 1 || aws.ToString(tags.ResourceTagSet.Tags[0].Key) != "env" {
		t.Errorf("tags of a /v1 zone created with tags: %+v, %v", tags, err)
	}
	// A /v1 change is a Route 53 change.
	var v1chg struct {
		ChangeInfo zones.ChangeInfo `json:"changeInfo"`
	}
	s.v1(t, "POST", "/v1/zones/"+created.ID+"/rrsets", zones.ChangeBatch{Changes: []zones.Change{{Action: "DELETE",
		RecordSet: zones.RecordSet{Name: "p.json.test", Type: "A", TTL: aws.Int64(60), Values: []string{"192.0.2.7"}, SetIdentifier: "p", Failover: "PRIMARY"}}}}, 200, &v1chg)
	waitInsync(t, c, &types.ChangeInfo{Id: aws.String(v1chg.ChangeInfo.ID)})
	// Deleted through Route 53, gone from /v1.
	if _, err := c.DeleteHostedZone(ctx, &awsr53.DeleteHostedZoneInput{Id: aws.String(created.ID)}); err != nil {
		t.Fatal(err)
	}
	s.v1(t, "GET", "/v1/zones/"+created.ID, nil, 404, nil)
}

func TestSDKTags(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)
	id := zoneID(t, createZone(t, c, "tags.test", "t-1").HostedZone.Id)
	if _, err := c.ChangeTagsForResource(ctx, &awsr53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(id),
		AddTags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChangeTagsForResource(ctx, &awsr53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(id),
		RemoveTagKeys: []string{"a"}, AddTags: []types.Tag{{Key: aws.String("c"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(ctx, &awsr53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.ResourceTagSet.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if !reflect.DeepEqual(got, map[string]string{"b": "2", "c": "3"}) || out.ResourceTagSet.ResourceType != types.TagResourceTypeHostedzone ||
		aws.ToString(out.ResourceTagSet.ResourceId) != id {
		t.Errorf("ListTagsForResource: %+v", out.ResourceTagSet)
	}
	_, err = c.ListTagsForResource(ctx, &awsr53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String("Z" + strings.Repeat("6", 20))})
	wantCode(t, err, "NoSuchHostedZone", 404)
	_, err = c.ChangeTagsForResource(ctx, &awsr53.ChangeTagsForResourceInput{ResourceType: "volume", ResourceId: aws.String(id),
		RemoveTagKeys: []string{"x"}})
	wantCode(t, err, "InvalidInput", 400)
}

func TestSDKTestDNSAnswer(t *testing.T) {
	s := startStack(t, stackOptions{})
	c := s.sdk(t)
	ctx := ctxT(t)
	id := zoneID(t, createZone(t, c, "answer.test", "a-1").HostedZone.Id)
	waitInsync(t, c, change(t, c, id, types.ChangeActionCreate, rrset("www.answer.test", "A", 60, "192.0.2.1", "192.0.2.2")))

	out, err := c.TestDNSAnswer(ctx, &awsr53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("WWW.answer.test"),
		RecordType: types.RRTypeA, ResolverIP: aws.String("198.51.100.1"), EDNS0ClientSubnetIP: aws.String("203.0.113.9")})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out.RecordData)
	if !reflect.DeepEqual(out.RecordData, []string{"192.0.2.1", "192.0.2.2"}) || aws.ToString(out.ResponseCode) != "NOERROR" ||
		aws.ToString(out.Protocol) != "UDP" || aws.ToString(out.Nameserver) != "ns1.example.net." {
		t.Errorf("TestDNSAnswer: %+v", out)
	}
	if a, _ := s.dig(t, "www.answer.test", dns.TypeA); !reflect.DeepEqual(a, out.RecordData) {
		t.Errorf("dig says %v, TestDNSAnswer %v", a, out.RecordData)
	}
	out, err = c.TestDNSAnswer(ctx, &awsr53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("none.answer.test"), RecordType: types.RRTypeA})
	if err != nil || aws.ToString(out.ResponseCode) != "NXDOMAIN" || len(out.RecordData) != 0 {
		t.Errorf("TestDNSAnswer of a missing name: %+v, %v", out, err)
	}
	_, err = c.TestDNSAnswer(ctx, &awsr53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("www.answer.test"),
		RecordType: types.RRTypeA, ResolverIP: aws.String("not-an-ip")})
	wantCode(t, err, "InvalidInput", 400)
	_, err = c.TestDNSAnswer(ctx, &awsr53.TestDNSAnswerInput{HostedZoneId: aws.String("Z" + strings.Repeat("5", 20)), RecordName: aws.String("x.test"), RecordType: types.RRTypeA})
	wantCode(t, err, "NoSuchHostedZone", 404)

	// A server without the DNS responder's table says so plainly.
	off := startStack(t, stackOptions{noAnswerer: true})
	_, err = off.sdk(t).TestDNSAnswer(ctx, &awsr53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("answer.test"), RecordType: types.RRTypeSoa})
	wantCode(t, err, "NotImplemented", http.StatusNotImplemented)
}

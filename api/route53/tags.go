package route53

import (
	"sort"

	"github.com/healthdns/healthdns/zones"
)

// tagResource returns the bare id of a tag request's resource, checking its
// type.
func tagResource(c *call) (string, string, error) {
	typ, id := c.params[0], c.params[1]
	switch typ {
	case ResourceHostedZone:
		return typ, bareID(id, ResourceHostedZone), nil
	case ResourceHealthCheck:
		return typ, bareID(id, ResourceHealthCheck), nil
	}
	return "", "", invalidInput("ResourceType %q: want hostedzone or healthcheck", clip(typ))
}

func (h *Handler) changeTagsForResource(c *call) error {
	typ, id, err := tagResource(c)
	if err != nil {
		return err
	}
	var in changeTagsForResourceRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if len(in.AddTags) == 0 && len(in.RemoveTagKeys) == 0 {
		return invalidInput("AddTags, RemoveTagKeys: give at least one of them")
	}
	add := make(map[string]string, len(in.AddTags))
	for i, t := range in.AddTags {
		if t.Key == "" {
			return invalidInput("AddTags.Tag[%d].Key: required", i+1)
		}
		if _, dup := add[t.Key]; dup {
			return invalidInput("AddTags: key %q is given twice", clip(t.Key))
		}
		add[t.Key] = t.Value
	}
	if h.tags == nil {
		return notImplemented("ChangeTagsForResource: this server keeps no tags store")
	}
	if err := h.tags.ChangeResourceTags(c.ctx(), typ, id, add, in.RemoveTagKeys); err != nil {
		return err
	}
	h.audit(c, "tags changed", "resourceType", typ, "resource", id, "added", len(add), "removed", len(in.RemoveTagKeys))
	return h.ok(c, changeTagsForResourceResponse{})
}

func (h *Handler) listTagsForResource(c *call) error {
	typ, id, err := tagResource(c)
	if err != nil {
		return err
	}
	var tags map[string]string
	switch {
	case h.tags != nil:
		tags, err = h.tags.ResourceTags(c.ctx(), typ, id)
	case typ == ResourceHostedZone:
		// Without a tags store a zone still has the tags it was created
		// with (POST /v1/zones takes them).
		var z zones.Zone
		z, err = h.store.GetZone(c.ctx(), id)
		tags = z.Tags
	default:
		if h.o.HealthChecks == nil {
			return notImplemented("ListTagsForResource: this server serves no health checks")
		}
		_, err = h.o.HealthChecks.GetHealthCheck(c.ctx(), id)
	}
	if err != nil {
		return err
	}
	var out listTagsForResourceResponse
	out.ResourceTagSet.ResourceType, out.ResourceTagSet.ResourceID = typ, id
	out.ResourceTagSet.Tags = []xmlTag{}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.ResourceTagSet.Tags = append(out.ResourceTagSet.Tags, xmlTag{Key: k, Value: tags[k]})
	}
	return h.ok(c, out)
}

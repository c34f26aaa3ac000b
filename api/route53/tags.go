package route53

import (
	"sort"
)

// tagResource returns the type and bare id of a tag request's resource.
func tagResource(c *call) (string, string, error) {
	typ, id := c.params[0], c.params[1]
	switch typ {
	case ResourceHostedZone:
		return typ, bareID(id, ResourceHostedZone), nil
	case ResourceHealthCheck:
		id, err := healthCheckID(bareID(id, ResourceHealthCheck))
		return typ, id, err
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
		if _, dup := add[t.Key]; dup {
			return invalidInput("AddTags.Tag[%d]: key %q is given twice", i+1, clip(t.Key))
		}
		add[t.Key] = t.Value
	}
	c.resource = id
	c.auditReq = map[string]any{"resourceType": typ, "addTags": add, "removeTagKeys": in.RemoveTagKeys}
	switch {
	case typ == ResourceHostedZone && h.zoneTag != nil:
		_, err = h.zoneTag.ChangeZoneTags(c.ctx(), id, add, in.RemoveTagKeys)
	case typ == ResourceHealthCheck && h.hcTags != nil:
		err = h.hcTags.ChangeHealthCheckTags(c.ctx(), id, add, in.RemoveTagKeys)
	default:
		return notImplemented("ChangeTagsForResource: this server keeps no tags of %s resources", typ)
	}
	if err != nil {
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
	case typ == ResourceHostedZone:
		z, err := h.store.GetZone(c.ctx(), id)
		if err != nil {
			return err
		}
		tags = z.Tags
	case h.hcTags != nil:
		if tags, err = h.hcTags.HealthCheckTags(c.ctx(), id); err != nil {
			return err
		}
	default:
		// No tags store: the check exists (or not) and has no tags.
		hcs, err := h.healthChecks()
		if err != nil {
			return err
		}
		if _, err := hcs.GetHealthCheck(c.ctx(), id); err != nil {
			return err
		}
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

package aws

import (
	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// v3's mergeCustomProviderResources and stripNullPropsFromTemplateResources:
// the user's `resources` block is deep-merged (lodash _.merge) onto the
// compiled template, then `resources.extensions` patches compiled
// resources, then null properties are dropped.
func init() {
	registerFinal(orderResources, mergeResources)
	registerFinal(orderStripNulls, stripNulls)
}

func mergeResources(c *Context) {
	res := c.Svc.Root.Get("resources")
	if res == nil || res.Kind == config.Null {
		return
	}
	if res.Kind == config.Seq {
		// Legacy array form: v3's mergeArrays folds the entries together first.
		var merged any = map[string]any{}
		for _, it := range res.Items {
			if it.Kind == config.Map {
				merged = cfn.Merge(merged, it.Interface())
			} else if it.Truthy() {
				c.Diags.Errorf(it.Pos, "resources", "Non-object value specified in resources array: %s", it.Scalar0())
			}
		}
		res = config.FromInterface(merged, res.Pos)
	}
	if res.Kind != config.Map {
		return
	}
	t := c.Template
	tm := map[string]any{
		"AWSTemplateFormatVersion": t.AWSTemplateFormatVersion,
		"Description":              t.Description,
		"Resources":                t.Resources,
		"Outputs":                  t.Outputs,
	}
	for k, v := range map[string]map[string]any{"Metadata": t.Metadata, "Parameters": t.Parameters,
		"Mappings": t.Mappings, "Conditions": t.Conditions, "Rules": t.Rules} {
		if v != nil {
			tm[k] = v
		}
	}
	if t.Transform != nil {
		tm["Transform"] = t.Transform
	}
	var extensions *config.Node
	for _, p := range res.Pairs {
		if p.Key == "extensions" {
			extensions = p.Value
			continue
		}
		if cur, ok := tm[p.Key]; ok {
			tm[p.Key] = cfn.Merge(cur, p.Value.Interface())
		} else {
			tm[p.Key] = cfn.Merge(nil, p.Value.Interface())
		}
	}
	if s, ok := tm["AWSTemplateFormatVersion"].(string); ok {
		t.AWSTemplateFormatVersion = s
	}
	if s, ok := tm["Description"].(string); ok {
		t.Description = s
	}
	asMap := func(k string) map[string]any { m, _ := tm[k].(map[string]any); return m }
	if m := asMap("Resources"); m != nil {
		t.Resources = m
	}
	if m := asMap("Outputs"); m != nil {
		t.Outputs = m
	}
	t.Metadata, t.Parameters, t.Mappings = asMap("Metadata"), asMap("Parameters"), asMap("Mappings")
	t.Conditions, t.Rules = asMap("Conditions"), asMap("Rules")
	t.Transform = tm["Transform"]

	if extensions != nil {
		applyExtensions(c, extensions)
	}
}

// applyExtensions patches compiled resources with resources.extensions:
// Properties and Metadata are shallow-assigned, DependsOn appended, the
// policies replaced; other attributes are refused as v3 refuses them.
func applyExtensions(c *Context, ext *config.Node) {
	for _, rp := range ext.Pairs {
		for _, ap := range rp.Value.Entries() {
			path := "resources.extensions." + rp.Key + "." + ap.Key
			r := c.Template.Resource(rp.Key)
			if r == nil {
				c.Diags.Errorf(rp.KeyPos, "resources.extensions."+rp.Key,
					"Cannot extend %q resource, as it's not found in generated stack", rp.Key)
				break
			}
			v := ap.Value.Interface()
			switch ap.Key {
			case "Condition", "CreationPolicy", "DeletionPolicy", "UpdatePolicy", "UpdateReplacePolicy":
				r[ap.Key] = v
			case "Properties", "Metadata":
				m, _ := r[ap.Key].(map[string]any)
				if m == nil {
					m = map[string]any{}
					r[ap.Key] = m
				}
				if src, ok := v.(map[string]any); ok {
					for k, e := range src {
						m[k] = e
					}
				}
			case "DependsOn":
				var list []any
				switch d := r["DependsOn"].(type) {
				case []any:
					list = d
				case string:
					list = []any{d}
				}
				if add, ok := v.([]any); ok {
					list = append(list, add...)
				}
				r["DependsOn"] = list
			default:
				c.Diags.Errorf(ap.KeyPos, path,
					"Cannot extend %q resource, as extending the %q attribute at this point is not supported", rp.Key, ap.Key)
			}
		}
	}
}

func stripNulls(c *Context) {
	for _, r := range c.Template.Resources {
		res, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if props, ok := res["Properties"]; ok && props != nil {
			cfn.StripNulls(props)
		} else {
			delete(res, "Properties")
		}
	}
}

package aws

import (
	"github.com/nimbusfw/nimbus/internal/config"
)

// API keys and usage plans: provider.apiGateway.apiKeys is a list of key
// names, key objects, or {planName: [keys…]} groups when
// provider.apiGateway.usagePlan is a list of named plans.

// restKeyGroupName is Object.keys(definition)[0]: a map's first key, or "0"
// for a non-empty string (JavaScript enumerates a string's indexes).
func restKeyGroupName(def *config.Node) string {
	switch def.Kind {
	case config.Map:
		if len(def.Pairs) > 0 {
			return def.Pairs[0].Key
		}
	case config.String:
		if s, _ := def.Str(); s != "" {
			return "0"
		}
	}
	return ""
}

// usagePlanNames are the names of a list-form usagePlan.
func (rc *restCompiler) listUsagePlanNames() []string {
	up := rc.apiConfig.Get("usagePlan")
	if up == nil || up.Kind != config.Seq {
		return nil
	}
	var out []string
	for _, it := range apiItems(up) {
		out = append(out, it.Keys()...)
	}
	return out
}

func (rc *restCompiler) apiKeyResource(key *config.Node) map[string]any {
	props := map[string]any{
		"Enabled": true,
		"StageKeys": []any{map[string]any{
			"RestApiId": rc.restAPIID(),
			"StageName": rc.c.Svc.Stage,
		}},
	}
	if s, ok := key.Str(); ok {
		props["Name"] = s
	} else if key.Kind == config.Map {
		if n := key.Get("name"); n != nil {
			props["Name"] = n.Interface()
		}
		if v := key.Get("value"); v.Truthy() {
			props["Value"] = v.Interface()
		}
		if d := key.Get("description"); d != nil {
			props["Description"] = d.Interface()
		}
		if cid := key.Get("customerId"); cid != nil {
			props["CustomerId"] = cid.Interface()
		}
		if en := key.Get("enabled"); en != nil && en.Kind != config.Null {
			props["Enabled"] = en.Interface()
		}
	}
	return map[string]any{
		"Type":       "AWS::ApiGateway::ApiKey",
		"Properties": props,
		"DependsOn":  rc.deploymentID,
	}
}

func (rc *restCompiler) compileAPIKeys() {
	keys := rc.apiConfig.Get("apiKeys")
	if keys == nil || keys.Kind != config.Seq {
		return
	}
	plans := rc.listUsagePlanNames()
	n := 0
	for _, def := range keys.Items {
		group := restKeyGroupName(def)
		if def.Kind == config.Map && apiItems(rc.apiConfig.Get("usagePlan")) != nil && apiContains(plans, group) {
			n = 0
			for _, k := range apiItems(def.Get(group)) {
				n++
				rc.c.Template.Resources[APIKeyLogicalID(n, group)] = rc.apiKeyResource(k)
			}
			continue
		}
		n++
		rc.c.Template.Resources[APIKeyLogicalID(n, "")] = rc.apiKeyResource(def)
	}
}

func (rc *restCompiler) usagePlanResource(name string) map[string]any {
	svc, stage := rc.c.Svc.Name, rc.c.Svc.Stage
	props := map[string]any{
		"ApiStages":     []any{map[string]any{"ApiId": rc.restAPIID(), "Stage": stage}},
		"Description":   `Usage plan "` + name + `" for ` + svc + " " + stage + " stage",
		"UsagePlanName": svc + "-" + name + "-" + stage,
	}
	up := rc.apiConfig.Get("usagePlan")
	var quota, throttle *config.Node
	if name == "default" {
		props["UsagePlanName"] = svc + "-" + stage
		props["Description"] = "Usage plan for " + svc + " " + stage + " stage"
		if up != nil && up.Kind == config.Map {
			quota, throttle = up.Get("quota"), up.Get("throttle")
		}
	} else {
		// the last plan entry with that name wins, as v3's reduce does
		for _, it := range apiItems(up) {
			if p := it.Get(name); p.Truthy() {
				if q := p.Get("quota"); q.Truthy() {
					quota = q
				}
				if t := p.Get("throttle"); t.Truthy() {
					throttle = t
				}
			}
		}
	}
	if quota.Truthy() && apiHasEntries(quota) {
		q := map[string]any{}
		apiSetIfPresent(q, "Limit", quota.Get("limit"))
		apiSetIfPresent(q, "Offset", quota.Get("offset"))
		apiSetIfPresent(q, "Period", quota.Get("period"))
		props["Quota"] = q
	}
	if throttle.Truthy() && apiHasEntries(throttle) {
		t := map[string]any{}
		apiSetIfPresent(t, "BurstLimit", throttle.Get("burstLimit"))
		apiSetIfPresent(t, "RateLimit", throttle.Get("rateLimit"))
		props["Throttle"] = t
	}
	return map[string]any{
		"Type":       "AWS::ApiGateway::UsagePlan",
		"DependsOn":  rc.deploymentID,
		"Properties": props,
	}
}

func apiSetIfPresent(m map[string]any, key string, n *config.Node) {
	if n != nil {
		m[key] = n.Interface()
	}
}

func (rc *restCompiler) compileUsagePlans() {
	up := rc.apiConfig.Get("usagePlan")
	keys := rc.apiConfig.Get("apiKeys")
	if !up.Truthy() && !keys.Truthy() {
		return
	}
	if up != nil && up.Kind == config.Seq {
		for _, it := range apiItems(up) {
			name := restKeyGroupName(it)
			rc.c.Template.Resources[UsagePlanLogicalID(name)] = rc.usagePlanResource(name)
			rc.usagePlanNames = append(rc.usagePlanNames, name)
		}
		return
	}
	rc.c.Template.Resources[UsagePlanLogicalID("")] = rc.usagePlanResource("default")
	rc.usagePlanNames = append(rc.usagePlanNames, "default")
}

func (rc *restCompiler) compileUsagePlanKeys() {
	keys := rc.apiConfig.Get("apiKeys")
	if keys == nil || keys.Kind != config.Seq {
		return
	}
	planKey := func(n int, group, plan string) map[string]any {
		return map[string]any{
			"Type": "AWS::ApiGateway::UsagePlanKey",
			"Properties": map[string]any{
				"KeyId":       map[string]any{"Ref": APIKeyLogicalID(n, group)},
				"KeyType":     "API_KEY",
				"UsagePlanId": map[string]any{"Ref": UsagePlanLogicalID(plan)},
			},
		}
	}
	n := 0
	for _, def := range keys.Items {
		group := restKeyGroupName(def)
		inPlans := apiContains(rc.usagePlanNames, group)
		if len(rc.usagePlanNames) > 0 && !inPlans && def.Kind == config.Map && len(def.Pairs) > 0 && (def.Pairs[0].Value.Kind == config.Map || def.Pairs[0].Value.Kind == config.Seq) {
			rc.errorf(def.Pos, "provider.apiGateway.apiKeys", "API key %q has no usage plan defined", group)
			return
		}
		if def.Kind == config.Map && inPlans {
			n = 0
			for range apiItems(def.Get(group)) {
				n++
				rc.c.Template.Resources[UsagePlanKeyLogicalID(n, group)] = planKey(n, group, group)
			}
			continue
		}
		n++
		rc.c.Template.Resources[UsagePlanKeyLogicalID(n, "")] = planKey(n, "", "")
	}
}

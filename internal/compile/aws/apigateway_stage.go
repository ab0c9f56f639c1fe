package aws

import (
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// serverless v3 does not put the REST API stage in the template: after a
// deploy it patches the stage through the API Gateway SDK (tracing,
// metrics, execution and access logging, tags) and deletes the access-log
// group when access logging is off (api-gateway/lib/hack/update-stage.js).
// RestAPIStageUpdateOf computes that plan from the config alone so the
// deploy stage only has to look up the API id and send it.

// StagePatchOperation is one API Gateway UpdateStage patch operation.
type StagePatchOperation struct {
	Op, Path, Value string
}

// RestAPIStageUpdate is what v3 applies to the REST API stage after deploy.
type RestAPIStageUpdate struct {
	// StageName is provider.apiGateway.stage, else the stage.
	StageName string
	// Patch goes to UpdateStage (empty: no call).
	Patch []StagePatchOperation
	// TagsConfigured says whether stage tags are managed at all; Tags are
	// provider.stackTags overlaid with provider.tags, values as strings.
	TagsConfigured bool
	Tags           map[string]string
	// TagResourceArn is the stage ARN tags are applied to (v3 names it with
	// the CLI stage, not apiGateway.stage).
	TagResourceArn string
	// DeleteLogGroup names the access-log group to delete (ignoring
	// failures) because access logging is off; "" when it stays.
	DeleteLogGroup string
}

const restDefaultAccessLogFormat = "requestId: $context.requestId, ip: $context.identity.sourceIp, caller: $context.identity.caller, user: $context.identity.user, requestTime: $context.requestTime, httpMethod: $context.httpMethod, resourcePath: $context.resourcePath, status: $context.status, protocol: $context.protocol, responseLength: $context.responseLength"

// RestAPIStageUpdateOf returns the post-deploy stage update for a service,
// or false when v3 would do nothing: no tracing, logs, tags or metrics
// configured, or the REST API is external (provider.apiGateway.restApiId).
// restAPIID is the deployed API's id (v3 looks it up by name); partition
// and accountID come from the caller identity.
func RestAPIStageUpdateOf(svc *service.Service, restAPIID, partition, accountID string) (*RestAPIStageUpdate, bool) {
	prov := svc.Provider.Raw
	apiGateway := prov.Get("apiGateway")
	tracing := prov.Get("tracing").Get("apiGateway")
	metrics := apiGateway.Get("metrics")
	logs := prov.Get("logs").Get("restApi")
	set := func(n *config.Node) bool { return n != nil && n.Kind != config.Null }
	tagsConfigured := set(prov.Get("tags")) || set(prov.Get("stackTags"))
	if !set(tracing) && !set(logs) && !tagsConfigured && !set(metrics) {
		return nil, false
	}
	if apiGateway.Get("restApiId").Truthy() {
		return nil, false
	}
	stage := svc.Stage
	if s := apiGateway.Get("stage"); s.Truthy() {
		stage = s.Scalar()
	}
	u := &RestAPIStageUpdate{StageName: stage, TagsConfigured: tagsConfigured}
	if set(tracing) {
		u.Patch = append(u.Patch, StagePatchOperation{"replace", "/tracingEnabled", boolString(tracing.Truthy())})
	}
	if set(metrics) {
		u.Patch = append(u.Patch, StagePatchOperation{"replace", "/*/*/metrics/enabled", boolString(metrics.Truthy())})
	}
	logGroup := "/aws/api-gateway/" + svc.Name + "-" + stage
	accessLogging := false
	if set(logs) {
		if !logs.Truthy() {
			u.Patch = append(u.Patch,
				StagePatchOperation{"replace", "/*/*/logging/dataTrace", "false"},
				StagePatchOperation{"replace", "/*/*/logging/loglevel", "OFF"})
		} else {
			flag := func(key string) bool {
				n := logs.Get(key)
				return !set(n) || n.Truthy()
			}
			level := "INFO"
			if !flag("executionLogging") {
				level = "OFF"
			} else if l := logs.Get("level"); l.Truthy() {
				level = l.Scalar()
			}
			accessLogging = flag("accessLogging")
			if accessLogging {
				format := restDefaultAccessLogFormat
				if f := logs.Get("format"); f.Truthy() {
					format = f.Scalar()
				}
				u.Patch = append(u.Patch,
					StagePatchOperation{"replace", "/accessLogSettings/destinationArn",
						"arn:" + partition + ":logs:" + svc.Region + ":" + accountID + ":log-group:" + logGroup},
					StagePatchOperation{"replace", "/accessLogSettings/format", format})
			} else {
				u.Patch = append(u.Patch, StagePatchOperation{Op: "remove", Path: "/accessLogSettings"})
			}
			u.Patch = append(u.Patch,
				StagePatchOperation{"replace", "/*/*/logging/dataTrace", boolString(flag("fullExecutionData"))},
				StagePatchOperation{"replace", "/*/*/logging/loglevel", level})
		}
	}
	if !accessLogging {
		u.DeleteLogGroup = logGroup
	}
	if tagsConfigured {
		u.Tags = map[string]string{}
		for _, key := range []string{"stackTags", "tags"} {
			for _, p := range apiPairs(prov.Get(key)) {
				u.Tags[p.Key] = p.Value.Scalar()
			}
		}
		u.TagResourceArn = "arn:" + partition + ":apigateway:" + svc.Region + "::/restapis/" + restAPIID + "/stages/" + svc.Stage
	}
	return u, true
}

// StageTagChanges compares the stage's current tags with the wanted ones
// the way v3 does: keys to remove (never aws: ones), and the full wanted set
// to apply when anything differs (nil when nothing to tag).
func StageTagChanges(current, wanted map[string]string) (apply map[string]string, remove []string) {
	for k := range current {
		if _, keep := wanted[k]; !keep && !strings.HasPrefix(k, "aws:") {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	same := len(current) == len(wanted)
	for k, v := range wanted {
		if cv, ok := current[k]; !ok || cv != v {
			same = false
		}
	}
	if !same && len(wanted) > 0 {
		apply = wanted
	}
	return apply, remove
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// sqs events: one AWS::Lambda::EventSourceMapping per queue and function,
// plus read permissions on the default execution role (v3 events/sqs.js).

func init() { registerEvent(orderSQS, compileSQS, "sqs") }

func compileSQS(c *Context) {
	var queueArns []any
	for _, fe := range c.EventsOf("sqs") {
		f, v := fe.Function, fe.Event.Value
		arn := v
		batchSize := any(int64(10))
		enabled := any(true)
		if v != nil && v.Kind == config.Map {
			arn = v.Get("arn")
			if b := v.Get("batchSize"); b.Truthy() {
				batchSize = eventValue(b)
			}
			if e := v.Get("enabled"); e != nil {
				enabled = eventValue(e)
			}
		}
		queueName, ok := eventSourceName(arn, ":", "")
		if !ok {
			c.Diags.Errorf(eventPos(fe, "arn"), eventPath(fe),
				"cannot tell the queue name from this ARN: use an ARN string, Fn::GetAtt, Fn::ImportValue or Fn::Join")
			continue
		}
		dependsOn := []any{}
		if role := functionRoleResourceName(c.Svc, f); role != "" {
			dependsOn = append(dependsOn, role)
		}
		if _, alias := eventTargetAlias(f); alias != "" {
			dependsOn = append(dependsOn, alias)
		}
		props := map[string]any{
			"BatchSize":      batchSize,
			"EventSourceArn": eventValue(arn),
			"FunctionName":   lambdaTarget(f),
			"Enabled":        enabled,
		}
		if w := v.Get("maximumBatchingWindow"); w != nil && w.Kind != config.Null {
			props["MaximumBatchingWindowInSeconds"] = eventValue(w)
		}
		if rt := v.Get("functionResponseType"); rt != nil && rt.Kind != config.Null {
			props["FunctionResponseTypes"] = []any{eventValue(rt)}
		}
		if fc := filterCriteria(v.Get("filterPatterns")); fc != nil {
			props["FilterCriteria"] = fc
		}
		if mc := v.Get("maximumConcurrency"); mc.Truthy() {
			props["ScalingConfig"] = map[string]any{"MaximumConcurrency": eventValue(mc)}
		}
		queueArns = append(queueArns, eventValue(arn))
		mergeEventResources(c.Template, map[string]any{
			QueueLogicalID(f.Key, queueName): map[string]any{
				"Type":       "AWS::Lambda::EventSourceMapping",
				"DependsOn":  dependsOn,
				"Properties": props,
			},
		})
	}
	if len(queueArns) > 0 {
		addExecutionRoleStatements(c.Template, map[string]any{
			"Effect":   "Allow",
			"Action":   []any{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
			"Resource": queueArns,
		})
	}
}

// eventSourceName derives the name v3 puts into an event source mapping's
// logical ID: the resource of Fn::GetAtt, the export of Fn::ImportValue,
// the last part of Fn::Join (cut at joinSep when set), or the part of an
// ARN string after the last sep. ok is false where v3 would crash.
func eventSourceName(arn *config.Node, sep, joinSep string) (string, bool) {
	if arn == nil {
		return "", false
	}
	if s, ok := arn.Str(); ok {
		parts := strings.Split(s, sep)
		return parts[len(parts)-1], true
	}
	if arn.Kind != config.Map {
		return "", false
	}
	if ga := arn.Get("Fn::GetAtt"); ga != nil {
		if ga.Kind == config.Seq && len(ga.Items) > 0 {
			return ga.Items[0].Str()
		}
		return "", false
	}
	if iv := arn.Get("Fn::ImportValue"); iv != nil {
		return iv.Str()
	}
	if j := arn.Get("Fn::Join"); j != nil {
		if j.Kind != config.Seq || len(j.Items) < 2 || len(j.Items[1].Items) == 0 {
			return "", false
		}
		parts := j.Items[1].Items
		last, ok := parts[len(parts)-1].Str()
		if ok && joinSep != "" {
			segs := strings.Split(last, joinSep)
			last = segs[len(segs)-1]
		}
		return last, ok
	}
	return "", false
}

// filterCriteria is v3's FilterCriteria: each pattern JSON-stringified.
func filterCriteria(patterns *config.Node) any {
	if patterns == nil || patterns.Kind != config.Seq {
		return nil
	}
	filters := make([]any, 0, len(patterns.Items))
	for _, p := range patterns.Items {
		filters = append(filters, map[string]any{"Pattern": stringifyNode(p)})
	}
	return map[string]any{"Filters": filters}
}

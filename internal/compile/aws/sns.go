package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// sns events: a topic created by the service (SNSTopic<Name>) or an
// existing one by ARN, the subscription (inline on a created topic unless
// it needs a filter or DLQ), the DLQ queue policy and the invoke permission
// (v3 events/sns.js).

func init() { registerEvent(orderSNS, compileSNS, "sns") }

func compileSNS(c *Context) {
	for _, fe := range c.EventsOf("sns") {
		compileSNSEvent(c, fe)
	}
}

func compileSNSEvent(c *Context, fe FunctionEvent) {
	f, v := fe.Function, fe.Event.Value
	var topicArn any
	var topicName, region string
	if v != nil && v.Kind == config.Map {
		if arn := v.Get("arn"); arn.Truthy() {
			topicArn = eventValue(arn)
			if s, ok := arn.Str(); ok {
				parts := splitArnKeepingDoubleColons(s)
				topicName = parts[len(parts)-1]
				if len(parts) > 3 && parts[3] != c.Svc.Options["region"] {
					region = parts[3]
				}
			}
			if tn := v.Get("topicName").Scalar0(); tn != "" {
				topicName = tn
			}
			if topicName == "" {
				explainedError(c, eventPos(fe, "arn"), valuePath(fe, "topicName"),
					"The topic name names the subscription and permission resources; it cannot be read from a CloudFormation function, so set topicName beside arn.",
					`Missing "sns.topicName" setting (it needs to be provided if "sns.arn" is not provided as plain ARN string)`)
				return
			}
		} else {
			topicName = v.Get("topicName").Scalar0()
		}
	} else if s := v.Scalar0(); strings.HasPrefix(s, "arn:") {
		topicArn = s
		parts := strings.Split(s, ":")
		topicName = parts[len(parts)-1]
	} else {
		topicName = s
	}

	var redrivePolicy any
	if rp := v.Get("redrivePolicy"); rp.Truthy() {
		targetArn, targetURL := snsDeadLetterTarget(rp)
		redrivePolicy = map[string]any{"deadLetterTargetArn": targetArn}
		policyID := TopicDLQPolicyLogicalID(f.Key, topicName)
		c.Template.Resources[policyID] = dropUndefined(map[string]any{
			"Type": "AWS::SQS::QueuePolicy",
			"Properties": map[string]any{
				"PolicyDocument": map[string]any{
					"Version": "2012-10-17",
					"Id":      policyID,
					"Statement": []any{map[string]any{
						"Effect":    "Allow",
						"Principal": map[string]any{"Service": "sns.amazonaws.com"},
						"Action":    "sqs:SendMessage",
						"Resource":  targetArn,
						"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": topicArn}},
					}},
				},
				"Queues": []any{targetURL},
			},
		})
	}

	subscriptionID := SNSSubscriptionLogicalID(f.Key, topicName)
	filterPolicy := eventValue(v.Get("filterPolicy"))
	filterPolicyScope := eventValue(v.Get("filterPolicyScope"))
	if topicArn != nil {
		props := map[string]any{
			"TopicArn":          topicArn,
			"Protocol":          "lambda",
			"Endpoint":          lambdaTarget(f),
			"FilterPolicy":      filterPolicy,
			"FilterPolicyScope": filterPolicyScope,
			"RedrivePolicy":     redrivePolicy,
		}
		if region != "" {
			props["Region"] = region
		}
		mergeEventResources(c.Template, map[string]any{subscriptionID: map[string]any{
			"Type":       "AWS::SNS::Subscription",
			"DependsOn":  aliasDependsOn(f),
			"Properties": props,
		}})
	} else {
		topicArn = cfn.Join("", "arn:", cfn.Ref("AWS::Partition"), ":sns:", cfn.Ref("AWS::Region"), ":",
			cfn.Ref("AWS::AccountId"), ":", topicName)
		topicID := TopicLogicalID(topicName)
		if _, exists := c.Template.Resources[topicID]; !exists {
			props := map[string]any{"TopicName": topicName}
			if dn := v.Get("displayName"); dn.Truthy() {
				props["DisplayName"] = eventValue(dn)
			}
			mergeEventResources(c.Template, map[string]any{topicID: map[string]any{
				"Type":       "AWS::SNS::Topic",
				"DependsOn":  aliasDependsOn(f),
				"Properties": props,
			}})
		}
		subscription := map[string]any{"Endpoint": lambdaTarget(f), "Protocol": "lambda"}
		if filterPolicy != nil || redrivePolicy != nil {
			subscription["TopicArn"] = cfn.Ref(topicID)
			subscription["FilterPolicy"] = filterPolicy
			subscription["FilterPolicyScope"] = filterPolicyScope
			subscription["RedrivePolicy"] = redrivePolicy
			mergeEventResources(c.Template, map[string]any{subscriptionID: map[string]any{
				"Type":       "AWS::SNS::Subscription",
				"Properties": subscription,
			}})
		} else {
			topic := c.Template.Resource(topicID)
			props, _ := topic["Properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				topic["Properties"] = props
			}
			subs, _ := props["Subscription"].([]any)
			props["Subscription"] = append(subs, subscription)
		}
	}

	mergeEventResources(c.Template, map[string]any{
		SNSPermissionLogicalID(f.Key, topicName): invokePermission(lambdaTarget(f), "sns.amazonaws.com", topicArn, aliasDependsOn(f)),
	})
}

// splitArnKeepingDoubleColons splits an ARN on single colons only, as v3
// does so that "::" inside a topic ARN stays with its part.
func splitArnKeepingDoubleColons(arn string) []string {
	parts := strings.Split(strings.ReplaceAll(arn, "::", "@@"), ":")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "@@", "::")
	}
	return parts
}

// snsDeadLetterTarget returns the DLQ ARN and URL of a redrivePolicy.
func snsDeadLetterTarget(rp *config.Node) (arn, url any) {
	if s, ok := rp.Get("deadLetterTargetArn").Str(); ok && s != "" {
		parts := strings.Split(s, ":")
		get := func(fromEnd int) string {
			if i := len(parts) - 1 - fromEnd; i >= 0 {
				return parts[i]
			}
			return "undefined"
		}
		name, account, region := get(0), get(1), get(2)
		return s, cfn.Join("", "https://sqs."+region+".", cfn.Ref("AWS::URLSuffix"), "/"+account+"/"+name)
	}
	if ref := rp.Get("deadLetterTargetRef").Scalar0(); ref != "" {
		return cfn.GetAtt(ref, "Arn"), cfn.Ref(ref)
	}
	imp := rp.Get("deadLetterTargetImport")
	return cfn.ImportValue(eventValue(imp.Get("arn"))), cfn.ImportValue(eventValue(imp.Get("url")))
}

package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// msk events: Amazon MSK event source mappings, plus cluster-describe and
// VPC statements on the default execution role (v3 events/msk).

func init() { registerEvent(orderMSK, compileMSK, "msk") }

// mskClusterNameToken is the cluster part of the mapping's logical ID: the
// import name, the Ref, or the name segment of the cluster ARN.
func mskClusterNameToken(arn *config.Node) (string, bool) {
	if s, ok := arn.Str(); ok {
		parts := strings.Split(s, "/")
		if len(parts) < 2 {
			return "", false
		}
		return parts[1], true
	}
	if iv := arn.Get("Fn::ImportValue"); iv != nil {
		return iv.Str()
	}
	if ref := arn.Get("Ref"); ref != nil {
		return ref.Str()
	}
	return "", false
}

func compileMSK(c *Context) {
	for _, f := range c.Svc.Functions {
		var clusters []any
		for _, e := range f.Events {
			if e.Type != "msk" {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			arn := v.Get("arn")
			startingPosition := v.Get("startingPosition").Scalar0()
			if !v.Get("startingPosition").Truthy() {
				startingPosition = "TRIM_HORIZON"
			}
			ts := v.Get("startingPositionTimestamp")
			hasTS := ts != nil && ts.Kind != config.Null
			if startingPosition == "AT_TIMESTAMP" && !hasTS {
				c.Diags.Errorf(eventPos(fe, "startingPosition"), valuePath(fe, "startingPosition"),
					"You must specify startingPositionTimestamp for function: %s when startingPosition is AT_TIMESTAMP.", f.Key)
				continue
			}
			cluster, ok := mskClusterNameToken(arn)
			if !ok {
				c.Diags.Errorf(eventPos(fe, "arn"), valuePath(fe, "arn"),
					"cannot tell the cluster name from this ARN: use an ARN string, Fn::ImportValue or Ref")
				continue
			}
			topic := v.Get("topic")
			props := map[string]any{
				"EventSourceArn":   eventValue(arn),
				"FunctionName":     lambdaTarget(f),
				"StartingPosition": startingPosition,
				"Topics":           []any{eventValue(topic)},
			}
			if hasTS {
				props["StartingPositionTimestamp"] = eventValue(ts)
			}
			if b := v.Get("batchSize"); b.Truthy() {
				props["BatchSize"] = eventValue(b)
			}
			if w := v.Get("maximumBatchingWindow"); w.Truthy() {
				props["MaximumBatchingWindowInSeconds"] = eventValue(w)
			}
			if g := v.Get("consumerGroupId"); g.Truthy() {
				props["AmazonManagedKafkaEventSourceConfig"] = map[string]any{"ConsumerGroupId": eventValue(g)}
			}
			setUnlessNull(props, "Enabled", v.Get("enabled"))
			if s := v.Get("saslScram512"); s != nil && s.Kind != config.Null {
				props["SourceAccessConfigurations"] = []any{map[string]any{"Type": "SASL_SCRAM_512_AUTH", "URI": eventValue(s)}}
			}
			if fc := filterCriteria(v.Get("filterPatterns")); fc != nil {
				props["FilterCriteria"] = fc
			}
			clusters = append(clusters, eventValue(arn))
			c.Template.Resources[MSKEventLogicalID(f.Key, cluster, topic.Scalar())] = map[string]any{
				"Type":       "AWS::Lambda::EventSourceMapping",
				"DependsOn":  brokerMappingDependsOn(c, f),
				"Properties": props,
			}
		}
		if len(clusters) > 0 {
			addExecutionRoleStatements(c.Template,
				map[string]any{"Effect": "Allow", "Action": []any{"kafka:DescribeCluster", "kafka:GetBootstrapBrokers"}, "Resource": clusters},
				vpcAccessStatement())
		}
	}
}

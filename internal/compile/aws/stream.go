package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// stream events: DynamoDB and Kinesis event source mappings, Kinesis
// enhanced fan-out consumers, and per-function read/destination statements
// on the default execution role (v3 events/stream.js).

func init() { registerEvent(orderStream, compileStreams, "stream") }

func compileStreams(c *Context) {
	for _, f := range c.Svc.Functions {
		var dynamo, kinesis, kinesisWithConsumer, consumers, onFailureSNS, onFailureSQS []any
		for _, e := range f.Events {
			if e.Type != "stream" {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			arn := v
			batchSize := any(int64(10))
			startingPosition := any("TRIM_HORIZON")
			enabled := any(true)
			var parallelization any
			isObject := v != nil && v.Kind == config.Map
			if isObject {
				arn = v.Get("arn")
				if b := v.Get("batchSize"); b.Truthy() {
					batchSize = eventValue(b)
				}
				if p := v.Get("parallelizationFactor"); p.Truthy() {
					parallelization = eventValue(p)
				}
				if sp := v.Get("startingPosition"); sp.Truthy() {
					startingPosition = eventValue(sp)
				}
				if en := v.Get("enabled"); en != nil {
					enabled = eventValue(en)
				}
			}
			streamType := v.Get("type").Scalar0()
			if !v.Get("type").Truthy() {
				s, ok := arn.Str()
				parts := strings.Split(s, ":")
				if !ok || len(parts) < 3 {
					c.Diags.Errorf(eventPos(fe, "arn"), eventPath(fe),
						`cannot tell the stream type from this ARN: set "type" to "dynamodb" or "kinesis"`)
					continue
				}
				streamType = parts[2]
			}
			streamName, ok := streamNameOf(arn)
			if !ok {
				c.Diags.Errorf(eventPos(fe, "arn"), eventPath(fe),
					"cannot tell the stream name from this ARN: use an ARN string, Fn::GetAtt, Fn::ImportValue, Ref or Fn::Join")
				continue
			}
			mappingID := StreamLogicalID(f.Key, streamType, streamName)
			dependsOn := []any{}
			if role := functionRoleResourceName(c.Svc, f); role != "" {
				dependsOn = append(dependsOn, role)
			}
			if _, alias := eventTargetAlias(f); alias != "" {
				dependsOn = append(dependsOn, alias)
			}
			props := map[string]any{
				"BatchSize":             batchSize,
				"Enabled":               enabled,
				"EventSourceArn":        eventValue(arn),
				"FunctionName":          lambdaTarget(f),
				"ParallelizationFactor": parallelization,
				"StartingPosition":      startingPosition,
			}
			consumer := v.Get("consumer")
			switch {
			case streamType == "dynamodb":
				dynamo = append(dynamo, eventValue(arn))
			case consumer.Truthy():
				kinesisWithConsumer = append(kinesisWithConsumer, eventValue(arn))
			default:
				kinesis = append(kinesis, eventValue(arn))
			}
			setUnlessNull(props, "MaximumBatchingWindowInSeconds", v.Get("batchWindow"))
			setUnlessNull(props, "MaximumRetryAttempts", v.Get("maximumRetryAttempts"))
			setUnlessNull(props, "BisectBatchOnFunctionError", v.Get("bisectBatchOnFunctionError"))
			if rt := v.Get("functionResponseType"); rt != nil && rt.Kind != config.Null {
				props["FunctionResponseTypes"] = []any{eventValue(rt)}
			}
			if age := v.Get("maximumRecordAgeInSeconds"); age.Truthy() {
				props["MaximumRecordAgeInSeconds"] = eventValue(age)
			}
			setUnlessNull(props, "TumblingWindowInSeconds", v.Get("tumblingWindowInSeconds"))
			if dest := v.Get("destinations"); dest.Truthy() {
				onFailure := dest.Get("onFailure")
				destArn := onFailure
				if onFailure != nil && onFailure.Kind == config.Map {
					destArn = onFailure.Get("arn")
				}
				destType := onFailure.Get("type").Scalar0()
				if !onFailure.Get("type").Truthy() {
					s, ok := destArn.Str()
					parts := strings.Split(s, ":")
					if !ok || len(parts) < 3 {
						c.Diags.Errorf(eventPos(fe, "destinations"), valuePath(fe, "destinations.onFailure"),
							`cannot tell the destination type from this ARN: set "type" to "sns" or "sqs"`)
						continue
					}
					destType = parts[2]
				}
				if destType == "sns" {
					onFailureSNS = append(onFailureSNS, eventValue(destArn))
				} else {
					onFailureSQS = append(onFailureSQS, eventValue(destArn))
				}
				props["DestinationConfig"] = map[string]any{
					"OnFailure": map[string]any{"Destination": eventValue(destArn)},
				}
			}
			if fc := filterCriteria(v.Get("filterPatterns")); fc != nil {
				props["FilterCriteria"] = fc
			}
			resources := map[string]any{}
			if consumer.Truthy() && streamType == "kinesis" {
				if b, ok := consumer.Boolean(); ok && b {
					name := streamConsumerName(c, f.Key, streamName)
					consumerID := StreamConsumerLogicalID(name)
					resources[consumerID] = map[string]any{
						"Type": "AWS::Kinesis::StreamConsumer",
						"Properties": map[string]any{
							"StreamARN":    eventValue(arn),
							"ConsumerName": name,
						},
					}
					dependsOn = append(dependsOn, consumerID)
					props["EventSourceArn"] = map[string]any{"Ref": consumerID}
					consumers = append(consumers, map[string]any{"Ref": consumerID})
				} else {
					props["EventSourceArn"] = eventValue(consumer)
					consumers = append(consumers, eventValue(consumer))
				}
				sp, _ := v.Get("startingPosition").Str()
				ts := v.Get("startingPositionTimestamp")
				if sp == "AT_TIMESTAMP" && !ts.Truthy() {
					c.Diags.Errorf(eventPos(fe, "startingPosition"), valuePath(fe, "startingPosition"),
						"You must specify startingPositionTimestamp for function: %s when startingPosition is AT_TIMESTAMP", f.Key)
					continue
				}
				if ts.Truthy() {
					props["StartingPositionTimestamp"] = eventValue(ts)
				}
			}
			resources[mappingID] = map[string]any{
				"Type":       "AWS::Lambda::EventSourceMapping",
				"DependsOn":  dependsOn,
				"Properties": props,
			}
			mergeEventResources(c.Template, resources)
		}
		readStatement := func(actions []any, resources []any) any {
			return map[string]any{"Effect": "Allow", "Action": actions, "Resource": resources}
		}
		var stmts []any
		if len(dynamo) > 0 {
			stmts = append(stmts, readStatement([]any{"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"}, dynamo))
		}
		if len(kinesis) > 0 {
			stmts = append(stmts, readStatement([]any{"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:ListStreams"}, kinesis))
		}
		if len(kinesisWithConsumer) > 0 {
			stmts = append(stmts, readStatement([]any{"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStreamSummary", "kinesis:ListShards"}, kinesisWithConsumer))
		}
		if len(consumers) > 0 {
			stmts = append(stmts, readStatement([]any{"kinesis:SubscribeToShard"}, consumers))
		}
		if len(onFailureSNS) > 0 {
			stmts = append(stmts, readStatement([]any{"sns:Publish"}, onFailureSNS))
		}
		if len(onFailureSQS) > 0 {
			stmts = append(stmts, readStatement([]any{"sqs:ListQueues", "sqs:SendMessage"}, onFailureSQS))
		}
		if len(stmts) > 0 {
			addExecutionRoleStatements(c.Template, stmts...)
		}
	}
}

// streamNameOf is the stream part of a mapping's logical ID: GetAtt
// resource, import name, Ref, the last "/" part of a Fn::Join's last
// element, or the table/stream name of an ARN string.
func streamNameOf(arn *config.Node) (string, bool) {
	if s, ok := arn.Str(); ok {
		parts := strings.Split(s, "/")
		if len(parts) < 2 {
			return "", false
		}
		return parts[1], true
	}
	if ref := arn.Get("Ref"); ref != nil && !arn.Has("Fn::GetAtt") && !arn.Has("Fn::ImportValue") {
		return ref.Str()
	}
	return eventSourceName(arn, "", "/")
}

// streamConsumerName is v3's getStreamConsumerName.
func streamConsumerName(c *Context, key, stream string) string {
	if c.Svc.Provider.Raw.Get("kinesis").Get("consumerNamingMode").Truthy() {
		return key + stream + c.Svc.Name + c.Svc.Stage + "Consumer"
	}
	return key + stream + "Consumer"
}

// setUnlessNull copies a setting that v3 checks with `!= null`.
func setUnlessNull(props map[string]any, key string, n *config.Node) {
	if n != nil && n.Kind != config.Null {
		props[key] = eventValue(n)
	}
}

package aws

import "github.com/nimbusfw/nimbus/internal/service"

// activemq events: Amazon MQ (ActiveMQ) event source mappings, plus
// secret, broker and VPC statements on the default execution role (v3
// events/activemq.js). rabbitmq.go shares compileMQ.

func init() { registerEvent(orderActiveMQ, compileActiveMQ, "activemq") }

func compileActiveMQ(c *Context) {
	compileMQ(c, "activemq", ActiveMQEventLogicalID, false)
}

// compileMQ compiles activemq or rabbitmq events; RabbitMQ adds a virtual
// host access configuration.
func compileMQ(c *Context, eventType string, logicalID func(key, queue string) string, virtualHost bool) {
	for _, f := range c.Svc.Functions {
		var secrets, brokers []any
		for _, e := range f.Events {
			if e.Type != eventType {
				continue
			}
			compileMQEvent(c, f, e, logicalID, virtualHost)
			secrets = append(secrets, eventValue(e.Value.Get("basicAuthArn")))
			brokers = append(brokers, eventValue(e.Value.Get("arn")))
		}
		if len(brokers) == 0 {
			continue
		}
		addExecutionRoleStatements(c.Template,
			map[string]any{"Effect": "Allow", "Action": []any{"secretsmanager:GetSecretValue"}, "Resource": secrets},
			map[string]any{"Effect": "Allow", "Action": []any{"mq:DescribeBroker"}, "Resource": brokers},
			vpcAccessStatement())
	}
}

func compileMQEvent(c *Context, f *service.Function, e service.Event, logicalID func(key, queue string) string, virtualHost bool) {
	v := e.Value
	queue := v.Get("queue")
	access := []any{map[string]any{"Type": "BASIC_AUTH", "URI": eventValue(v.Get("basicAuthArn"))}}
	if vh := v.Get("virtualHost"); virtualHost && vh.Truthy() {
		access = append(access, map[string]any{"Type": "VIRTUAL_HOST", "URI": eventValue(vh)})
	}
	props := map[string]any{
		"FunctionName":               lambdaTarget(f),
		"EventSourceArn":             eventValue(v.Get("arn")),
		"Queues":                     []any{eventValue(queue)},
		"SourceAccessConfigurations": access,
	}
	if b := v.Get("batchSize"); b.Truthy() {
		props["BatchSize"] = eventValue(b)
	}
	if w := v.Get("maximumBatchingWindow"); w.Truthy() {
		props["MaximumBatchingWindowInSeconds"] = eventValue(w)
	}
	setUnlessNull(props, "Enabled", v.Get("enabled"))
	if fc := filterCriteria(v.Get("filterPatterns")); fc != nil {
		props["FilterCriteria"] = fc
	}
	c.Template.Resources[logicalID(f.Key, queue.Scalar())] = dropUndefined(map[string]any{
		"Type":       "AWS::Lambda::EventSourceMapping",
		"DependsOn":  brokerMappingDependsOn(c, f),
		"Properties": props,
	})
}

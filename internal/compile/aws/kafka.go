package aws

import (
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// kafka events: self-managed Kafka event source mappings with their access
// configurations, plus Secrets Manager and VPC statements on the default
// execution role (v3 events/kafka.js).

func init() { registerEvent(orderKafka, compileKafka, "kafka") }

// kafkaAccessTypes maps accessConfigurations keys to the mapping's Type,
// the URI prefix and whether the value is a secret the role must read.
var kafkaAccessTypes = map[string]struct {
	typ, prefix string
	secret, vpc bool
}{
	"vpcSubnet":                {"VPC_SUBNET", "subnet:", false, true},
	"vpcSecurityGroup":         {"VPC_SECURITY_GROUP", "security_group:", false, true},
	"saslPlainAuth":            {"BASIC_AUTH", "", true, false},
	"saslScram256Auth":         {"SASL_SCRAM_256_AUTH", "", true, false},
	"saslScram512Auth":         {"SASL_SCRAM_512_AUTH", "", true, false},
	"clientCertificateTlsAuth": {"CLIENT_CERTIFICATE_TLS_AUTH", "", true, false},
	"serverRootCaCertificate":  {"SERVER_ROOT_CA_CERTIFICATE", "", true, false},
}

// vpcAccessStatement lets Lambda create the network interfaces it needs to
// reach a broker inside a VPC.
func vpcAccessStatement() map[string]any {
	return map[string]any{
		"Effect": "Allow",
		"Action": []any{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
			"ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"},
		"Resource": "*",
	}
}

// brokerMappingDependsOn is the DependsOn of broker event source mappings:
// the function's in-stack role and its alias, when there are any.
func brokerMappingDependsOn(c *Context, f *service.Function) []any {
	deps := []any{}
	if role := functionRoleResourceName(c.Svc, f); role != "" {
		deps = append(deps, role)
	}
	if _, alias := eventTargetAlias(f); alias != "" {
		deps = append(deps, alias)
	}
	return deps
}

func compileKafka(c *Context) {
	for _, f := range c.Svc.Functions {
		var secrets []any
		hasKafka, needsVPC := false, false
		for _, e := range f.Events {
			if e.Type != "kafka" {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			access := v.Get("accessConfigurations")
			sg, subnet := access.Get("vpcSecurityGroup"), access.Get("vpcSubnet")
			if sg.Truthy() != subnet.Truthy() {
				missing := "vpcSecurityGroup"
				if sg.Truthy() {
					missing = "vpcSubnet"
				}
				c.Diags.Errorf(eventPos(fe, "accessConfigurations"), valuePath(fe, "accessConfigurations"),
					`You must specify at least one "%s" accessConfiguration for function: %s`, missing, f.Key)
				continue
			}
			hasKafka = true
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
			topic := v.Get("topic")
			props := map[string]any{
				"FunctionName":     lambdaTarget(f),
				"StartingPosition": startingPosition,
				"SelfManagedEventSource": map[string]any{
					"Endpoints": map[string]any{"KafkaBootstrapServers": eventValue(v.Get("bootstrapServers"))},
				},
				"Topics": []any{eventValue(topic)},
			}
			accessConfigs := []any{}
			if access != nil {
				for _, p := range access.Pairs {
					kind, known := kafkaAccessTypes[p.Key]
					typ := p.Key
					if known {
						typ = kind.typ
						needsVPC = needsVPC || kind.vpc
					}
					// v3's schema coerces a single value to a one-item list.
					items := p.Value.Items
					if p.Value.Kind != config.Seq {
						items = []*config.Node{p.Value}
					}
					for _, item := range items {
						if kind.secret {
							secrets = append(secrets, eventValue(item))
						}
						accessConfigs = append(accessConfigs, map[string]any{"Type": typ, "URI": kind.prefix + item.Scalar()})
					}
				}
			}
			props["SourceAccessConfigurations"] = accessConfigs
			if b := v.Get("batchSize"); b.Truthy() {
				props["BatchSize"] = eventValue(b)
			}
			if w := v.Get("maximumBatchingWindow"); w.Truthy() {
				props["MaximumBatchingWindowInSeconds"] = eventValue(w)
			}
			setUnlessNull(props, "Enabled", v.Get("enabled"))
			if g := v.Get("consumerGroupId"); g.Truthy() {
				props["SelfManagedKafkaEventSourceConfig"] = map[string]any{"ConsumerGroupId": eventValue(g)}
			}
			if hasTS {
				props["StartingPositionTimestamp"] = eventValue(ts)
			}
			if fc := filterCriteria(v.Get("filterPatterns")); fc != nil {
				props["FilterCriteria"] = fc
			}
			c.Template.Resources[KafkaEventLogicalID(f.Key, topic.Scalar())] = map[string]any{
				"Type":       "AWS::Lambda::EventSourceMapping",
				"DependsOn":  brokerMappingDependsOn(c, f),
				"Properties": props,
			}
		}
		if !hasKafka {
			continue
		}
		var stmts []any
		if len(secrets) > 0 {
			stmts = append(stmts, map[string]any{"Effect": "Allow", "Action": []any{"secretsmanager:GetSecretValue"}, "Resource": secrets})
		}
		if needsVPC {
			stmts = append(stmts, vpcAccessStatement())
		}
		if len(stmts) > 0 {
			addExecutionRoleStatements(c.Template, stmts...)
		}
	}
}

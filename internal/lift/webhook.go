package lift

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// buildWebhook is lift's webhook construct: an HTTP API whose single
// route puts the request body on an EventBridge bus, guarded by a Lambda
// authorizer function lift adds unless the webhook is insecure.
func buildWebhook(id string, v *config.Node, region string, ds *diag.Diagnostics) *construct {
	path := "constructs." + id
	pos := v.Pos
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}}

	insecure := isTrue(v.Get("insecure"))
	authorizer := v.Get("authorizer")
	hasAuthorizer := authorizer != nil && authorizer.Kind != config.Null
	switch {
	case insecure && hasAuthorizer:
		ds.Errorf(authorizer.Pos, path+".authorizer", "Webhook %s is specified as insecure, however an authorizer is configured for this webhook. Either declare this webhook as secure by removing `insecure: true` property (recommended), or specify the webhook as insecure and remove the authorizer property altogether.", id)
		(*ds)[len(*ds)-1].Detail = "See https://github.com/getlift/lift/blob/master/docs/webhook.md#authorizer"
		return nil
	case !insecure && !hasAuthorizer:
		ds.Errorf(pos, path, "Webhook %s is specified as secure, however no authorizer is configured for this webhook. Please provide an authorizer property for this webhook (recommended), or specify the webhook as insecure by adding `insecure: true` property.", id)
		(*ds)[len(*ds)-1].Detail = "See https://github.com/getlift/lift/blob/master/docs/webhook.md#authorizer"
		return nil
	}
	if hasAuthorizer && authorizer.Kind != config.Map {
		invalid(ds, authorizer, path+".authorizer", id, "'authorizer' must be a function definition with a handler")
		return nil
	}
	routePath, _ := v.Get("path").Str()
	if v.Get("path") == nil {
		invalid(ds, v, path, id, "must have required property 'path'")
		return nil
	}
	method := "POST"
	if m, ok := v.Get("method").Str(); ok && m != "" {
		method = m
	}
	eventType := "Webhook"
	if e, ok := v.Get("eventType").Str(); ok {
		eventType = e
	}

	apiID := LogicalID(id, "HttpApi", "Resource")
	stageID := LogicalID(id, "HttpApi", "DefaultStage", "Resource")
	busID := LogicalID(id, "Bus", "Resource")
	roleID := LogicalID(id, "ApiGatewayRole", "Resource")
	policyID := LogicalID(id, "ApiGatewayRole", "DefaultPolicy", "Resource")
	integrationID := LogicalID(id, "Integration")
	routeID := LogicalID(id, "Route")
	authorizerID := LogicalID(id, "Authorizer")
	roleArn := func() *config.Node { return getAtt(roleID, "Arn", pos) }

	resources := []named{
		{apiID, obj(pos, "Type", "AWS::ApiGatewayV2::Api", "Properties", obj(pos, "Name", "HttpApi", "ProtocolType", "HTTP"))},
		{stageID, obj(pos, "Type", "AWS::ApiGatewayV2::Stage", "Properties", obj(pos,
			"ApiId", ref(apiID, pos), "AutoDeploy", true, "StageName", "$default"))},
		// Without a name, CDK names the bus after its construct path.
		{busID, obj(pos, "Type", "AWS::Events::EventBus", "Properties", obj(pos, "Name", LogicalID(id, "Bus")))},
		{roleID, obj(pos, "Type", "AWS::IAM::Role", "Properties", obj(pos,
			"AssumeRolePolicyDocument", obj(pos,
				"Statement", config.NewSeq(pos, obj(pos, "Action", "sts:AssumeRole", "Effect", "Allow",
					"Principal", obj(pos, "Service", "apigateway.amazonaws.com"))),
				"Version", "2012-10-17"),
			"Policies", config.NewSeq(pos, obj(pos,
				"PolicyDocument", obj(pos,
					"Statement", config.NewSeq(pos, obj(pos, "Action", "events:PutEvents", "Effect", "Allow",
						"Resource", getAtt(busID, "Arn", pos))),
					"Version", "2012-10-17"),
				"PolicyName", "EventBridge"))))},
	}
	authorizerFunction := id + "Authorizer"
	functionArn := func() *config.Node { return getAtt(lambdaLogicalID(authorizerFunction), "Arn", pos) }
	if !insecure {
		// Granting the role the authorizer's invocation gives it a
		// default policy, which CDK renders beside the role.
		resources = append(resources, named{policyID, obj(pos, "Type", "AWS::IAM::Policy", "Properties", obj(pos,
			"PolicyDocument", obj(pos,
				"Statement", config.NewSeq(pos, obj(pos, "Action", "lambda:InvokeFunction", "Effect", "Allow",
					"Resource", config.NewSeq(pos, functionArn(), join("", pos, functionArn(), config.NewString(":*", pos))))),
				"Version", "2012-10-17"),
			"PolicyName", policyID,
			"Roles", config.NewSeq(pos, ref(roleID, pos))))})
	}
	resources = append(resources, named{integrationID, obj(pos, "Type", "AWS::ApiGatewayV2::Integration", "Properties", obj(pos,
		"ApiId", ref(apiID, pos),
		"ConnectionType", "INTERNET",
		"CredentialsArn", roleArn(),
		"IntegrationSubtype", "EventBridge-PutEvents",
		"IntegrationType", "AWS_PROXY",
		"PayloadFormatVersion", "1.0",
		// Lift's own key order, which CDK keeps for this free-form map.
		"RequestParameters", obj(pos, "DetailType", eventType, "Detail", "$request.body", "Source", id, "EventBusName", ref(busID, pos))))})
	routeKey := method + " " + routePath
	route := obj(pos, "ApiId", ref(apiID, pos))
	if insecure {
		route.Set("AuthorizationType", config.NewString("NONE", pos))
	} else {
		route.Set("AuthorizationType", config.NewString("CUSTOM", pos))
		route.Set("AuthorizerId", ref(authorizerID, pos))
	}
	route.Set("RouteKey", config.NewString(routeKey, pos))
	route.Set("Target", join("/", pos, config.NewString("integrations", pos), ref(integrationID, pos)))
	resources = append(resources, named{routeID, obj(pos, "Type", "AWS::ApiGatewayV2::Route", "Properties", route)})
	if !insecure {
		resources = append(resources, named{authorizerID, obj(pos, "Type", "AWS::ApiGatewayV2::Authorizer", "Properties", obj(pos,
			"ApiId", ref(apiID, pos),
			"AuthorizerCredentialsArn", roleArn(),
			"AuthorizerPayloadFormatVersion", "2.0",
			"AuthorizerType", "REQUEST",
			"AuthorizerUri", join("/", pos,
				config.NewString("arn:aws:apigateway:"+region+":lambda:path/2015-03-31/functions", pos),
				functionArn(), config.NewString("invocations", pos)),
			"EnableSimpleResponses", true,
			"Name", id+"-authorizer"))})
		c.worker = &worker{function: authorizerFunction, config: authorizer}
	}
	c.resources = resources
	c.extensions = map[string]string{"api": apiID, "bus": busID}
	c.outputs = []named{
		{LogicalID(id, "HttpApiEndpoint"), obj(pos, "Value", getAtt(apiID, "ApiEndpoint", pos))},
		{LogicalID(id, "Endpoint"), obj(pos, "Value", routeKey)},
	}
	c.variables["busName"] = ref(busID, pos)
	return c
}

// lambdaLogicalID is serverless v3's logical ID of a function's
// AWS::Lambda::Function: the name with dashes and underscores spelled
// out, its first letter upper case.
func lambdaLogicalID(function string) string {
	s := strings.ReplaceAll(strings.ReplaceAll(function, "-", "Dash"), "_", "Underscore")
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s + "LambdaFunction"
}

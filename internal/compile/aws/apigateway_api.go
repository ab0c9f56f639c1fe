package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// restAPIName is getApiGatewayName: provider.apiName, else stage-service
// (service-stage with apiGateway.shouldStartNameWithService).
func (rc *restCompiler) restAPIName() string {
	prov := rc.c.Svc.Provider.Raw
	if n := prov.Get("apiName"); n.Truthy() {
		return n.Scalar()
	}
	if rc.apiConfig.Get("shouldStartNameWithService").Truthy() {
		return rc.c.Svc.Name + "-" + rc.c.Svc.Stage
	}
	return rc.c.Svc.Stage + "-" + rc.c.Svc.Name
}

// compileRestAPIResource adds the AWS::ApiGateway::RestApi unless the
// service attaches to an external one (apiGateway.restApiId).
func (rc *restCompiler) compileRestAPIResource() {
	if rc.apiConfig.Get("restApiId").Truthy() {
		return
	}
	prov := rc.c.Svc.Provider.Raw
	endpointType := "EDGE"
	var vpcEndpointIDs any
	if et := prov.Get("endpointType"); et.Truthy() {
		endpointType = strings.ToUpper(et.Scalar())
		if ids := prov.Get("vpcEndpointIds"); ids.Truthy() {
			vpcEndpointIDs = ids.Interface()
			if endpointType != "PRIVATE" {
				rc.errorf(ids.Pos, "provider.vpcEndpointIds", "VPC endpoint IDs are only available for private APIs")
			}
		}
	}
	endpoint := map[string]any{"Types": []any{endpointType}}
	if vpcEndpointIDs != nil {
		endpoint["VpcEndpointIds"] = vpcEndpointIDs
	}
	props := map[string]any{
		"Name":                  rc.restAPIName(),
		"EndpointConfiguration": endpoint,
	}
	if b := rc.apiConfig.Get("binaryMediaTypes"); b.Truthy() {
		props["BinaryMediaTypes"] = b.Interface()
	}
	if d := rc.apiConfig.Get("disableDefaultEndpoint"); d != nil && d.Kind != config.Null {
		props["DisableExecuteApiEndpoint"] = d.Interface()
	}
	if rp := rc.apiConfig.Get("resourcePolicy"); rp.Truthy() && apiHasEntries(rp) {
		props["Policy"] = map[string]any{"Version": "2012-10-17", "Statement": rp.Interface()}
	} else {
		// v3 always sets a policy so that removing one later is an update.
		props["Policy"] = ""
	}
	if t := rc.apiConfig.Get("apiKeySourceType"); t.Truthy() {
		props["ApiKeySourceType"] = strings.ToUpper(t.Scalar())
	}
	if m := rc.apiConfig.Get("minimumCompressionSize"); m != nil && m.Kind != config.Null {
		props["MinimumCompressionSize"] = m.Interface()
	}
	if d := rc.apiConfig.Get("description"); d.Truthy() {
		props["Description"] = d.Interface()
	}
	rc.mergeResource(restAPILogicalID, "AWS::ApiGateway::RestApi", props, nil)
}

// apiHasEntries is Object.keys(x).length for a map or list node.
func apiHasEntries(n *config.Node) bool {
	switch n.Kind {
	case config.Map:
		return len(n.Pairs) > 0
	case config.Seq:
		return len(n.Items) > 0
	case config.String:
		s, _ := n.Str()
		return s != ""
	}
	return false
}

// compileDeployment adds ApiGatewayDeployment<instanceId>, depending on
// every method so the deployment sees them all, and the ServiceEndpoint
// output.
func (rc *restCompiler) compileDeployment() {
	rc.deploymentID = "ApiGatewayDeployment" + rc.c.InstanceID
	stage := rc.c.Svc.Stage
	apiStage := any(stage)
	if s := rc.apiConfig.Get("stage"); s.Truthy() {
		apiStage = s.Interface()
	}
	props := map[string]any{"RestApiId": rc.restAPIID(), "StageName": apiStage}
	if d := rc.apiConfig.Get("description"); d.Truthy() {
		props["Description"] = d.Interface()
	}
	deps := make([]any, len(rc.methodIDs))
	for i, id := range rc.methodIDs {
		deps[i] = id
	}
	rc.mergeResource(rc.deploymentID, "AWS::ApiGateway::Deployment", props, deps)
	rc.c.Template.AddOutput("ServiceEndpoint", "URL of the service endpoint", map[string]any{"Fn::Join": []any{"", []any{
		"https://", rc.restAPIID(), ".execute-api.", map[string]any{"Ref": "AWS::Region"}, ".",
		map[string]any{"Ref": "AWS::URLSuffix"}, "/" + stage,
	}}})
}

// compilePermissions lets API Gateway invoke every function behind a
// method, and every authorizer function (except Cognito and externally
// managed ones).
func (rc *restCompiler) compilePermissions() {
	res := rc.c.Template.Resources
	for _, e := range rc.permissionOrder {
		getter := map[string]any{"Fn::GetAtt": []any{FunctionLogicalID(e.fn.Key), "Arn"}}
		var fnName any = getter
		aliasName, aliasID := rc.c.apiAlias(e.fn)
		if aliasName != "" {
			fnName = map[string]any{"Fn::Join": []any{":", []any{getter, aliasName}}}
		}
		res[APIGatewayPermissionLogicalID(e.fn.Key)] = invokePermission(fnName, "apigateway.amazonaws.com",
			apiExecuteSourceArn(rc.restAPIID(), "/*/*"), aliasID)

		a := e.auth
		if a == nil || a.arn == nil || a.isCognito() {
			continue
		}
		id := APIGatewayPermissionLogicalID(a.name)
		if _, exists := res[id]; exists || a.managedExternally {
			continue
		}
		var target any = a.arn
		if a.logicalID != "" {
			target = map[string]any{"Ref": a.logicalID}
		}
		res[id] = invokePermission(target, "apigateway.amazonaws.com", apiExecuteSourceArn(rc.restAPIID(), "/*/*"), nil)
	}
}

// compileStage: v3 configures the stage (tracing, tags, logs) through the
// SDK after deploy, so the template only gains the access-log group when
// provider.logs.restApi enables access logging.
func (rc *restCompiler) compileStage() {
	logs := rc.c.Svc.Provider.Raw.Get("logs").Get("restApi")
	if !logs.Truthy() {
		return
	}
	if al := logs.Get("accessLogging"); al != nil && al.Kind != config.Null && !al.Truthy() {
		return
	}
	rc.c.Template.Resources["ApiGatewayLogGroup"] = apiLogGroup(rc.c, "/aws/api-gateway/"+rc.c.Svc.Name+"-"+rc.c.Svc.Stage)
	rc.c.apiCloudWatchRole(logs)
}

// apiLogGroup is an access-log group with the provider's retention and
// data-protection policy.
func apiLogGroup(c *Context, name string) map[string]any {
	props := map[string]any{"LogGroupName": name}
	prov := c.Svc.Provider.Raw
	if r := prov.Get("logRetentionInDays"); r.Truthy() {
		props["RetentionInDays"] = r.Interface()
	}
	if p := prov.Get("logDataProtectionPolicy"); p.Truthy() {
		props["DataProtectionPolicy"] = p.Interface()
	}
	return map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": props}
}

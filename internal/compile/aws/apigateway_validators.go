package aws

import (
	"github.com/nimbusfw/nimbus/internal/config"
)

// Request validation: required request parameters or request.schemas give
// the method the service's single RequestValidator; each schema becomes an
// AWS::ApiGateway::Model (shared when it names one of
// provider.apiGateway.request.schemas).

func (rc *restCompiler) requestValidator() string {
	if rc.validatorID != "" {
		return rc.validatorID
	}
	rc.validatorID = "ApiGateway" + NormalizeNameToAlphaNumericOnly(rc.c.Svc.Name) + "RequestValidator"
	rc.c.Template.AddResource(rc.validatorID, "AWS::ApiGateway::RequestValidator", map[string]any{
		"RestApiId":                 rc.restAPIID(),
		"ValidateRequestBody":       true,
		"ValidateRequestParameters": true,
		"Name":                      rc.c.Svc.Name + "-" + rc.c.Svc.Stage + " | Validate request body and querystring parameters",
	})
	return rc.validatorID
}

func (rc *restCompiler) compileRequestValidators() {
	providerSchemas := rc.apiConfig.Get("request").Get("schemas")
	for _, e := range rc.events {
		if e.request == nil {
			continue
		}
		resourceName := rc.resourceName(e.path)
		methodID := MethodLogicalID(resourceName, e.method)
		method := rc.c.Template.Resource(methodID)
		if method == nil {
			continue
		}
		props := method["Properties"].(map[string]any)
		anyRequired := false
		for _, p := range e.request.params {
			if r := restParamRequired(p.value); r != nil && r != false && r != "" && r != int64(0) {
				anyRequired = true
			}
		}
		if e.request.hasParams && anyRequired {
			props["RequestValidatorId"] = map[string]any{"Ref": rc.requestValidator()}
		}
		schemas := e.request.schemas
		if schemas == nil || schemas.Kind != config.Map {
			continue
		}
		for _, p := range schemas.Pairs {
			contentType, sc := p.Key, p.Value
			validator := rc.requestValidator()
			var modelID string
			if ref, ok := sc.Str(); ok && providerSchemas.Get(ref).Truthy() {
				modelID = rc.providerModel(ref, providerSchemas.Get(ref))
			} else {
				var name, description, definition any
				if sc.Kind == config.Map && sc.Get("schema").Truthy() {
					name = apiValue(sc.Get("name"))
					description = apiValue(sc.Get("description"))
					definition = sc.Get("schema").Interface()
				} else {
					definition = sc.Interface()
				}
				modelID = methodID + apiStartCaseJoined(contentType) + "Model"
				mp := map[string]any{"RestApiId": rc.restAPIID(), "ContentType": contentType, "Schema": definition}
				if name != nil {
					mp["Name"] = name
				}
				if description != nil {
					mp["Description"] = description
				}
				rc.c.Template.AddResource(modelID, "AWS::ApiGateway::Model", mp)
			}
			props["RequestValidatorId"] = map[string]any{"Ref": validator}
			models, _ := props["RequestModels"].(map[string]any)
			if models == nil {
				models = map[string]any{}
				props["RequestModels"] = models
			}
			models[contentType] = map[string]any{"Ref": modelID}
		}
	}
}

// providerModel adds a model declared under provider.apiGateway.request.schemas.
func (rc *restCompiler) providerModel(id string, sc *config.Node) string {
	definition := sc.Interface()
	if s := sc.Get("schema"); s.Truthy() {
		definition = s.Interface()
	}
	modelID := "ApiGateway" + UpperFirst(apiCamelCase(id)) + "Model"
	props := map[string]any{
		"RestApiId":   map[string]any{"Ref": restAPILogicalID},
		"Schema":      definition,
		"ContentType": "application/json",
	}
	if n := sc.Get("name"); n.Truthy() {
		props["Name"] = n.Interface()
	}
	if d := sc.Get("description"); d.Truthy() {
		props["Description"] = d.Interface()
	}
	rc.c.Template.AddResource(modelID, "AWS::ApiGateway::Model", props)
	return modelID
}

// apiCloudWatchRole is ensureApiGatewayCloudWatchRole: unless the role is
// managed externally, a custom resource makes sure the account's API
// Gateway CloudWatch role exists (logs cannot be written without it).
func (c *Context) apiCloudWatchRole(logs *config.Node) {
	if logs.Get("roleManagedExternally").Truthy() {
		return
	}
	// v3 memoizes this per run: REST and websocket logs share one role
	if _, done := c.Template.Resources["CustomApiGatewayAccountCloudWatchRole"]; done {
		return
	}
	props := map[string]any{
		"ServiceToken": map[string]any{"Fn::GetAtt": []any{"CustomDashresourceDashapigwDashcwDashroleLambdaFunction", "Arn"}},
	}
	if r := logs.Get("role"); r != nil {
		props["RoleArn"] = r.Interface()
	}
	c.Template.Resources["CustomApiGatewayAccountCloudWatchRole"] = map[string]any{
		"Type":       "Custom::ApiGatewayAccountRole",
		"Version":    1.0,
		"Properties": props,
	}
	if apiCloudWatchRoleHandler == nil {
		c.Diags.Errorf(logs.Pos, "provider.logs", "API Gateway logging needs the account CloudWatch role custom resource, which this build cannot add yet; set provider.logs.restApi.roleManagedExternally: true to manage the role yourself")
		return
	}
	apiCloudWatchRoleHandler(c)
}

// apiCloudWatchRoleHandler adds the custom-resource Lambda that backs
// CustomApiGatewayAccountCloudWatchRole (set by apigateway_cwrole.go).
var apiCloudWatchRoleHandler func(c *Context)

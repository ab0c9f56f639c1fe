package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// compileMethods adds one AWS::ApiGateway::Method per event.
func (rc *restCompiler) compileMethods() {
	for _, e := range rc.events {
		resourceName := rc.resourceName(e.path)
		requestParams := map[string]any{}
		if e.request != nil {
			for _, p := range e.request.params {
				requestParams[p.key] = restParamRequired(p.value)
			}
		}
		props := map[string]any{
			"HttpMethod":        strings.ToUpper(e.method),
			"RequestParameters": requestParams,
			"ResourceId":        rc.resourceID(e.path),
			"RestApiId":         rc.restAPIID(),
			"ApiKeyRequired":    e.private,
		}
		if e.operationID != nil {
			props["OperationName"] = e.operationID
		}
		dependsOn := []any{APIGatewayPermissionLogicalID(e.fn.Key)}
		aliasName, aliasID := rc.c.apiAlias(e.fn)
		if aliasID != "" {
			dependsOn = append(dependsOn, aliasID)
		}
		rc.permissionOrder = append(rc.permissionOrder, e)

		authProps, authDeps := rc.methodAuthorization(e)
		for k, v := range authProps {
			props[k] = v
		}
		// v3 lodash-merges the authorizer's DependsOn list over the
		// permission's, index by index, so the authorizer replaces the
		// first entry.
		for i, d := range authDeps {
			if i < len(dependsOn) {
				dependsOn[i] = d
			} else {
				dependsOn = append(dependsOn, d)
			}
		}
		integration := rc.methodIntegration(e, aliasName)
		props["Integration"] = integration
		props["MethodResponses"] = restMethodResponses(e)

		if rt, ok := integration["RequestTemplates"].(map[string]any); ok {
			claims := ""
			if e.auth != nil && len(e.auth.claims) > 0 {
				var parts []string
				for _, c := range e.auth.claims {
					if i := strings.Index(c, ":"); i >= 0 {
						parts = append(parts, `"`+c[i+1:]+`": "$context.authorizer.claims['`+c+`']"`)
					} else {
						parts = append(parts, `"`+c+`": "$context.authorizer.claims.`+c+`"`)
					}
				}
				claims = strings.Join(parts, ",") + ","
			}
			for k, v := range rt {
				if s, ok := v.(string); ok {
					rt[k] = strings.Replace(s, "extraCognitoPoolClaims", claims, 1)
				}
			}
		}

		id := MethodLogicalID(resourceName, e.method)
		rc.methodIDs = append(rc.methodIDs, id)
		rc.mergeResource(id, "AWS::ApiGateway::Method", props, dependsOn)
	}
}

// restParamRequired is a request parameter's "required" flag: a boolean as
// written, or an object's required (default true).
func restParamRequired(v *config.Node) any {
	if v != nil && v.Kind == config.Map {
		if r := v.Get("required"); r != nil && r.Kind != config.Null {
			return r.Interface()
		}
		return true
	}
	if v == nil {
		return nil
	}
	return v.Interface()
}

func (rc *restCompiler) methodAuthorization(e *restEvent) (map[string]any, []any) {
	a := e.auth
	if a == nil {
		return map[string]any{"AuthorizationType": "NONE"}, nil
	}
	if a.typ == "AWS_IAM" {
		return map[string]any{"AuthorizationType": "AWS_IAM"}, nil
	}
	if a.typ != "" && a.authorizerID != nil {
		upper := strings.ToUpper(a.typ)
		authType := a.typ
		if upper == "TOKEN" || upper == "REQUEST" {
			authType = "CUSTOM"
		}
		props := map[string]any{"AuthorizationType": authType, "AuthorizerId": a.authorizerID}
		if upper == "COGNITO_USER_POOLS" && len(a.scopes) > 0 {
			props["AuthorizationScopes"] = a.scopes
		}
		return props, nil
	}
	id := AuthorizerLogicalID(a.name)
	if a.isCognito() {
		props := map[string]any{"AuthorizationType": "COGNITO_USER_POOLS", "AuthorizerId": map[string]any{"Ref": id}}
		if len(a.scopes) > 0 {
			props["AuthorizationScopes"] = a.scopes
		}
		return props, []any{id}
	}
	return map[string]any{"AuthorizationType": "CUSTOM", "AuthorizerId": map[string]any{"Ref": id}}, []any{id}
}

func (rc *restCompiler) methodIntegration(e *restEvent, aliasName string) map[string]any {
	typ := e.integration
	in := map[string]any{"IntegrationHttpMethod": "POST", "Type": typ}
	switch typ {
	case "AWS", "AWS_PROXY":
		parts := []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":apigateway:", map[string]any{"Ref": "AWS::Region"},
			":lambda:path/2015-03-31/functions/", map[string]any{"Fn::GetAtt": []any{FunctionLogicalID(e.fn.Key), "Arn"}},
		}
		if aliasName != "" {
			parts = append(parts, ":", aliasName)
		}
		parts = append(parts, "/invocations")
		in["Uri"] = map[string]any{"Fn::Join": []any{"", parts}}
	case "HTTP", "HTTP_PROXY":
		method := e.method
		if e.request != nil && e.request.method != "" {
			method = e.request.method
		}
		if e.request != nil && e.request.uri != nil {
			in["Uri"] = e.request.uri
		}
		in["IntegrationHttpMethod"] = strings.ToUpper(method)
		if e.connectionType != "" {
			in["ConnectionType"] = e.connectionType
			if e.connectionID != nil {
				in["ConnectionId"] = e.connectionID
			}
		}
	}
	if typ == "AWS" || typ == "HTTP" || typ == "MOCK" {
		if e.request != nil {
			if e.request.passThrough != nil {
				in["PassthroughBehavior"] = e.request.passThrough
			}
			if e.request.contentHandling != nil {
				in["ContentHandling"] = e.request.contentHandling
			}
		}
		if t := restRequestTemplates(e, typ == "AWS"); t != nil {
			in["RequestTemplates"] = t
		}
		in["IntegrationResponses"] = restIntegrationResponses(e)
	}
	if ((typ == "AWS" || typ == "HTTP" || typ == "HTTP_PROXY") && e.request != nil && len(e.request.params) > 0) || e.async {
		params := map[string]any{}
		if e.request != nil {
			for _, p := range e.request.params {
				var v any = p.key
				if mv := p.value.Get("mappedValue"); mv.Truthy() {
					v = mv.Interface()
				}
				params["integration."+strings.TrimPrefix(p.key, "method.")] = v
			}
		}
		if e.async {
			params["integration.request.header.X-Amz-Invocation-Type"] = "'Event'"
		}
		in["RequestParameters"] = params
	}
	return in
}

func restRequestTemplates(e *restEvent, useDefaults bool) map[string]any {
	out := map[string]any{}
	if useDefaults {
		out["application/json"] = restDefaultJSONRequestTemplate
		out["application/x-www-form-urlencoded"] = restDefaultFormRequestTemplate
	}
	if e.request != nil && e.request.template != nil && e.request.template.Kind == config.Map {
		for _, p := range e.request.template.Pairs {
			if p.Value == nil || p.Value.Kind == config.Null {
				delete(out, p.Key)
			} else {
				out[p.Key] = p.Value.Interface()
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// restCorsResponseHeaders are the headers a lambda (non-proxy) integration
// adds to every response when the event enables cors.
func restCorsResponseHeaders(e *restEvent) [][2]string {
	var out [][2]string
	if e.cors == nil {
		return nil
	}
	origin := "undefined"
	if e.cors.origin != nil {
		origin = *e.cors.origin
	}
	if len(e.cors.origins) > 0 {
		origin = strings.Join(e.cors.origins, ",")
	}
	out = append(out, [2]string{"Access-Control-Allow-Origin", "'" + origin + "'"})
	if e.cors.allowCredentials {
		out = append(out, [2]string{"Access-Control-Allow-Credentials", "true"})
	}
	return out
}

func restIntegrationResponses(e *restEvent) []any {
	out := []any{}
	if e.response == nil {
		return out
	}
	for _, sc := range e.response.statusCodes {
		params := map[string]any{}
		for _, h := range restCorsResponseHeaders(e) {
			params["method.response.header."+h[0]] = h[1]
		}
		if e.response.headers != nil {
			for _, p := range e.response.headers.Pairs {
				params["method.response.header."+p.Key] = p.Value.Interface()
			}
		}
		ir := map[string]any{
			"StatusCode":         sc.code,
			"SelectionPattern":   sc.pattern,
			"ResponseParameters": params,
			"ResponseTemplates":  map[string]any{},
		}
		if strings.HasPrefix(sc.code, "2") && e.response.contentHandling != nil {
			ir["ContentHandling"] = e.response.contentHandling
		}
		if sc.headers != nil {
			for _, p := range sc.headers.Pairs {
				params["method.response.header."+p.Key] = p.Value.Interface()
			}
		}
		templates := ir["ResponseTemplates"].(map[string]any)
		if t := e.response.template; t != nil && t != "" {
			templates["application/json"] = t
		}
		if sc.template.Truthy() {
			if s, ok := sc.template.Str(); ok {
				templates["application/json"] = s
			} else {
				for _, p := range sc.template.Pairs {
					templates[p.Key] = p.Value.Interface()
				}
			}
		}
		out = append(out, ir)
	}
	return out
}

func restMethodResponses(e *restEvent) []any {
	out := []any{}
	if e.integration != "AWS" && e.integration != "HTTP" && e.integration != "MOCK" {
		return out
	}
	if e.response == nil {
		return out
	}
	for _, sc := range e.response.statusCodes {
		params := map[string]any{}
		for _, h := range restCorsResponseHeaders(e) {
			params["method.response.header."+h[0]] = true
		}
		if e.response.headers != nil {
			for _, p := range e.response.headers.Pairs {
				params["method.response.header."+p.Key] = true
			}
		}
		if sc.headers != nil {
			for _, p := range sc.headers.Pairs {
				params["method.response.header."+p.Key] = true
			}
		}
		out = append(out, map[string]any{
			"ResponseParameters": params,
			"ResponseModels":     map[string]any{},
			"StatusCode":         sc.code,
		})
	}
	return out
}

const restDefaultCommonTemplate = `
  #define( $loop )
    {
    #foreach($key in $map.keySet())
        #set( $k = $util.escapeJavaScript($key) )
        #set( $v = $util.escapeJavaScript($map.get($key)).replaceAll("\\'", "'") )
        "$k":
          "$v"
          #if( $foreach.hasNext ) , #end
    #end
    }
  #end

  {
    "body": $body,
    "method": "$context.httpMethod",
    "principalId": "$context.authorizer.principalId",
    "stage": "$context.stage",

    "cognitoPoolClaims" : {
       extraCognitoPoolClaims
       "sub": "$context.authorizer.claims.sub"
    },

    #set( $map = $context.authorizer )
    "enhancedAuthContext": $loop,

    #set( $map = $input.params().header )
    "headers": $loop,

    #set( $map = $input.params().querystring )
    "query": $loop,

    #set( $map = $input.params().path )
    "path": $loop,

    #set( $map = $context.identity )
    "identity": $loop,

    #set( $map = $stageVariables )
    "stageVariables": $loop,

    "requestPath": "$context.resourcePath"
  }
`

const restDefaultJSONRequestTemplate = `
    #set( $body = $input.json("$") )

    ` + restDefaultCommonTemplate + `
  `

const restDefaultFormRequestTemplate = `
    #define( $body )
      {
      #foreach( $token in $input.path('$').split('&') )
        #set( $keyVal = $token.split('=') )
        #set( $keyValSize = $keyVal.size() )
        #if( $keyValSize >= 1 )
          #set( $key = $util.escapeJavaScript($util.urlDecode($keyVal[0])) )
          #if( $keyValSize >= 2 )
            #set($val = $util.escapeJavaScript($util.urlDecode($keyVal[1])).replaceAll("\\'","'"))
          #else
            #set( $val = '' )
          #end
          "$key": "$val"#if($foreach.hasNext),#end
        #end
      #end
      }
    #end

    ` + restDefaultCommonTemplate + `
  `

package aws

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// restAuthorizer is an http event's authorizer after v3's getAuthorizer.
type restAuthorizer struct {
	typ                          string // as written (TOKEN, request, COGNITO_USER_POOLS…), or AWS_IAM
	name                         string
	arn                          any // string ARN, intrinsic, or the function's Arn getter
	managedExternally            bool
	authorizerID                 any
	logicalID                    string // alias the authorizer function is invoked through
	resultTTL                    *int64
	identitySource               string
	identitySourceSet            bool
	identityValidationExpression *string
	claims                       []string
	scopes                       []any
}

var cognitoArnPattern = regexp.MustCompile(`^arn:[a-zA-Z-]*:cognito-idp`)

func (a *restAuthorizer) isCognito() bool {
	if strings.ToUpper(a.typ) == "COGNITO_USER_POOLS" {
		return true
	}
	s, ok := a.arn.(string)
	return ok && cognitoArnPattern.MatchString(s)
}

// authorizerNameFromArn is extractAuthorizerNameFromArn: the part of the
// function name after its last dash (v3 assumes service-stage-name).
func authorizerNameFromArn(arn string) string {
	parts := strings.Split(arn, ":")
	last := parts[len(parts)-1]
	segs := strings.Split(last, "-")
	return segs[len(segs)-1]
}

func (rc *restCompiler) normalizeAuthorizer(e *restEvent, n *config.Node) (*restAuthorizer, bool) {
	a := &restAuthorizer{}
	where := e.where + ".authorizer"
	fnName := ""
	if s, ok := n.Str(); ok {
		switch {
		case strings.ToUpper(s) == "AWS_IAM":
			a.typ = "AWS_IAM"
		case !strings.Contains(s, ":"):
			fnName, a.name = s, s
		default:
			a.arn = s
			a.name = authorizerNameFromArn(s)
		}
	} else if n.Kind == config.Map {
		typ := n.Get("type").StringOr("")
		switch {
		case typ != "" && n.Get("authorizerId").Truthy():
			a.typ = typ
			a.authorizerID = n.Get("authorizerId").Interface()
		case strings.ToUpper(typ) == "AWS_IAM":
			a.typ = "AWS_IAM"
		case n.Get("arn").Truthy():
			arn := n.Get("arn")
			a.arn = arn.Interface()
			if name, ok := n.Get("name").Str(); ok {
				a.name = name
			} else if strings.ToUpper(typ) == "COGNITO_USER_POOLS" && arn.Kind == config.Map {
				rc.errorf(arn.Pos, where+".arn", "Please provide an authorizer name for authorizers of type COGNITO_USER_POOLS")
				return nil, false
			} else if s, ok := arn.Str(); ok {
				a.name = authorizerNameFromArn(s)
			} else {
				rc.errorf(arn.Pos, where+".arn", "Please provide an authorizer name when the authorizer arn is not a string")
				return nil, false
			}
		case n.Get("name").Truthy():
			fnName = n.Get("name").StringOr(n.Get("name").Scalar())
			a.name = fnName
		default:
			rc.errorf(n.Pos, where, "Please provide either an authorizer name or ARN")
			return nil, false
		}
		if a.typ == "" {
			a.typ = typ
		}
		ttl := int64(300)
		if t := n.Get("resultTtlInSeconds"); t != nil {
			if v, ok := apiParseInt(t); ok {
				ttl = v
			}
		}
		a.resultTTL = &ttl
		a.claims = apiStrings(n.Get("claims"))
		if sc := n.Get("scopes"); sc != nil && sc.Kind == config.Seq {
			for _, it := range sc.Items {
				a.scopes = append(a.scopes, it.Interface())
			}
		}
		if is, ok := n.Get("identitySource").Str(); ok && is != "" {
			a.identitySource, a.identitySourceSet = is, true
		}
		if ive, ok := n.Get("identityValidationExpression").Str(); ok {
			a.identityValidationExpression = &ive
		}
		a.managedExternally = n.Get("managedExternally").Truthy()
	} else {
		rc.errorf(n.Pos, where, "authorizer must be a function name, an ARN or an object")
		return nil, false
	}
	if fnName != "" {
		f := rc.c.Svc.Function(fnName)
		if f == nil {
			rc.errorf(n.Pos, where, "Function %q referenced as authorizer is not defined in this service", fnName)
			return nil, false
		}
		a.arn = rc.c.FunctionTarget(fnName)
		_, a.logicalID = rc.c.apiAlias(f)
	}
	if !a.identitySourceSet && !(a.typ != "" && strings.ToUpper(a.typ) == "REQUEST" && a.resultTTL != nil && *a.resultTTL == 0) {
		a.identitySource = "method.request.header.Authorization"
		a.identitySourceSet = true
	}
	if e.integration == "AWS_PROXY" {
		if s, ok := a.arn.(string); ok && cognitoArnPattern.MatchString(s) && len(a.claims) > 0 {
			rc.errorf(n.Pos, where+".claims", "Cognito claims can only be filtered when using the lambda integration type")
			return nil, false
		}
	}
	return a, true
}

// jsParseInt is Number.parseInt(value, 10) for the values a YAML file gives.
func apiParseInt(n *config.Node) (int64, bool) {
	switch n.Kind {
	case config.Int:
		return n.Value.(int64), true
	case config.Float:
		return int64(n.Value.(float64)), true
	case config.String:
		s := strings.TrimSpace(n.Value.(string))
		end := 0
		for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && (s[end] == '-' || s[end] == '+')) {
			end++
		}
		v, err := strconv.ParseInt(s[:end], 10, 64)
		return v, err == nil
	}
	return 0, false
}

// compileAuthorizers adds an AWS::ApiGateway::Authorizer for every event
// whose authorizer has an ARN (a function of this service or an external
// one); shared authorizerId references need none.
func (rc *restCompiler) compileAuthorizers() {
	for _, e := range rc.events {
		a := e.auth
		if a == nil || a.arn == nil {
			continue
		}
		props := map[string]any{
			"IdentitySource": a.identitySource,
			"Name":           a.name,
			"RestApiId":      rc.restAPIID(),
		}
		if !a.identitySourceSet {
			delete(props, "IdentitySource")
		}
		if a.resultTTL != nil {
			props["AuthorizerResultTtlInSeconds"] = *a.resultTTL
		}
		if a.identityValidationExpression != nil {
			props["IdentityValidationExpression"] = *a.identityValidationExpression
		}
		if a.isCognito() {
			props["Type"] = "COGNITO_USER_POOLS"
			props["ProviderARNs"] = []any{a.arn}
		} else {
			props["AuthorizerUri"] = apiInvocationURI(a.arn)
			if a.typ != "" {
				props["Type"] = strings.ToUpper(a.typ)
			} else {
				props["Type"] = "TOKEN"
			}
		}
		var deps any
		if a.logicalID != "" {
			deps = a.logicalID
		}
		rc.mergeResource(AuthorizerLogicalID(a.name), "AWS::ApiGateway::Authorizer", props, deps)
	}
}

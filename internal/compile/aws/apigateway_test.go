package aws

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
)

// compileYAML compiles an in-memory serverless.yml (no variables) for stage dev.
func compileYAML(t testing.TB, yml string) (*cfn.Template, diag.Diagnostics) {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatalf("parse: %v", ds.Err())
	}
	return compileRoot(root)
}

func compileRoot(root *config.Node) (*cfn.Template, diag.Diagnostics) {
	// no --stage, so provider.stage (else dev) applies
	opts := map[string]string{"region": "us-east-1"}
	svc := service.New(root, ".", "serverless.yml", opts)
	return Compile(Input{
		Service:               svc,
		Artifacts:             packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}},
		ArtifactDirectoryName: "serverless/x/dev/1700000000000-2023-11-14T22:13:20.000Z",
		InstanceID:            "1700000000000",
	})
}

// TestAPIConfigErrors checks that configuration v3 rejects is reported as a
// diagnostic pointing at the offending line and key path, with v3's wording.
func TestAPIConfigErrors(t *testing.T) {
	const head = "service: svc\nprovider:\n  name: aws\n  runtime: nodejs18.x\n"
	cases := []struct {
		name, yml       string
		line, col       int
		path, substring string
	}{
		{
			name: "http integration without uri",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - http:\n          path: a\n          method: get\n          integration: http\n",
			line: 10, col: 11, path: "functions.f.events[0].http",
			substring: "You need to set the request uri when using the HTTP integration.",
		},
		{
			name: "vpc link without connection id",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - http:\n          path: a\n          method: get\n          integration: http-proxy\n          connectionType: vpc-link\n          request:\n            uri: http://x\n",
			line: 10, col: 11, path: "functions.f.events[0].http",
			substring: "You need to set connectionId when using VPC_LINK connectionType.",
		},
		{
			name: "external rest api without root resource",
			yml:  head + "  apiGateway:\n    restApiId: abc\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - http: GET a\n",
			line: 6, col: 5, path: "provider.apiGateway.restApiId",
			substring: `Missing required "provider.apiGateway.restApiRootResourceId" property`,
		},
		{
			name: "authorizer function not in service",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - http:\n          path: a\n          method: get\n          authorizer: missingFn\n",
			line: 12, col: 23, path: "functions.f.events[0].http.authorizer",
			substring: `Function "missingFn" referenced as authorizer is not defined`,
		},
		{
			name: "cognito authorizer with intrinsic arn and no name",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - http:\n          path: a\n          method: get\n          authorizer:\n            type: COGNITO_USER_POOLS\n            arn:\n              Fn::GetAtt: [Pool, Arn]\n",
			line: 15, col: 15, path: "functions.f.events[0].http.authorizer.arn",
			substring: "Please provide an authorizer name for authorizers of type COGNITO_USER_POOLS",
		},
		{
			name: "invalid stage name",
			yml:  "service: svc\nprovider:\n  name: aws\n  stage: dev.1\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - http: GET a\n",
			line: 4, col: 10, path: "provider.stage",
			substring: "Invalid stage name dev.1",
		},
		{
			name: "httpApi duplicate route",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - httpApi: GET /a\n      - httpApi:\n          method: get\n          path: /a\n",
			line: 11, col: 11, path: "functions.f.events[1].httpApi",
			substring: "Duplicate route 'GET /a' configuration in function f",
		},
		{
			name: "httpApi unknown authorizer",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - httpApi:\n          method: get\n          path: /a\n          authorizer: nope\n",
			line: 12, col: 23, path: "functions.f.events[0].httpApi.authorizer",
			substring: "Event references not configured authorizer 'nope'",
		},
		{
			name: "httpApi request authorizer without function",
			yml:  head + "  httpApi:\n    authorizers:\n      custom:\n        type: request\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - httpApi: GET /a\n",
			line: 8, col: 9, path: "provider.httpApi.authorizers.custom",
			substring: `Either "functionArn" or "functionName" property needs to be set on authorizer "custom"`,
		},
		{
			name: "httpApi catch-all with a method",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - httpApi:\n          method: get\n          path: '*'\n",
			line: 10, col: 11, path: "functions.f.events[0].httpApi.path",
			substring: `Invalid "path" property in function f`,
		},
		{
			name: "httpApi cors on external api",
			yml:  head + "  httpApi:\n    id: abc\n    cors: true\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - httpApi: GET /a\n",
			line: 7, col: 11, path: "provider.httpApi.cors",
			substring: "Cannot setup CORS rules for externally configured HTTP API",
		},
		{
			name: "websocket intrinsic arn without name",
			yml:  head + "functions:\n  f:\n    handler: h.f\n    events:\n      - websocket:\n          route: $connect\n          authorizer:\n            arn:\n              Fn::ImportValue: AuthArn\n",
			line: 13, col: 15, path: "functions.f.events[0].websocket.authorizer.arn",
			substring: `Websocket Authorizer: Non-string "arn" needs to be accompanied with "name"`,
		},
		{
			name: "websocket invalid log level",
			yml:  head + "  logs:\n    websocket:\n      level: DEBUG\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - websocket: $default\n",
			line: 7, col: 14, path: "provider.logs.websocket.level",
			substring: "provider.logs.websocket.level is set to an invalid value. Support values are INFO, ERROR, got DEBUG.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := compileYAML(t, tc.yml)
			var found *diag.Diagnostic
			for i := range ds {
				if ds[i].Severity == diag.Error && strings.Contains(ds[i].Message(), tc.substring) {
					found = &ds[i]
				}
			}
			if found == nil {
				t.Fatalf("no error containing %q; got %v", tc.substring, ds)
			}
			if found.Pos.Line != tc.line || found.Pos.Col != tc.col || found.Path != tc.path {
				t.Errorf("error at %d:%d %s, want %d:%d %s", found.Pos.Line, found.Pos.Col, found.Path, tc.line, tc.col, tc.path)
			}
		})
	}
}

// TestHTTPProxyRequestWarning checks that request settings a proxy
// integration ignores are dropped with a warning, as v3 does.
func TestHTTPProxyRequestWarning(t *testing.T) {
	tmpl, ds := compileYAML(t, `service: svc
provider:
  name: aws
functions:
  f:
    handler: h.f
    events:
      - http:
          path: a
          method: get
          request:
            template:
              application/json: '{}'
            parameters:
              querystrings:
                q: true
          response:
            template: x
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	var warnings []string
	for _, d := range ds.Warnings() {
		warnings = append(warnings, d.Message())
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{
		`Only the request.parameters, request.schema, request.schemas configs are available in conjunction with AWS_PROXY`,
		`You're using the AWS_PROXY in combination with response configuration in your function "f"`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing warning %q in:\n%s", want, joined)
		}
	}
	m := tmpl.Resource("ApiGatewayMethodAGet")
	props := m["Properties"].(map[string]any)
	if _, ok := props["Integration"].(map[string]any)["RequestTemplates"]; ok {
		t.Errorf("proxy integration kept request templates: %v", props["Integration"])
	}
	if got := props["RequestParameters"].(map[string]any)["method.request.querystring.q"]; got != true {
		t.Errorf("request parameter q = %v, want true", got)
	}
}

var cfnLogicalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// FuzzAPIEvents feeds arbitrary http, httpApi and websocket event strings
// through the compilers: they must never panic, and every logical ID they
// produce must be one CloudFormation accepts (alphanumeric).
func FuzzAPIEvents(f *testing.F) {
	for _, s := range []string{"GET users/{id}", "ANY /{proxy+}", "*", "post /a-b/c_d/{x}", "GET /", "$connect", "GET", "", "get  //", "PATCH /ü/{é}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pos := diag.Pos{File: "serverless.yml", Line: 1, Col: 1}
		root := config.NewMap(pos)
		root.Set("service", config.NewString("svc", pos))
		prov := config.NewMap(pos)
		prov.Set("name", config.NewString("aws", pos))
		root.Set("provider", prov)
		fn := config.NewMap(pos)
		fn.Set("handler", config.NewString("h.f", pos))
		var events []*config.Node
		for _, typ := range []string{"http", "httpApi", "websocket"} {
			ev := config.NewMap(pos)
			ev.Set(typ, config.NewString(s, pos))
			events = append(events, ev)
		}
		fn.Set("events", config.NewSeq(pos, events...))
		fns := config.NewMap(pos)
		fns.Set("f", fn)
		root.Set("functions", fns)
		tmpl, _ := compileRoot(root)
		for id := range tmpl.Resources {
			if !cfnLogicalID.MatchString(id) {
				t.Errorf("logical ID %q from event %q is not alphanumeric", id, s)
			}
		}
	})
}

// TestLodashCaseHelpers pins apiStartCaseJoined and apiCamelCase to what
// lodash 4 returns (values produced with node and serverless' lodash).
func TestLodashCaseHelpers(t *testing.T) {
	for _, tc := range [][3]string{
		{"application/json", "ApplicationJson", "ApplicationJson"},
		{"application/vnd.api+json", "ApplicationVndApiJson", "ApplicationVndApiJson"},
		{"text/plain", "TextPlain", "TextPlain"},
		{"post-create-model", "PostCreateModel", "PostCreateModel"},
		{"PostCreateModel", "PostCreateModel", "PostCreateModel"},
		{"my_schema.v2", "MySchemaV2", "MySchemaV2"},
		{"XMLHttpRequest", "XMLHttpRequest", "XmlHttpRequest"},
		{"abc123def", "Abc123Def", "Abc123Def"},
		{"user ID", "UserID", "UserId"},
	} {
		if got := apiStartCaseJoined(tc[0]); got != tc[1] {
			t.Errorf("startCase(%q) = %q, want %q", tc[0], got, tc[1])
		}
		if got := UpperFirst(apiCamelCase(tc[0])); got != tc[2] {
			t.Errorf("upperFirst(camelCase(%q)) = %q, want %q", tc[0], got, tc[2])
		}
	}
}

// TestCorsPreflightObjectOrder: v3 collects preflights in a JavaScript
// object, so an integer-like path sorts before the others in the
// deployment's DependsOn.
func TestCorsPreflightObjectOrder(t *testing.T) {
	tmpl, ds := compileYAML(t, `service: svc
provider:
  name: aws
functions:
  f:
    handler: h.f
    events:
      - http: {path: users, method: get, cors: true}
      - http: {path: '2024', method: get, cors: true}
      - http: {path: '7', method: get, cors: true}
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	dep := tmpl.Resource("ApiGatewayDeployment1700000000000")
	got := dep["DependsOn"].([]any)
	want := []any{"ApiGatewayMethod7Options", "ApiGatewayMethod2024Options", "ApiGatewayMethodUsersOptions",
		"ApiGatewayMethodUsersGet", "ApiGatewayMethod2024Get", "ApiGatewayMethod7Get"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DependsOn = %v\nwant %v", got, want)
	}
}

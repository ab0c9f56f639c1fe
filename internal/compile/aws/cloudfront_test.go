package aws

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
)

// The templates v3 produces for cloudFront events are checked by the
// golden cases testdata/golden/cloudfront-* (TestGolden and, against v3's
// own output, TestMatchesV3WithV3Zips). These tests cover what those
// cannot: the configurations v3 rejects, and the function settings
// Lambda@Edge imposes.

const edgeHeader = `service: edge
provider:
  name: aws
  runtime: nodejs18.x
functions:
`

// compileEdge compiles yml for region (the --region option) and returns
// the service too, whose functions compile may change.
func compileEdge(t *testing.T, yml, region string) (*cfn.Template, diag.Diagnostics, *service.Service) {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatalf("parse: %v", ds.Err())
	}
	svc := service.New(root, ".", "serverless.yml", map[string]string{"stage": "dev", "region": region})
	tmpl, ds := Compile(Input{
		Service:               svc,
		Artifacts:             packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}},
		ArtifactDirectoryName: "serverless/edge/dev/1700000000000-2023-11-14T22:13:20.000Z",
	})
	return tmpl, ds, svc
}

func TestCloudFrontRejectsWhatV3Rejects(t *testing.T) {
	cases := []struct {
		name, functions, region, message, path string
		header                                 string // more provider settings
		line                                   int
	}{
		{
			name: "viewer event with more memory than Lambda@Edge allows",
			functions: `  fn:
    handler: h.fn
    memorySize: 256
    events:
      - cloudFront:
          eventType: viewer-request
          origin: s3://b.s3.amazonaws.com
`,
			message: `"fn" memorySize is greater than 128 which is not supported by Lambda@Edge functions of type "viewer-request"`,
			path:    "functions.fn.memorySize", line: 8,
		},
		{
			name: "origin event with a longer timeout than Lambda@Edge allows",
			functions: `  fn:
    handler: h.fn
    timeout: 31
    events:
      - cloudFront:
          eventType: origin-response
          origin: https://example.com
`,
			message: `"fn" timeout is greater than 30 which is not supported by Lambda@Edge functions of type "origin-response"`,
			path:    "functions.fn.timeout", line: 8,
		},
		{
			name: "no eventType is limited as a viewer event",
			functions: `  fn:
    handler: h.fn
    timeout: 6
    events:
      - cloudFront:
          origin: https://example.com
`,
			message: `"fn" timeout is greater than 5 which is not supported by Lambda@Edge functions of type "default"`,
			path:    "functions.fn.timeout", line: 8,
		},
		{
			name: "unknown eventType",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-req
          origin: https://example.com
`,
			message: `unsupported cloudFront eventType "viewer-req"`,
			path:    "functions.fn.events[0].cloudFront.eventType", line: 10,
		},
		{
			name: "region other than us-east-1",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://example.com
`,
			region:  "eu-west-1",
			message: "CloudFront associated functions have to be deployed to the us-east-1 region.",
			path:    "functions.fn.events[0].cloudFront", line: 9,
		},
		{
			name: "cache policy name not declared",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://example.com
          cachePolicy:
            name: missing
`,
			message: "Event references not configured cache policy 'missing'",
			path:    "functions.fn.events[0].cloudFront.cachePolicy.name", line: 13,
		},
		{
			name: "two default origins",
			functions: `  a:
    handler: h.a
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
          isDefaultOrigin: true
  b:
    handler: h.b
    events:
      - cloudFront:
          eventType: origin-request
          origin: https://two.example.com
          isDefaultOrigin: true
`,
			message: `Found more than one cloudfront event with "isDefaultOrigin" defined`,
			path:    "functions.b.events[0].cloudFront.isDefaultOrigin", line: 19,
		},
		{
			name: "only path patterns and several origins, none default",
			functions: `  a:
    handler: h.a
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
          pathPattern: /one/*
      - cloudFront:
          eventType: viewer-request
          origin: https://two.example.com
          pathPattern: /two/*
`,
			message: `Found more than one origin but none of the cloudfront event has "isDefaultOrigin" defined`,
			path:    "functions.a.events[0].cloudFront", line: 9,
		},
		{
			name: "one path pattern on two origins",
			functions: `  a:
    handler: h.a
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
          pathPattern: /x/*
      - cloudFront:
          eventType: origin-request
          origin: https://two.example.com
          pathPattern: /x/*
`,
			message: "Found more than one behavior with the same PathPattern",
			path:    "functions.a.events[1].cloudFront.pathPattern", line: 16,
		},
		{
			name: "two origins without path patterns",
			functions: `  a:
    handler: h.a
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
      - cloudFront:
          eventType: origin-request
          origin: https://two.example.com
`,
			message: "Found more than one behavior with the same PathPattern",
			path:    "functions.a.events[1].cloudFront", line: 13,
		},
		{
			name: "provider.region other than us-east-1",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://example.com
`,
			region:  "eu-west-1",
			header:  "  region: eu-west-1\n",
			message: "CloudFront associated functions have to be deployed to the us-east-1 region.",
			path:    "provider.region", line: 5,
		},
		{
			name: "two functions on one event type of a behaviour",
			functions: `  a:
    handler: h.a
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
  b:
    handler: h.b
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://one.example.com
`,
			message: "The event type of a function association must be unique in the cache behavior",
			path:    "functions.b.events[0].cloudFront.eventType", line: 16,
		},
		{
			name: "no origin",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
`,
			message: `the cloudFront event of function "fn" has no origin`,
			path:    "functions.fn.events[0].cloudFront.origin", line: 10,
		},
		{
			name: "origin URL without a host",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: example.com/path
`,
			message: `origin "example.com/path" is not a URL with a host`,
			path:    "functions.fn.events[0].cloudFront.origin", line: 11,
		},
		{
			name: "cache policy with neither id nor name",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://example.com
          cachePolicy:
            Id: x
`,
			message: `needs "id" (an existing policy) or "name"`,
			path:    "functions.fn.events[0].cloudFront.cachePolicy", line: 12,
		},
		{
			name: "event value is not a mapping",
			functions: `  fn:
    handler: h.fn
    events:
      - cloudFront: https://example.com
`,
			message: "must be a mapping of settings",
			path:    "functions.fn.events[0].cloudFront", line: 9,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			region := tc.region
			if region == "" {
				region = "us-east-1"
			}
			yml := strings.Replace(edgeHeader, "functions:\n", tc.header+"functions:\n", 1) + tc.functions
			tmpl, ds, _ := compileEdge(t, yml, region)
			errs := ds.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got %d: %v", len(errs), ds)
			}
			d := errs[0]
			if !strings.Contains(d.Summary, tc.message) {
				t.Errorf("message %q does not contain %q", d.Summary, tc.message)
			}
			if d.Path != tc.path {
				t.Errorf("path %q, want %q", d.Path, tc.path)
			}
			if d.Pos.Line != tc.line || d.Pos.File != "serverless.yml" || d.Pos.Col == 0 {
				t.Errorf("position %v, want serverless.yml line %d", d.Pos, tc.line)
			}
			if tmpl != nil && tmpl.Resource(CloudFrontDistributionLogicalID) != nil {
				t.Errorf("a distribution was compiled despite the error")
			}
		})
	}
}

// Lambda@Edge functions are versioned and get 128 MB and 5 s unless the
// function itself says otherwise (the provider's settings do not apply),
// lose their environment and VPC, and are retained on stack removal. The
// changed settings are written into the configuration, as v3 does, so the
// state file shows them.
func TestCloudFrontFunctionSettings(t *testing.T) {
	yml := `service: edge
provider:
  name: aws
  runtime: nodejs18.x
  versionFunctions: false
  memorySize: 2048
  timeout: 20
  environment:
    A: b
  vpc:
    securityGroupIds: [sg-1]
    subnetIds: [subnet-1]
functions:
  edge:
    handler: h.edge
    timeout: 30
    events:
      - cloudFront:
          eventType: origin-request
          origin: https://example.com
  regular:
    handler: h.regular
`
	tmpl, ds, svc := compileEdge(t, yml, "us-east-1")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	edge := tmpl.Resource(FunctionLogicalID("edge"))
	props := edge["Properties"].(map[string]any)
	if props["MemorySize"] != int64(128) && props["MemorySize"] != 128 {
		t.Errorf("MemorySize %v, want 128", props["MemorySize"])
	}
	if props["Timeout"] != int64(30) && props["Timeout"] != 30 {
		t.Errorf("Timeout %v, want the function's 30", props["Timeout"])
	}
	if props["Environment"] != nil || props["VpcConfig"] != nil {
		t.Errorf("edge function keeps Environment %v / VpcConfig %v", props["Environment"], props["VpcConfig"])
	}
	if edge["DeletionPolicy"] != "Retain" {
		t.Errorf("DeletionPolicy %v, want Retain", edge["DeletionPolicy"])
	}
	versionID := ""
	for id, r := range tmpl.Resources {
		if r.(map[string]any)["Type"] == "AWS::Lambda::Version" {
			if versionID != "" {
				t.Errorf("more than one version: %s and %s (only the edge function is versioned)", versionID, id)
			}
			versionID = id
		}
	}
	if !strings.HasPrefix(versionID, "EdgeLambdaVersion") {
		t.Fatalf("edge function not versioned despite versionFunctions: false (version %q)", versionID)
	}
	dist := tmpl.Resource(CloudFrontDistributionLogicalID)
	assoc := dist["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)["DefaultCacheBehavior"].(map[string]any)["LambdaFunctionAssociations"].([]any)[0]
	if got := canonicalJSON(assoc); got != canonicalJSON(map[string]any{"EventType": "origin-request", "LambdaFunctionARN": cfn.Ref(versionID)}) {
		t.Errorf("association %s does not point at the version", got)
	}
	regular := tmpl.Resource(FunctionLogicalID("regular"))["Properties"].(map[string]any)
	if regular["Environment"] == nil || regular["VpcConfig"] == nil || regular["MemorySize"] == 128 || regular["MemorySize"] == int64(128) {
		t.Errorf("function without cloudFront events changed: %v", regular)
	}
	raw := svc.Functions[0].Raw
	if raw.Get("versionFunction").Interface() != true || raw.Get("memorySize").Interface() != int64(128) || raw.Get("timeout").Interface() != int64(30) {
		t.Errorf("configuration not updated as v3 does: %s", mustJSON(raw))
	}
	if svc.Functions[1].Raw.Has("versionFunction") {
		t.Errorf("regular function's configuration changed: %s", mustJSON(svc.Functions[1].Raw))
	}
}

// A cloudFront event with nothing under it is skipped by v3: no
// distribution, no versioning.
func TestCloudFrontEmptyEventIsIgnored(t *testing.T) {
	tmpl, ds, svc := compileEdge(t, edgeHeader+`  fn:
    handler: h.fn
    events:
      - cloudFront:
`, "eu-west-1")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if tmpl.Resource(CloudFrontDistributionLogicalID) != nil {
		t.Error("distribution compiled for an empty event")
	}
	if svc.Functions[0].Raw.Has("memorySize") {
		t.Error("function given Lambda@Edge settings for an empty event")
	}
}

// Declared cache policies are compiled even when unused, each unused one
// with a warning at its key; without the default role the user is reminded
// to grant Lambda@Edge's permissions.
func TestCloudFrontWarnings(t *testing.T) {
	yml := `service: edge
provider:
  name: aws
  runtime: nodejs18.x
  iam:
    role: arn:aws:iam::123456789012:role/mine
  cloudFront:
    cachePolicies:
      used:
        DefaultTTL: 1
      spare:
        DefaultTTL: 2
functions:
  fn:
    handler: h.fn
    events:
      - cloudFront:
          eventType: viewer-request
          origin: https://example.com
          cachePolicy:
            name: used
`
	tmpl, ds, _ := compileEdge(t, yml, "us-east-1")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	for _, name := range []string{"used", "spare"} {
		r := tmpl.Resource(CloudFrontCachePolicyLogicalID(name))
		if r == nil {
			t.Fatalf("no cache policy resource for %s", name)
		}
		cfg := r["Properties"].(map[string]any)["CachePolicyConfig"].(map[string]any)
		if cfg["Name"] != "edge-dev-"+name {
			t.Errorf("policy name %v", cfg["Name"])
		}
	}
	ws := ds.Warnings()
	if len(ws) != 2 {
		t.Fatalf("want 2 warnings, got %v", ws)
	}
	if ws[0].Path != "provider.cloudFront.cachePolicies.spare" || ws[0].Pos.Line != 11 {
		t.Errorf("unused policy warning at %s %v", ws[0].Path, ws[0].Pos)
	}
	if !strings.Contains(ws[1].Summary, "lambda@edge permissions") || ws[1].Pos.Line != 17 {
		t.Errorf("role reminder: %v", ws[1])
	}
}

// The templates v3 writes for string origins depend on Node's legacy
// url.parse; these are its answers (node -e 'url.parse(…)').
func TestParseOriginURLMatchesNode(t *testing.T) {
	cases := []struct{ in, protocol, hostname, pathname string }{
		{"s3://assets-bucket.s3.amazonaws.com", "s3:", "assets-bucket.s3.amazonaws.com", ""},
		{"s3://Bucket.S3.amazonaws.com/Path/x", "s3:", "bucket.s3.amazonaws.com", "/Path/x"},
		{"https://app.example.com/site", "https:", "app.example.com", "/site"},
		{"https://app.example.com/", "https:", "app.example.com", "/"},
		{"https://app.example.com:8443/a/b?x=1#f", "https:", "app.example.com", "/a/b"},
		{"http://user:pw@Host.com/p%20q", "http:", "host.com", "/p%20q"},
		{"https://app.example.com/a b", "https:", "app.example.com", "/a%20b"},
		{"custom://x.y/z/", "custom:", "x.y", "/z/"},
		{"https://[::1]:80/p", "https:", "::1", "/p"},
		{"mailto:foo@bar.com", "mailto:", "bar.com", ""},
		{"https://app.example.com?q=1", "https:", "app.example.com", "/"},
		{"HTTPS://APP.example.com/Site", "https:", "app.example.com", "/Site"},
		{"example.com/path", "", "", "example.com/path"},
	}
	for _, tc := range cases {
		got := parseOriginURL(tc.in)
		want := originURL{tc.protocol, tc.hostname, tc.pathname}
		if got != want {
			t.Errorf("parseOriginURL(%q) = %+v, want %+v", tc.in, got, want)
		}
	}
}

// extendDeep is how v3 joins events on one origin or behaviour: the
// first event's scalars win, lists are joined without duplicates, objects
// merge.
func TestExtendDeep(t *testing.T) {
	var dst, src map[string]any
	json.Unmarshal([]byte(`{"A":"first","L":[1,{"x":1}],"O":{"k":"a","L":["t1"]},"N":null}`), &dst)
	json.Unmarshal([]byte(`{"A":"second","L":[{"x":1},2],"O":{"k":"b","L":["t2","t1"],"new":true},"N":"set","B":3}`), &src)
	extendDeep(dst, src)
	want := `{"A":"first","B":3,"L":[1,{"x":1},2],"N":null,"O":{"L":["t1","t2"],"k":"a","new":true}}`
	if got, _ := json.Marshal(dst); string(got) != want {
		t.Errorf("extendDeep = %s, want %s", got, want)
	}
}

// FuzzCloudFrontEvents compiles arbitrary cloudFront settings, two events
// per service so origins and behaviours are merged: bad input must become
// diagnostics, never a panic.
func FuzzCloudFrontEvents(f *testing.F) {
	for _, seed := range [][2]string{
		{"{eventType: viewer-request, origin: 's3://b.s3.amazonaws.com'}", "{eventType: origin-request, origin: 's3://b.s3.amazonaws.com', includeBody: true}"},
		{"{origin: {DomainName: {Fn::GetAtt: [B, DomainName]}, S3OriginConfig: {}}, pathPattern: /a}", "{origin: {DomainName: {Fn::GetAtt: [B, DomainName]}, S3OriginConfig: {OriginAccessIdentity: x}}, pathPattern: /b, isDefaultOrigin: true}"},
		{"{origin: {DomainName: d, OriginPath: 1, CustomOriginConfig: {OriginSSLProtocols: [a]}}, behavior: {AllowedMethods: [GET], ForwardedValues: 3}}", "{origin: {DomainName: d, OriginPath: 1, CustomOriginConfig: {OriginSSLProtocols: x}}, behavior: {AllowedMethods: x}}"},
		{"{origin: 'https://x', cachePolicy: {name: p}}", "{origin: 'https://x', cachePolicy: {id: {Ref: P}}, pathPattern: ''}"},
		{"{origin: 'mailto:a@b', eventType: null}", "[1]"},
		{"{origin: [1], behavior: [1]}", "{origin: {}, cachePolicy: 1}"},
		{"true", "{origin: 'https://[::1', pathPattern: 5}"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		yml := "service: svc\nprovider:\n  name: aws\n  runtime: nodejs18.x\n  cloudFront:\n    cachePolicies:\n      p: {DefaultTTL: 1}\nfunctions:\n" +
			"  fn:\n    handler: h.main\n    events:\n      - cloudFront: " + a + "\n  other:\n    handler: h.other\n    events:\n      - cloudFront: " + b + "\n"
		root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
		if ds.HasErrors() || root == nil {
			return
		}
		svc := service.New(root, ".", "serverless.yml", map[string]string{"stage": "dev", "region": "us-east-1"})
		tmpl, ds := Compile(Input{Service: svc, Artifacts: packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}}})
		if !ds.HasErrors() {
			if _, err := tmpl.JSON(); err != nil {
				t.Fatalf("template does not marshal: %v", err)
			}
		}
	})
}

package lift

import (
	"context"
	"strings"
	"testing"
)

func TestWebhookNeedsExactlyOneOfAuthorizerAndInsecure(t *testing.T) {
	cases := map[string]struct {
		body, path, says string
		line             int
	}{
		"secure without authorizer": {"    path: /hook\n", "constructs.hook", "is specified as secure, however no authorizer", 5},
		"insecure with authorizer":  {"    path: /hook\n    insecure: true\n    authorizer: {handler: h.auth}\n", "constructs.hook.authorizer", "is specified as insecure, however an authorizer", 8},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  hook:\n    type: webhook\n"+tc.body)
			_, ds := New(root).Expand(root, "dev")
			if len(ds) != 1 || !ds.HasErrors() {
				t.Fatalf("want one error, got %v", ds)
			}
			if d := ds[0]; d.Path != tc.path || d.Pos.Line != tc.line || !strings.Contains(d.Summary, tc.says) {
				t.Errorf("diagnostic = %+v", d)
			}
		})
	}
}

func TestSecureWebhookAddsAuthorizerFunctionAndRoute(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws, region: eu-west-3}\nconstructs:\n  my-hook:\n    type: webhook\n    path: /in\n    method: PATCH\n    authorizer: {handler: h.auth, timeout: 3}\n")
	l := New(root)
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	fn := root.Lookup("functions", "my-hookAuthorizer")
	if fn == nil || fn.Get("handler").Scalar() != "h.auth" || fn.Get("events") != nil {
		t.Fatalf("authorizer function = %v", fn)
	}
	res := root.Lookup("resources", "Resources")
	route := res.Get(LogicalID("my-hook", "Route")).Get("Properties")
	if route.Get("RouteKey").Scalar() != "PATCH /in" || route.Get("AuthorizationType").Scalar() != "CUSTOM" {
		t.Errorf("route = %v %v", route.Get("RouteKey").Scalar(), route.Get("AuthorizationType").Scalar())
	}
	uri, _ := res.Get(LogicalID("my-hook", "Authorizer")).Lookup("Properties", "AuthorizerUri").MarshalJSON()
	// v3 spells the dash out in the function's logical ID, and the
	// region is the provider's.
	want := `{"Fn::Join":["/",["arn:aws:apigateway:eu-west-3:lambda:path/2015-03-31/functions",{"Fn::GetAtt":["MyDashhookAuthorizerLambdaFunction","Arn"]},"invocations"]]}`
	if string(uri) != want {
		t.Errorf("AuthorizerUri = %s\nwant            %s", uri, want)
	}
	if root.Lookup("provider", "iamRoleStatements") != nil {
		t.Error("a webhook gives the service role no permissions in lift")
	}
}

func TestRegionOptionWinsOverProvider(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws, region: eu-west-3}\nconstructs:\n  hook:\n    type: webhook\n    path: /in\n    authorizer: {handler: h.auth}\n")
	l := New(root)
	l.Region = "ap-south-1"
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	uri, _ := root.Lookup("resources", "Resources", LogicalID("hook", "Authorizer"), "Properties", "AuthorizerUri").MarshalJSON()
	if !strings.Contains(string(uri), "arn:aws:apigateway:ap-south-1:") {
		t.Errorf("AuthorizerUri = %s", uri)
	}
}

func TestInsecureWebhookBusVariableAndExtensions(t *testing.T) {
	doc := "service: s\nprovider: {name: aws}\nconstructs:\n  hook:\n    type: webhook\n    path: /in\n    insecure: true\n    extensions:\n      bus: {Properties: {Name: named}}\n      table: {}\n"
	raw := parse(t, doc)
	l := New(raw)
	if _, err := l.Source(context.Background(), nil, "hook.queueUrl"); err == nil || !strings.Contains(err.Error(), "are: busName") {
		t.Errorf("unknown property: %v", err)
	}
	bus, err := l.Source(context.Background(), nil, "hook.busName")
	if err != nil {
		t.Fatal(err)
	}
	root := parse(t, doc+"custom:\n  bus: x\n")
	root.Lookup("custom").Set("bus", bus)
	_, ds := l.Expand(root, "dev")
	if len(ds) != 1 || ds[0].Path != "constructs.hook.extensions.table" || !strings.Contains(ds[0].Summary, "Available extensions are: api, bus.") {
		t.Fatalf("want one error at the table extension, got %v", ds)
	}
	clean := parse(t, strings.Replace(doc, "      table: {}\n", "", 1)+"custom:\n  bus: x\n")
	clean.Lookup("custom").Set("bus", bus)
	if _, ds := l.Expand(clean, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(clean)
	busID := LogicalID("hook", "Bus", "Resource")
	if got, _ := clean.Lookup("custom", "bus").MarshalJSON(); string(got) != `{"Ref":"`+busID+`"}` {
		t.Errorf("custom.bus = %s", got)
	}
	if name := clean.Lookup("resources", "Resources", busID, "Properties", "Name").Scalar(); name != "named" {
		t.Errorf("bus Name = %s, want the extension's", name)
	}
	if clean.Get("functions") != nil {
		t.Error("an insecure webhook adds no function")
	}
	if route := clean.Lookup("resources", "Resources", LogicalID("hook", "Route"), "Properties"); route.Get("AuthorizationType").Scalar() != "NONE" || route.Has("AuthorizerId") {
		t.Errorf("insecure route = %v", route.Keys())
	}
}

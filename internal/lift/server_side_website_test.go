package lift

import (
	"reflect"
	"strings"
	"testing"
)

func TestServerSideWebsiteRefusals(t *testing.T) {
	cases := map[string]struct {
		body, path, says string
		line             int
	}{
		"error page not html":        {"    errorPage: error.txt\n", "constructs.site.errorPage", "does not end with '.html'", 6},
		"domain without certificate": {"    domain: shop.example.com\n", "constructs.site.certificate", "a certificate ARN must be configured as well", 6},
		"assets at the root":         {"    assets:\n      '/*': public\n", "constructs.site.assets", "'/' and '/*' cannot be routed to assets", 7},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  site:\n    type: server-side-website\n"+tc.body)
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

func TestServerSideWebsiteOnRestAPIUsesTheStageAsOriginPath(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws, region: eu-west-1}\nconstructs:\n  site:\n    type: server-side-website\n    apiGateway: rest\n")
	l := New(root)
	if _, ds := l.Expand(root, "prod"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	res := root.Lookup("resources", "Resources")
	origin := res.Lookup(LogicalID("site", "CDN", "Resource"), "Properties", "DistributionConfig", "Origins").Items[0]
	domain, _ := origin.Get("DomainName").MarshalJSON()
	if origin.Get("OriginPath").Scalar() != "/prod" || string(domain) != `{"Fn::Join":[".",[{"Ref":"ApiGatewayRestApi"},"execute-api.eu-west-1.amazonaws.com"]]}` {
		t.Errorf("origin = %s %s", origin.Get("OriginPath").Scalar(), domain)
	}
	// Without assets there is nothing for the bucket to serve: no policy
	// and no origin access control.
	if res.Get(LogicalID("site", "Assets", "Policy", "Resource")) != nil || res.Get(LogicalID("site", "S3OriginAccessControl", "Resource")) != nil {
		t.Error("bucket policy or origin access control without assets")
	}
}

func TestServerSideWebsiteErrorPageJoinsItsAssets(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  site:\n    type: server-side-website\n    errorPage: static/oops.html\n    assets:\n      '/css/*': css\n")
	l := New(root)
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if got := root.Lookup("constructs", "site", "assets").Keys(); strings.Join(got, " ") != "/css/* /oops.html" {
		t.Errorf("assets = %v, want lift's addition of the error page", got)
	}
	l.AddResources(root)
	behaviors := root.Lookup("resources", "Resources", LogicalID("site", "CDN", "Resource"), "Properties", "DistributionConfig", "CacheBehaviors")
	if len(behaviors.Items) != 2 || behaviors.Items[1].Get("PathPattern").Scalar() != "/oops.html" || behaviors.Items[1].Get("TargetOriginId").Scalar() != LogicalID("site", "CDN", "Origin3") {
		t.Errorf("behaviors = %v", behaviors)
	}
	w := Websites(root)
	want := []Upload{{Prefix: "css", Local: "css"}, {Prefix: "", Local: "static/oops.html"}}
	if len(w) != 1 || !reflect.DeepEqual(w[0].Uploads, want) || w[0].BucketOutput != LogicalID("site", "AssetsBucketName") {
		t.Errorf("websites = %+v", w)
	}
}

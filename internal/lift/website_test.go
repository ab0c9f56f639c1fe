package lift

import (
	"strings"
	"testing"
)

func TestWebsiteRefusesDomainWithoutCertificateAndRelativeErrorPage(t *testing.T) {
	cases := map[string]struct{ body, path, says string }{
		"domain without certificate": {"    domain: www.example.com\n", "constructs.site.domain", "a certificate ARN must be configured"},
		"relative error page":        {"    errorPage: ./404.html\n", "constructs.site.errorPage", "cannot start with './' or '../'"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  site:\n    type: static-website\n    path: public\n"+tc.body)
			_, ds := New(root).Expand(root, "dev")
			if len(ds) != 1 || !ds.HasErrors() {
				t.Fatalf("want one error, got %v", ds)
			}
			if d := ds[0]; d.Path != tc.path || d.Pos.Line != 7 || !strings.Contains(d.Summary, tc.says) {
				t.Errorf("diagnostic = %+v", d)
			}
		})
	}
}

func TestStaticWebsiteRequestFunctionOnlyToRedirectToMainDomain(t *testing.T) {
	for _, tc := range []struct {
		domains string
		want    bool
	}{
		{"[a.example.com]", false},
		{"[a.example.com, b.example.com]", true},
	} {
		root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  site:\n    type: static-website\n    path: public\n    certificate: arn:c\n    redirectToMainDomain: true\n    domain: "+tc.domains+"\n")
		l := New(root)
		if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
			t.Fatal(ds.Err())
		}
		l.AddResources(root)
		fn := root.Lookup("resources", "Resources", LogicalID("site", "RequestFunction", "Resource"))
		if (fn != nil) != tc.want {
			t.Errorf("domains %s: request function present = %v", tc.domains, fn != nil)
			continue
		}
		if fn != nil && !strings.Contains(fn.Lookup("Properties", "FunctionCode").Scalar(), `!== "a.example.com"`) {
			t.Errorf("request function does not redirect to the first domain:\n%s", fn.Lookup("Properties", "FunctionCode").Scalar())
		}
	}
}

func TestEnsureNameMaxLength(t *testing.T) {
	short := "s-dev-us-east-1-site-response"
	if got := ensureNameMaxLength(short, 64); got != short {
		t.Errorf("short name changed: %s", got)
	}
	long := strings.Repeat("a", 70)
	got := ensureNameMaxLength(long, 64)
	// The suffix is the start of md5(70 × "a"), as Node's crypto gives it.
	if want := strings.Repeat("a", 57) + "-0f5c6c"; got != want {
		t.Errorf("long name = %s", got)
	}
}

func TestSinglePageAppReadsItsPrivateBucketThroughAnOriginIdentity(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  app:\n    type: single-page-app\n    path: dist\n    errorPage: 404.html\n")
	l := New(root)
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	res := root.Lookup("resources", "Resources")
	if res.Get(LogicalID("app", "Bucket", "Resource")).Has("Properties") {
		t.Error("a single-page app's bucket has no website configuration")
	}
	identity := LogicalID("app", "CDN", "Origin1", "S3Origin", "Resource")
	if res.Get(identity) == nil {
		t.Fatalf("no origin access identity %s", identity)
	}
	principal, _ := res.Lookup(LogicalID("app", "Bucket", "Policy", "Resource"), "Properties", "PolicyDocument", "Statement").Items[0].Get("Principal").MarshalJSON()
	if want := `{"CanonicalUser":{"Fn::GetAtt":["` + identity + `","S3CanonicalUserId"]}}`; string(principal) != want {
		t.Errorf("Principal = %s", principal)
	}
	cfg := res.Lookup(LogicalID("app", "CDN", "Resource"), "Properties", "DistributionConfig")
	if page := cfg.Get("CustomErrorResponses").Items[0].Get("ResponsePagePath").Scalar(); page != "/404.html" {
		t.Errorf("error page = %s", page)
	}
	code := res.Lookup(LogicalID("app", "RequestFunction", "Resource"), "Properties", "FunctionCode").Scalar()
	if !strings.Contains(code, `request.uri = "/index.html"`) || strings.Contains(code, "Moved Permanently") {
		t.Errorf("request function:\n%s", code)
	}
}

func TestWebsitesListsOnlyWebsiteConstructs(t *testing.T) {
	doc := "service: s\nconstructs:\n  jobs: {type: queue, worker: {handler: h.h}}\n  site: {type: static-website, path: public, versionedAssets: true}\n  app: {type: single-page-app, path: dist}\n  backend: {type: server-side-website}\n"
	if got := Websites(parse(t, doc)); got != nil {
		t.Errorf("without the plugin: %v", got)
	}
	got := Websites(parse(t, doc+"plugins: [serverless-lift]\n"))
	// A server-side website without assets has nothing to upload.
	if len(got) != 2 || got[0].ID != "site" || !got[0].Versioned || got[1].Versioned {
		t.Fatalf("websites = %+v", got)
	}
	app := got[1]
	if app.BucketOutput != LogicalID("app", "BucketName") || app.DistributionOutput != LogicalID("app", "DistributionId") ||
		len(app.Uploads) != 1 || app.Uploads[0] != (Upload{Prefix: "", Local: "dist"}) {
		t.Errorf("app = %+v", app)
	}
}

package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

const resourceRoutesYML = `
service: shop
provider: {name: aws, runtime: go1.x}
functions:
  local:
    handler: bin/local
    events:
      - http: GET /public/local
resources:
  Resources:
    PublicResource:
      Type: AWS::ApiGateway::Resource
      Properties:
        ParentId: {"Fn::GetAtt": [ApiGatewayRestApi, RootResourceId]}
        PathPart: public
        RestApiId: {Ref: ApiGatewayRestApi}
    ProxyResource:
      Type: AWS::ApiGateway::Resource
      Properties:
        ParentId: {Ref: PublicResource}
        PathPart: "{proxy+}"
        RestApiId: {Ref: ApiGatewayRestApi}
    ProxyMethod:
      Type: AWS::ApiGateway::Method
      Properties:
        ResourceId: {Ref: ProxyResource}
        RestApiId: {Ref: ApiGatewayRestApi}
        HttpMethod: ANY
        Integration: {Type: HTTP_PROXY, IntegrationHttpMethod: ANY, Uri: "https://upstream.invalid/{proxy}"}
    MockMethod:
      Type: AWS::ApiGateway::Method
      Properties:
        ResourceId: {Ref: PublicResource}
        HttpMethod: GET
        Integration: {Type: MOCK}
    OrphanMethod:
      Type: AWS::ApiGateway::Method
      Properties:
        ResourceId: {Ref: Missing}
        HttpMethod: GET
        Integration: {Type: HTTP_PROXY, Uri: "https://x.invalid"}
    JoinedMethod:
      Type: AWS::ApiGateway::Method
      Properties:
        ResourceId: {Ref: PublicResource}
        HttpMethod: POST
        Integration: {Type: HTTP_PROXY, Uri: {"Fn::Join": ["", ["https://", x.invalid]]}}
`

func TestResourceRoutesReadHTTPProxyMethods(t *testing.T) {
	svc := loadService(t, resourceRoutesYML)
	routes, ds := ResourceRoutes(svc, nil)
	if len(routes) != 1 || routes[0].Method != "ANY" || routes[0].Path != "/public/{proxy+}" || routes[0].ProxyURI != "https://upstream.invalid/{proxy}" {
		t.Fatalf("routes %+v", routes)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Path)
	}
	want := "resources.Resources.MockMethod resources.Resources.OrphanMethod resources.Resources.JoinedMethod.Properties.Integration.Uri"
	if strings.Join(got, " ") != want {
		t.Errorf("warnings at %q, want %q (%v)", got, want, ds)
	}
}

func TestResourceRoutesForwardWithParamsQueryAndBody(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Client")+" "+string(b))
	}))
	defer upstream.Close()
	svc := loadService(t, resourceRoutesYML)
	over, _ := config.Parse("o.yml", []byte("ProxyMethod:\n  Uri: "+upstream.URL+"/v1/{proxy}\n"), diag.NewSources())
	proxies, _ := ResourceRoutes(svc, over)
	routes, _ := RoutesFromService(svc)
	inv := &fakeInvoker{}
	srv := httptest.NewServer(New(Config{Routes: append(proxies, routes...), Invoker: inv, Stage: "dev"}))
	defer srv.Close()

	resp, body := do(t, "POST", srv.URL+"/dev/public/a/b?x=1&y=2", "payload", map[string]string{"X-Client": "c1"})
	if resp.StatusCode != http.StatusTeapot || body != "POST /v1/a/b?x=1&y=2 c1 payload" || resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	// A function's own event on a path the proxy also covers still wins.
	if resp, _ := do(t, "GET", srv.URL+"/dev/public/local", "", nil); resp.StatusCode != 200 || len(inv.calls["local"]) != 1 {
		t.Errorf("function route: %d, calls %v", resp.StatusCode, inv.calls)
	}
	upstream.Close()
	if resp, _ := do(t, "GET", srv.URL+"/dev/public/a", "", nil); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("upstream down: %d, want 502", resp.StatusCode)
	}
}

func TestProxyTarget(t *testing.T) {
	for _, c := range []struct {
		uri    string
		params map[string]string
		query  string
		want   string
	}{
		{"https://h/{proxy}", map[string]string{"proxy": "a/b"}, "", "https://h/a/b"},
		{"https://h/{id}/x/{id}", map[string]string{"id": "7"}, "q=1", "https://h/7/x/7?q=1"},
		{"https://h/static", nil, "", "https://h/static"},
	} {
		if got := proxyTarget(c.uri, c.params, c.query); got != c.want {
			t.Errorf("%q: %q, want %q", c.uri, got, c.want)
		}
	}
}

func FuzzResourceRoutes(f *testing.F) {
	f.Add(resourceRoutesYML)
	f.Add("resources:\n  Resources:\n    A: {Type: AWS::ApiGateway::Resource, Properties: {ParentId: {Ref: B}, PathPart: a}}\n    B: {Type: AWS::ApiGateway::Resource, Properties: {ParentId: {Ref: A}, PathPart: b}}\n    M: {Type: AWS::ApiGateway::Method, Properties: {ResourceId: {Ref: A}, HttpMethod: GET, Integration: {Type: HTTP_PROXY, Uri: 'http://x/{a}'}}}\n")
	f.Fuzz(func(t *testing.T, yml string) {
		root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
		if ds.HasErrors() || root == nil {
			return
		}
		svc := loadService(t, "service: s\nprovider: {name: aws}\n")
		svc.Root = root
		routes, _ := ResourceRoutes(svc, root.Lookup("custom", "serverless-offline", "resourceRoutes"))
		for _, r := range routes {
			if r.ProxyURI == "" || !strings.HasPrefix(r.Path, "/") || r.Kind != REST {
				t.Fatalf("bad route %+v", r)
			}
		}
	})
}

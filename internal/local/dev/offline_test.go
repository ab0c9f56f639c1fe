package dev

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
)

const offlineYML = `service: s
custom:
  serverless-offline:
    prefix: api
    noTimeout: true
    localEnvironment: true
    terminateIdleLambdaTime: 30
    httpsProtocol: certs
    ignoreJWTSignature: true
    enforceSecureCookies: true
    corsAllowOrigin: "https://a.example, https://b.example"
    corsAllowHeaders: [accept, x-api-key]
    corsExposedHeaders: WWW-Authenticate
    corsDisallowCredentials: false
    useDocker: true
    layersDir: /tmp/layers
    allowCache: true
    port: 4000
`

func TestOfflineSettingsFromCustom(t *testing.T) {
	svc := load(t, offlineYML)
	var o Options
	ds := applyOfflineSettings(&o, svc.Root.Lookup("custom", "serverless-offline"), svc.Dir)
	if o.Prefix != "api" || !o.NoTimeout || !o.LocalEnvironment || o.IdleTimeout != 30*time.Second ||
		o.HTTPSDir != filepath.Join(svc.Dir, "certs") || !o.IgnoreJWTSignature || !o.EnforceSecureCookies {
		t.Errorf("%+v", o)
	}
	if !reflect.DeepEqual(o.CORS.Origins, []string{"https://a.example", "https://b.example"}) ||
		!reflect.DeepEqual(o.CORS.Headers, []string{"accept", "x-api-key"}) ||
		!reflect.DeepEqual(o.CORS.ExposedHeaders, []string{"WWW-Authenticate"}) ||
		o.CORS.Credentials == nil || !*o.CORS.Credentials {
		t.Errorf("cors %+v", o.CORS)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Path+" @"+d.Pos.String()+": "+d.Summary)
	}
	want := []string{
		"custom.serverless-offline.useDocker @serverless.yml:15:5: useDocker: " + dockerNote,
		"custom.serverless-offline.layersDir @serverless.yml:16:5: layersDir: " + IgnoredOfflineOptions["layersDir"],
		`custom.serverless-offline.allowCache @serverless.yml:17:5: serverless-offline 13 has no option "allowCache"; ignored`,
		`custom.serverless-offline.port @serverless.yml:18:5: serverless-offline 13 has no option "port" (it is httpPort now); ignored`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCommandLineWinsOverCustom(t *testing.T) {
	svc := load(t, offlineYML)
	disallow := false
	o := Options{Prefix: "v2", IdleTimeout: time.Second, HTTPSDir: "/abs/certs"}
	o.CORS.Origins = []string{"https://cli.example"}
	o.CORS.Credentials = &disallow
	applyOfflineSettings(&o, svc.Root.Lookup("custom", "serverless-offline"), svc.Dir)
	if o.Prefix != "v2" || o.IdleTimeout != time.Second || o.HTTPSDir != "/abs/certs" ||
		!reflect.DeepEqual(o.CORS.Origins, []string{"https://cli.example"}) || *o.CORS.Credentials {
		t.Errorf("%+v", o)
	}
}

func TestOfflineSettingsWithWrongTypes(t *testing.T) {
	svc := load(t, "service: s\ncustom:\n  serverless-offline:\n    terminateIdleLambdaTime: soon\n    httpPort: 3000\n")
	var o Options
	ds := applyOfflineSettings(&o, svc.Root.Lookup("custom", "serverless-offline"), svc.Dir)
	if o.IdleTimeout != 0 || o.HTTPPort != 3000 {
		t.Errorf("%+v", o)
	}
	if len(ds) != 1 || ds[0].Path != "custom.serverless-offline.terminateIdleLambdaTime" || ds[0].Pos.Line != 4 ||
		!strings.Contains(ds[0].Summary, `must be a whole number, not "soon"`) {
		t.Errorf("%+v", ds)
	}
}

func TestEveryOfflineOptionIsKnown(t *testing.T) {
	// serverless-offline 13.10's commandOptions.js, in its order.
	want := strings.Fields(`albPort corsAllowHeaders corsAllowOrigin corsDisallowCredentials corsExposedHeaders
		disableCookieValidation dockerHost dockerHostServicePath dockerNetwork dockerReadOnly enforceSecureCookies
		host httpPort httpsProtocol ignoreJWTSignature lambdaPort layersDir localEnvironment noAuth
		noPrependStageInUrl noSponsor noTimeout prefix preLoadModules reloadHandler resourceRoutes
		terminateIdleLambdaTime useDocker useInProcess webSocketHardTimeout webSocketIdleTimeout websocketPort`)
	sort.Strings(want)
	if got := OfflineOptionNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("%q\nwant %q", got, want)
	}
}

// deadlineInvoker records whether each invocation's context has a deadline.
type deadlineInvoker struct{ deadlines chan bool }

func (d *deadlineInvoker) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	_, has := ctx.Deadline()
	d.deadlines <- has
	return &local.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

func TestNoTimeoutLiftsTheIntegrationTimeout(t *testing.T) {
	yml := "service: s\nprovider: {name: aws, runtime: nodejs20.x}\nfunctions:\n  long:\n    handler: h.h\n    timeout: 120\n    events:\n      - http: GET /long\n      - httpApi: GET /v2/long\n"
	for _, noTimeout := range []bool{false, true} {
		inv := &deadlineInvoker{deadlines: make(chan bool, 2)}
		s, err := Start(context.Background(), load(t, yml), Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, Invoker: inv, NoTimeout: noTimeout})
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/dev/long", "/v2/long"} {
			resp, err := http.Get(s.HTTPURL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// A 120 s function is cut at API Gateway's 29/30 s unless --noTimeout.
			if has := <-inv.deadlines; has == noTimeout {
				t.Errorf("noTimeout=%v %s: deadline %v", noTimeout, path, has)
			}
		}
		s.Shutdown(context.Background())
	}
}

func FuzzOfflineSettings(f *testing.F) {
	f.Add(offlineYML)
	f.Add("custom:\n  serverless-offline:\n    corsAllowOrigin: [a, {b: c}]\n    terminateIdleLambdaTime: 1.5\n    httpsProtocol: [x]\n")
	f.Fuzz(func(t *testing.T, yml string) {
		root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
		if ds.HasErrors() || root == nil {
			return
		}
		var o Options
		for _, d := range applyOfflineSettings(&o, root.Lookup("custom", "serverless-offline"), "/svc") {
			if !strings.HasPrefix(d.Path, "custom.serverless-offline.") || d.Severity != diag.Warning {
				t.Fatalf("diagnostic %+v", d)
			}
		}
		if o.IdleTimeout < 0 || (o.HTTPSDir != "" && !filepath.IsAbs(o.HTTPSDir)) {
			t.Fatalf("%+v", o)
		}
	})
}

func TestPrefixReachesALBRules(t *testing.T) {
	yml := "service: s\nprovider: {name: aws, runtime: nodejs20.x}\nfunctions:\n  orders:\n    handler: h.h\n    events:\n      - alb: {listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2, priority: 1, conditions: {path: /orders}}\n"
	for _, c := range []struct {
		noStage bool
		path    string
		want    int
	}{{false, "/api/dev/orders", 200}, {false, "/orders", 200}, {false, "/dev/orders", 404}, {true, "/api/orders", 200}, {true, "/api/dev/orders", 404}} {
		inv := &deadlineInvoker{deadlines: make(chan bool, 1)}
		s, err := Start(context.Background(), load(t, yml), Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, ALBPort: -1,
			Invoker: inv, Prefix: "api", NoPrependStage: c.noStage})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(s.ALBURL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("noPrependStageInUrl=%v %s: %d, want %d", c.noStage, c.path, resp.StatusCode, c.want)
		}
		s.Shutdown(context.Background())
	}
}

// writeSelfSigned puts a cert.pem and key.pem for 127.0.0.1 into dir.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

func TestHTTPSServesHTTPWebSocketAndALB(t *testing.T) {
	yml := "service: s\nprovider: {name: aws, runtime: nodejs20.x}\nfunctions:\n  f:\n    handler: h.h\n    events:\n      - http: GET /hello\n      - websocket: $default\n      - alb: {listenerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2, priority: 1, conditions: {path: /hello}}\n"
	certs := t.TempDir()
	writeSelfSigned(t, certs)
	inv := &deadlineInvoker{deadlines: make(chan bool, 8)}
	s, err := Start(context.Background(), load(t, yml), Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, ALBPort: -1, WebSocketPort: -1,
		Invoker: inv, HTTPSDir: certs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	for _, u := range []string{s.HTTPURL, s.WebSocketURL, s.ALBURL} {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("%s is not https", u)
		}
	}
	if !strings.HasPrefix(s.LambdaURL, "http://") || !strings.HasPrefix(s.AWSURL, "http://") {
		t.Errorf("Lambda and AWS APIs should stay plain HTTP: %s %s", s.LambdaURL, s.AWSURL)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, u := range []string{s.HTTPURL + "/dev/hello", s.ALBURL + "/hello"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Errorf("%s: %d over TLS %v", u, resp.StatusCode, resp.TLS != nil)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(s.WebSocketURL, "https")+"/dev", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	conn.Close(websocket.StatusNormalClosure, "")

	if _, err := Start(context.Background(), load(t, yml), Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, Invoker: inv, HTTPSDir: t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), "needs cert.pem and key.pem") {
		t.Errorf("missing certificates: %v", err)
	}
}

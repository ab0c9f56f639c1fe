package dev

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
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

package dev

import (
	"path/filepath"
	"sort"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local/gateway"
)

// dockerNote is what Nimbus does instead of serverless-offline's Docker
// options.
const dockerNote = "Nimbus runs every runtime as a local process and never uses Docker; ignored"

// IgnoredOfflineOptions are serverless-offline 13 options that have no
// meaning for Nimbus, each with the one line that tells the user what
// Nimbus does instead. They are accepted on the command line and in
// custom.serverless-offline so a habit or a shared config keeps working.
var IgnoredOfflineOptions = map[string]string{
	"dockerHost":              dockerNote,
	"dockerHostServicePath":   dockerNote,
	"dockerNetwork":           dockerNote,
	"dockerReadOnly":          dockerNote,
	"useDocker":               dockerNote,
	"useInProcess":            "Nimbus always runs each instance as its own process; ignored",
	"preLoadModules":          "Nimbus starts each instance as its own process, with no shared main thread to preload modules into; ignored",
	"noSponsor":               "Nimbus prints no sponsor message; ignored",
	"reloadHandler":           "Nimbus already reloads a function whenever its code changes (--no-reload turns that off); accepted",
	"layersDir":               "serverless-offline only downloads layers there for Docker; Nimbus uses the service's own layers from their folders and cannot fetch layers by ARN; ignored",
	"disableCookieValidation": "Nimbus passes the Cookie header to functions as sent, like API Gateway, and never rejects a request for its cookies; accepted",
}

// offlineOptions are every option serverless-offline 13 reads (its
// commandOptions.js), plus Nimbus's own awsPort and apiKey.
var offlineOptions = map[string]bool{
	"albPort": true, "corsAllowHeaders": true, "corsAllowOrigin": true, "corsDisallowCredentials": true,
	"corsExposedHeaders": true, "disableCookieValidation": true, "dockerHost": true, "dockerHostServicePath": true,
	"dockerNetwork": true, "dockerReadOnly": true, "enforceSecureCookies": true, "host": true, "httpPort": true,
	"httpsProtocol": true, "ignoreJWTSignature": true, "lambdaPort": true, "layersDir": true, "localEnvironment": true,
	"noAuth": true, "noPrependStageInUrl": true, "noSponsor": true, "noTimeout": true, "prefix": true,
	"preLoadModules": true, "reloadHandler": true, "resourceRoutes": true, "terminateIdleLambdaTime": true,
	"useDocker": true, "useInProcess": true, "webSocketHardTimeout": true, "webSocketIdleTimeout": true,
	"websocketPort": true, "awsPort": true, "apiKey": true,
}

// renamedOfflineOptions are older serverless-offline options that
// services still carry, with their current name.
var renamedOfflineOptions = map[string]string{"port": "httpPort"}

// applyOfflineSettings reads custom.serverless-offline the way the plugin
// merges it: every option the command line left unset takes the value
// found there. Options Nimbus ignores, and keys serverless-offline 13 does
// not know, are reported as warnings at their place in the file.
func applyOfflineSettings(o *Options, c *config.Node, dir string) diag.Diagnostics {
	var ds diag.Diagnostics
	if c == nil || c.Kind != config.Map {
		return ds
	}
	const at = "custom.serverless-offline."
	for _, p := range c.Pairs {
		if note, ok := IgnoredOfflineOptions[p.Key]; ok {
			ds.Warnf(p.KeyPos, at+p.Key, "%s: %s", p.Key, note)
		} else if renamed, ok := renamedOfflineOptions[p.Key]; ok {
			ds.Warnf(p.KeyPos, at+p.Key, "serverless-offline 13 has no option %q (it is %s now); ignored", p.Key, renamed)
		} else if !offlineOptions[p.Key] {
			ds.Warnf(p.KeyPos, at+p.Key, "serverless-offline 13 has no option %q; ignored", p.Key)
		}
	}
	number := func(key string) (int64, bool) {
		n := c.Get(key)
		if n == nil || n.Kind == config.Null {
			return 0, false
		}
		v, ok := n.Int()
		if !ok {
			ds.Warnf(n.Pos, at+key, "%s must be a whole number, not %q; ignored", key, n.Scalar0())
		}
		return v, ok
	}
	port := func(dst *int, key string) {
		if v, ok := number(key); ok && *dst == 0 {
			*dst = int(v)
		}
	}
	port(&o.HTTPPort, "httpPort")
	port(&o.LambdaPort, "lambdaPort")
	port(&o.AWSPort, "awsPort")
	port(&o.WebSocketPort, "websocketPort")
	port(&o.ALBPort, "albPort")
	seconds := func(dst *time.Duration, key string) {
		if v, ok := number(key); ok && *dst == 0 && v > 0 {
			*dst = time.Duration(v) * time.Second
		}
	}
	seconds(&o.WebSocketIdleTimeout, "webSocketIdleTimeout")
	seconds(&o.WebSocketHardTimeout, "webSocketHardTimeout")
	seconds(&o.IdleTimeout, "terminateIdleLambdaTime")
	text := func(dst *string, key string) {
		if *dst == "" {
			*dst = c.Get(key).Scalar0()
		}
	}
	text(&o.Host, "host")
	text(&o.APIKey, "apiKey")
	text(&o.Prefix, "prefix")
	if o.HTTPSDir == "" {
		if d := c.Get("httpsProtocol").Scalar0(); d != "" {
			if !filepath.IsAbs(d) {
				d = filepath.Join(dir, d)
			}
			o.HTTPSDir = d
		}
	}
	flag := func(dst *bool, key string) { *dst = *dst || c.Get(key).Truthy() }
	flag(&o.NoPrependStage, "noPrependStageInUrl")
	flag(&o.NoAuth, "noAuth")
	flag(&o.NoTimeout, "noTimeout")
	flag(&o.LocalEnvironment, "localEnvironment")
	flag(&o.IgnoreJWTSignature, "ignoreJWTSignature")
	flag(&o.EnforceSecureCookies, "enforceSecureCookies")
	flag(&o.ResourceRoutes, "resourceRoutes")
	list := func(dst *[]string, key string) {
		n := c.Get(key)
		if *dst != nil || n == nil || n.Kind == config.Null {
			return
		}
		if n.Kind == config.Seq {
			// The plugin wants one comma-separated string; a YAML list
			// means the same and is taken as such.
			out := []string{}
			for _, it := range n.Items {
				out = append(out, gateway.SplitCORSList(it.Scalar0())...)
			}
			*dst = out
			return
		}
		*dst = gateway.SplitCORSList(n.Scalar0())
	}
	list(&o.CORS.Origins, "corsAllowOrigin")
	list(&o.CORS.Headers, "corsAllowHeaders")
	list(&o.CORS.ExposedHeaders, "corsExposedHeaders")
	if n := c.Get("corsDisallowCredentials"); o.CORS.Credentials == nil && n != nil && n.Kind != config.Null {
		allow := !n.Truthy()
		o.CORS.Credentials = &allow
	}
	return ds
}

// OfflineOptionNames lists serverless-offline 13's options in name order.
func OfflineOptionNames() []string {
	var out []string
	for k := range offlineOptions {
		if k != "awsPort" && k != "apiKey" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

package nimbus

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local/dev"
	"github.com/nimbusfw/nimbus/internal/local/gateway"
)

// DevOptions configure Dev; zero values take serverless-offline's
// defaults (127.0.0.1, HTTP port 3000, Lambda port 3002, and 3005 for the
// local SQS/SNS/EventBridge API). A port of -1 picks a free one.
type DevOptions struct {
	Host                          string
	HTTPPort, LambdaPort, AWSPort int
	// WebSocketPort (default 3001) and ALBPort (default 3003) are opened
	// only when the service has websocket or alb events.
	WebSocketPort, ALBPort int
	// WebSocketIdleTimeout and WebSocketHardTimeout close quiet or old
	// WebSocket connections (10 minutes and 2 hours when zero, as on AWS).
	WebSocketIdleTimeout, WebSocketHardTimeout time.Duration
	NoPrependStage, NoAuth                     bool
	APIKey                                     string
	// ClockSpeed runs schedules faster than real time (tests, demos).
	ClockSpeed float64
	// NoWatch turns hot reload off.
	NoWatch bool
	// MaxConcurrency caps instances per function without reserved concurrency.
	MaxConcurrency int
	// Log receives request lines and function output.
	Log io.Writer

	// serverless-offline 13's options (custom.serverless-offline fills
	// those left unset).

	// Prefix serves HTTP routes under /{Prefix}/….
	Prefix string
	// NoTimeout lets invocations run past their function's timeout.
	NoTimeout bool
	// LocalEnvironment gives handlers this process's environment beneath
	// the service's variables.
	LocalEnvironment bool
	// IdleTimeout stops instances idle this long (5 minutes when zero).
	IdleTimeout time.Duration
	// HTTPSDir serves HTTP, WebSocket and ALB over TLS with cert.pem and
	// key.pem from this folder.
	HTTPSDir string
	// IgnoreJWTSignature accepts JWTs without checking their signature.
	IgnoreJWTSignature bool
	// EnforceSecureCookies marks cookies set by functions Secure and HttpOnly.
	EnforceSecureCookies bool
	// ResourceRoutes forwards resources' HTTP_PROXY API Gateway methods to
	// their Uri.
	ResourceRoutes bool
	// CORSAllowOrigin, CORSAllowHeaders and CORSExposedHeaders are
	// comma-separated lists for REST routes with cors; nil leaves API
	// Gateway's defaults. CORSDisallowCredentials, when set, decides
	// whether such routes allow credentials.
	CORSAllowOrigin, CORSAllowHeaders, CORSExposedHeaders *string
	CORSDisallowCredentials                               *bool
}

// IgnoredOfflineOptions are the serverless-offline options Nimbus accepts
// without effect, each with the line saying what Nimbus does instead.
var IgnoredOfflineOptions = dev.IgnoredOfflineOptions

func (o DevOptions) offlineCORS() gateway.OfflineCORS {
	var c gateway.OfflineCORS
	if o.CORSAllowOrigin != nil {
		c.Origins = gateway.SplitCORSList(*o.CORSAllowOrigin)
	}
	if o.CORSAllowHeaders != nil {
		c.Headers = gateway.SplitCORSList(*o.CORSAllowHeaders)
	}
	if o.CORSExposedHeaders != nil {
		c.ExposedHeaders = gateway.SplitCORSList(*o.CORSExposedHeaders)
	}
	if o.CORSDisallowCredentials != nil {
		allow := !*o.CORSDisallowCredentials
		c.Credentials = &allow
	}
	return c
}

// DevSession is a running local copy of the service.
type DevSession struct {
	HTTPURL, LambdaURL, AWSURL string
	// WebSocketURL and ALBURL are empty when the service has no such events.
	WebSocketURL, ALBURL string
	// Warnings are settings that cannot run locally.
	Warnings diag.Diagnostics
	s        *dev.Session
}

// Dev starts the service on this machine: HTTP events behind an API
// Gateway emulation, Lambda's Invoke API, schedules, durable queues,
// topics, buses and hot reload. Stop it with Shutdown.
func (p *Project) Dev(ctx context.Context, opts DevOptions) (*DevSession, error) {
	// `--config examples/x/serverless.yml` runs that service from its own
	// folder: handlers and .nimbus state are relative to the file, so the
	// examples run from the repository root.
	svc := p.Service
	if d := filepath.Dir(svc.ConfigFile); svc.ConfigFile != "" && d != svc.Dir {
		moved := *svc
		moved.Dir = d
		svc = &moved
	}
	s, err := dev.Start(ctx, svc, dev.Options{
		Host: opts.Host, HTTPPort: opts.HTTPPort, LambdaPort: opts.LambdaPort, AWSPort: opts.AWSPort,
		WebSocketPort: opts.WebSocketPort, ALBPort: opts.ALBPort,
		WebSocketIdleTimeout: opts.WebSocketIdleTimeout, WebSocketHardTimeout: opts.WebSocketHardTimeout,
		NoPrependStage: opts.NoPrependStage, NoAuth: opts.NoAuth, APIKey: opts.APIKey,
		ClockSpeed: opts.ClockSpeed, NoWatch: opts.NoWatch, MaxConcurrency: opts.MaxConcurrency, Log: opts.Log,
		Prefix: opts.Prefix, NoTimeout: opts.NoTimeout, LocalEnvironment: opts.LocalEnvironment,
		IdleTimeout: opts.IdleTimeout, HTTPSDir: opts.HTTPSDir, IgnoreJWTSignature: opts.IgnoreJWTSignature,
		EnforceSecureCookies: opts.EnforceSecureCookies, CORS: opts.offlineCORS(), ResourceRoutes: opts.ResourceRoutes,
	})
	if err != nil {
		return nil, err
	}
	return &DevSession{HTTPURL: s.HTTPURL, LambdaURL: s.LambdaURL, AWSURL: s.AWSURL,
		WebSocketURL: s.WebSocketURL, ALBURL: s.ALBURL, Warnings: s.Warnings, s: s}, nil
}

// DevEndpoint is one HTTP route: where it is served and the Lambda Invoke
// API URL of its function.
type DevEndpoint = dev.Endpoint

// DevSchedule is one schedule event.
type DevSchedule = dev.Schedule

// DevResource is a local queue (with its URL) or topic (with its ARN).
type DevResource = dev.Resource

// Endpoints lists the HTTP routes in display order.
func (d *DevSession) Endpoints() []DevEndpoint { return d.s.Endpoints() }

// DevWebSocketRoute is one websocket route and its function.
type DevWebSocketRoute = dev.WebSocketRoute

// DevALBRoute is one alb listener rule.
type DevALBRoute = dev.ALBRoute

// WebSocketRoutes lists the websocket routes.
func (d *DevSession) WebSocketRoutes() []DevWebSocketRoute { return d.s.WebSocketRoutes() }

// ALBRoutes lists the alb rules in evaluation order.
func (d *DevSession) ALBRoutes() []DevALBRoute { return d.s.ALBRoutes() }

// Schedules lists the schedule events.
func (d *DevSession) Schedules() []DevSchedule { return d.s.Schedules() }

// Queues lists the local queues.
func (d *DevSession) Queues() []DevResource { return d.s.Queues() }

// Topics lists the local topics.
func (d *DevSession) Topics() []DevResource { return d.s.Topics() }

// APIKey is accepted by private routes; empty when the service has none.
func (d *DevSession) APIKey() string {
	if !d.s.HasPrivateRoutes() {
		return ""
	}
	return d.s.APIKey
}

// Err delivers an error when a server stops on its own.
func (d *DevSession) Err() <-chan error { return d.s.Err() }

// Shutdown drains requests and deliveries in flight (bounded by ctx) and
// stops every function.
func (d *DevSession) Shutdown(ctx context.Context) error { return d.s.Shutdown(ctx) }

package nimbus

import (
	"context"
	"io"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local/dev"
)

// DevOptions configure Dev; zero values take serverless-offline's
// defaults (127.0.0.1, HTTP port 3000, Lambda port 3002, and 3005 for the
// local SQS/SNS/EventBridge API). A port of -1 picks a free one.
type DevOptions struct {
	Host                          string
	HTTPPort, LambdaPort, AWSPort int
	NoPrependStage, NoAuth        bool
	APIKey                        string
	// ClockSpeed runs schedules faster than real time (tests, demos).
	ClockSpeed float64
	// NoWatch turns hot reload off.
	NoWatch bool
	// MaxConcurrency caps instances per function without reserved concurrency.
	MaxConcurrency int
	// Log receives request lines and function output.
	Log io.Writer
}

// DevSession is a running local copy of the service.
type DevSession struct {
	HTTPURL, LambdaURL, AWSURL string
	// Warnings are settings that cannot run locally.
	Warnings diag.Diagnostics
	s        *dev.Session
}

// Dev starts the service on this machine: HTTP events behind an API
// Gateway emulation, Lambda's Invoke API, schedules, durable queues,
// topics, buses and hot reload. Stop it with Shutdown.
func (p *Project) Dev(ctx context.Context, opts DevOptions) (*DevSession, error) {
	s, err := dev.Start(ctx, p.Service, dev.Options{
		Host: opts.Host, HTTPPort: opts.HTTPPort, LambdaPort: opts.LambdaPort, AWSPort: opts.AWSPort,
		NoPrependStage: opts.NoPrependStage, NoAuth: opts.NoAuth, APIKey: opts.APIKey,
		ClockSpeed: opts.ClockSpeed, NoWatch: opts.NoWatch, MaxConcurrency: opts.MaxConcurrency, Log: opts.Log,
	})
	if err != nil {
		return nil, err
	}
	return &DevSession{HTTPURL: s.HTTPURL, LambdaURL: s.LambdaURL, AWSURL: s.AWSURL, Warnings: s.Warnings, s: s}, nil
}

// PrintBanner writes the routes table and endpoints.
func (d *DevSession) PrintBanner(w io.Writer) { d.s.PrintBanner(w) }

// Err delivers an error when a server stops on its own.
func (d *DevSession) Err() <-chan error { return d.s.Err() }

// Shutdown drains requests and deliveries in flight (bounded by ctx) and
// stops every function.
func (d *DevSession) Shutdown(ctx context.Context) error { return d.s.Shutdown(ctx) }

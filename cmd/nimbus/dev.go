package main

import (
	"context"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newDevCmd) }

// newDevCmd is `nimbus dev`, also reachable as `nimbus offline` and
// `nimbus offline start` for serverless-offline habits.
func newDevCmd() *cobra.Command {
	var o nimbus.DevOptions
	var cpuProfile string
	run := func(cmd *cobra.Command, _ []string) error {
		p, err := loadProject(cmd)
		if err != nil {
			return err
		}
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		ctx, stop := signalContext()
		defer stop()
		o.Log = cmd.OutOrStdout()
		s, err := p.Dev(ctx, o)
		if err != nil {
			return &exitError{code: 1, err: err, sources: p.Sources}
		}
		if len(s.Warnings) > 0 {
			diag.Render(cmd.ErrOrStderr(), s.Warnings, p.Sources)
		}
		s.PrintBanner(cmd.OutOrStdout())
		var serveErr error
		select {
		case <-ctx.Done():
		case serveErr = <-s.Err():
		}
		cmd.PrintErrln("Halting nimbus dev: finishing requests in flight…")
		drain, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s.Shutdown(drain)
		if serveErr != nil {
			return &exitError{code: 1, err: serveErr}
		}
		return nil
	}
	cmd := &cobra.Command{
		Use:     "dev",
		Aliases: []string{"offline"},
		Short:   "Run the whole service on this machine: HTTP, schedules, queues, topics, hot reload",
		Long: "nimbus dev serves the service's http and httpApi events like API Gateway, Lambda's Invoke API,\n" +
			"schedules, durable SQS queues, SNS topics and EventBridge buses, with local SQS/SNS/EventBridge\n" +
			"endpoints for the functions' own SDKs, and reloads functions when their code changes.\n" +
			"`nimbus offline` and `nimbus offline start` are aliases for serverless-offline habits.",
		Args: cobra.NoArgs,
		RunE: run,
	}
	f := cmd.Flags()
	f.StringVar(&o.Host, "host", "127.0.0.1", "address to listen on")
	f.IntVar(&o.HTTPPort, "httpPort", 3000, "port of the HTTP API (REST routes under /{stage}/path)")
	f.IntVar(&o.LambdaPort, "lambdaPort", 3002, "port of Lambda's Invoke API")
	f.IntVar(&o.AWSPort, "awsPort", 3005, "port of the local SQS, SNS and EventBridge API")
	f.BoolVar(&o.NoPrependStage, "noPrependStageInUrl", false, "serve REST routes at /path instead of /{stage}/path")
	f.BoolVar(&o.NoAuth, "noAuth", false, "turn every authorizer and API key check off")
	f.StringVar(&o.APIKey, "apiKey", "", "API key accepted by private routes (default: generated)")
	f.BoolVar(&o.NoWatch, "no-reload", false, "do not reload functions when their code changes")
	f.IntVar(&o.MaxConcurrency, "max-concurrency", 0, "instances per function without reservedConcurrency (default 10)")
	f.Float64Var(&o.ClockSpeed, "clock-speed", 1, "run schedules this many times faster than real time")
	f.MarkHidden("clock-speed")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the session to this file")
	f.MarkHidden("cpuprofile")
	start := &cobra.Command{
		Use:   "start",
		Short: "Same as `nimbus dev` (serverless-offline's `offline start`)",
		Args:  cobra.NoArgs,
		RunE:  run,
	}
	start.Flags().AddFlagSet(f)
	cmd.AddCommand(start)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
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
	var wsIdle, wsHard int // seconds, as serverless-offline takes them
	var idleLambda int     // seconds
	var corsOrigin, corsHeaders, corsExposed string
	var corsDisallow bool
	run := func(cmd *cobra.Command, _ []string) error {
		p, err := loadProject(cmd)
		if err != nil {
			return err
		}
		fl := cmd.Flags()
		for _, name := range slices.Sorted(maps.Keys(nimbus.IgnoredOfflineOptions)) {
			if fl.Changed(name) {
				fmt.Fprintf(cmd.ErrOrStderr(), "--%s: %s\n", name, nimbus.IgnoredOfflineOptions[name])
			}
		}
		if fl.Changed("corsAllowOrigin") {
			o.CORSAllowOrigin = &corsOrigin
		}
		if fl.Changed("corsAllowHeaders") {
			o.CORSAllowHeaders = &corsHeaders
		}
		if fl.Changed("corsExposedHeaders") {
			o.CORSExposedHeaders = &corsExposed
		}
		if fl.Changed("corsDisallowCredentials") {
			o.CORSDisallowCredentials = &corsDisallow
		}
		if allow, _ := fl.GetBool("no-corsDisallowCredentials"); allow {
			// serverless v3's spelling of "false" for a boolean option.
			corsDisallow = false
			o.CORSDisallowCredentials = &corsDisallow
		}
		if fl.Changed("no-dockerReadOnly") {
			fmt.Fprintf(cmd.ErrOrStderr(), "--no-dockerReadOnly: %s\n", nimbus.IgnoredOfflineOptions["dockerReadOnly"])
		}
		if idleLambda > 0 {
			o.IdleTimeout = time.Duration(idleLambda) * time.Second
		}
		if o.HTTPSDir != "" {
			if o.HTTPSDir, err = filepath.Abs(o.HTTPSDir); err != nil {
				return err
			}
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
		o.WebSocketIdleTimeout, o.WebSocketHardTimeout = time.Duration(wsIdle)*time.Second, time.Duration(wsHard)*time.Second
		s, err := p.Dev(ctx, o)
		if err != nil {
			return &exitError{code: 1, err: err, sources: p.Sources}
		}
		if len(s.Warnings) > 0 {
			diag.Render(cmd.ErrOrStderr(), s.Warnings, p.Sources)
		}
		printDevBanner(cmd.OutOrStdout(), s)
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
		Short:   "Run the whole service on this machine: HTTP, WebSocket, ALB, schedules, queues, topics, hot reload",
		Long: "nimbus dev serves the service's http, httpApi and websocket events like API Gateway, alb events\n" +
			"like an Application Load Balancer, Lambda's Invoke API,\n" +
			"schedules, durable SQS queues, SNS topics and EventBridge buses, with local SQS/SNS/EventBridge\n" +
			"endpoints for the functions' own SDKs, and reloads functions when their code changes.\n" +
			"`nimbus offline` and `nimbus offline start` are aliases for serverless-offline habits.",
		Args: cobra.NoArgs,
		RunE: run,
	}
	f := cmd.Flags()
	// Zero values defer to custom.serverless-offline, then to the defaults.
	f.StringVar(&o.Host, "host", "", "address to listen on (default 127.0.0.1)")
	f.IntVar(&o.HTTPPort, "httpPort", 0, "port of the HTTP API, REST routes under /{stage}/path (default 3000)")
	f.IntVar(&o.LambdaPort, "lambdaPort", 0, "port of Lambda's Invoke API (default 3002)")
	f.IntVar(&o.AWSPort, "awsPort", 0, "port of the local SQS, SNS and EventBridge API (default 3005)")
	f.IntVar(&o.WebSocketPort, "websocketPort", 0, "port of the WebSocket API and its @connections API (default 3001)")
	f.IntVar(&wsIdle, "webSocketIdleTimeout", 0, "close WebSocket connections quiet for this many seconds (default 600)")
	f.IntVar(&wsHard, "webSocketHardTimeout", 0, "close WebSocket connections open for this many seconds (default 7200)")
	f.IntVar(&o.ALBPort, "albPort", 0, "port of the Application Load Balancer serving alb events (default 3003)")
	f.BoolVar(&o.NoPrependStage, "noPrependStageInUrl", false, "serve REST routes at /path instead of /{stage}/path")
	f.BoolVar(&o.NoAuth, "noAuth", false, "turn every authorizer and API key check off")
	f.StringVar(&o.APIKey, "apiKey", "", "API key accepted by private routes (default: generated)")
	f.BoolVar(&o.NoWatch, "no-reload", false, "do not reload functions when their code changes")
	f.IntVar(&o.MaxConcurrency, "max-concurrency", 0, "instances per function without reservedConcurrency (default 10)")
	f.Float64Var(&o.ClockSpeed, "clock-speed", 1, "run schedules this many times faster than real time")
	f.MarkHidden("clock-speed")
	// serverless-offline 13's other options, so its users' commands carry over.
	f.StringVar(&o.Prefix, "prefix", "", "serve HTTP and ALB routes under /{prefix}/…")
	f.BoolVar(&o.NoTimeout, "noTimeout", false, "let invocations run past their function's timeout (for debuggers)")
	f.BoolVar(&o.LocalEnvironment, "localEnvironment", false, "give handlers this shell's environment beneath the service's variables")
	f.IntVar(&idleLambda, "terminateIdleLambdaTime", 0, "stop function instances idle for this many seconds (default 300)")
	f.StringVar(&o.HTTPSDir, "httpsProtocol", "", "serve HTTP, WebSocket and ALB over HTTPS with cert.pem and key.pem from this folder")
	f.BoolVar(&o.IgnoreJWTSignature, "ignoreJWTSignature", false, "accept JWTs without checking their signature (issuer, audience, expiry still checked)")
	f.BoolVar(&o.EnforceSecureCookies, "enforceSecureCookies", false, "mark every cookie a function sets Secure and HttpOnly")
	f.StringVar(&corsOrigin, "corsAllowOrigin", "", "comma-separated origins for REST routes whose cors names none")
	f.StringVar(&corsHeaders, "corsAllowHeaders", "", "comma-separated headers for REST routes whose cors names none")
	f.StringVar(&corsExposed, "corsExposedHeaders", "", "comma-separated Access-Control-Expose-Headers for REST routes with cors")
	f.BoolVar(&corsDisallow, "corsDisallowCredentials", false, "false allows credentials on every REST route with cors")
	f.Bool("no-corsDisallowCredentials", false, "allow credentials on every REST route with cors (serverless v3's --no-<option>)")
	f.Bool("no-dockerReadOnly", false, "serverless-offline option: "+nimbus.IgnoredOfflineOptions["dockerReadOnly"])
	f.MarkHidden("no-dockerReadOnly")
	f.BoolVar(&o.ResourceRoutes, "resourceRoutes", false, "forward resources' HTTP_PROXY API Gateway methods to their Uri")
	var ignored struct {
		text string
		flag bool
	}
	for _, name := range []string{"dockerHost", "dockerHostServicePath", "dockerNetwork", "layersDir", "preLoadModules"} {
		f.StringVar(&ignored.text, name, "", "serverless-offline option: "+nimbus.IgnoredOfflineOptions[name])
	}
	for _, name := range []string{"dockerReadOnly", "useDocker", "useInProcess", "noSponsor", "reloadHandler", "disableCookieValidation"} {
		f.BoolVar(&ignored.flag, name, false, "serverless-offline option: "+nimbus.IgnoredOfflineOptions[name])
	}
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

// printDevBanner shows the routes the way serverless-offline does (each
// route, then its function's Invoke API URL), then schedules, queues,
// topics and the endpoints.
func printDevBanner(w io.Writer, s *nimbus.DevSession) {
	eps := s.Endpoints()
	if len(eps) > 0 {
		var lines [][2]string
		for _, e := range eps {
			if e.ProxyURI != "" {
				lines = append(lines, [2]string{e.Method, e.URL}, [2]string{"PROXY", e.ProxyURI})
				continue
			}
			lines = append(lines, [2]string{e.Method, e.URL}, [2]string{"POST", e.InvokeURL})
		}
		mw, lw := 4, 0
		for _, l := range lines {
			mw, lw = max(mw, len(l[0])), max(lw, len(l[1]))
		}
		width := mw + lw + 9
		fmt.Fprintf(w, "\n   ┌%s┐\n   │%s│\n", strings.Repeat("─", width), strings.Repeat(" ", width))
		for _, l := range lines {
			fmt.Fprintf(w, "   │   %-*s | %-*s   │\n", mw, l[0], lw, l[1])
		}
		fmt.Fprintf(w, "   │%s│\n   └%s┘\n\n", strings.Repeat(" ", width), strings.Repeat("─", width))
	}
	for _, r := range s.WebSocketRoutes() {
		fmt.Fprintf(w, "WebSocket route %s (λ: %s): %s\n", r.Route, r.Function, wsURL(s.WebSocketURL))
	}
	if s.WebSocketURL != "" {
		fmt.Fprintf(w, "WebSocket @connections API: %s/@connections/{connectionId}\n", s.WebSocketURL)
	}
	for _, r := range s.ALBRoutes() {
		method := "ANY"
		if len(r.Methods) > 0 {
			method = strings.Join(r.Methods, ",")
		}
		fmt.Fprintf(w, "ALB rule %d: %s %s (λ: %s)\n", r.Priority, method, r.URL, r.Function)
	}
	if k := s.APIKey(); k != "" {
		fmt.Fprintf(w, "Key with token: %s\n", k)
	}
	for _, sc := range s.Schedules() {
		state := ""
		if !sc.Enabled {
			state = " (disabled)"
		}
		fmt.Fprintf(w, "Scheduling [%s] with [%s]%s\n", sc.Function, strings.Join(sc.Expressions, ", "), state)
	}
	for _, q := range s.Queues() {
		fmt.Fprintf(w, "Queue %s: %s\n", q.Name, q.Address)
	}
	for _, t := range s.Topics() {
		fmt.Fprintf(w, "Topic %s: %s\n", t.Name, t.Address)
	}
	fmt.Fprintf(w, "Lambda API (aws lambda invoke --endpoint-url): %s\n", s.LambdaURL)
	fmt.Fprintf(w, "SQS, SNS and EventBridge API (AWS_ENDPOINT_URL_SQS/SNS/EVENTBRIDGE): %s\n", s.AWSURL)
	fmt.Fprintf(w, "Server ready: %s\n", s.HTTPURL)
}

func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newDeployCmd) }

// deploySubcommands lets other files add `deploy …` subcommands (function, list).
var deploySubcommands []func() *cobra.Command

func newDeployCmd() *cobra.Command {
	var opts nimbus.DeployOptions
	var plan, planJSON bool
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Package and deploy the service to AWS through CloudFormation",
		Long: "Package the service, upload the artifacts and update the CloudFormation stack,\n" +
			"as serverless v3 does. Nothing is deployed when nothing changed (--force overrides).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if plan {
				return runPlan(cmd, planJSON)
			}
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
				svc := p.Service
				fmt.Fprintf(errw, "Deploying %s to stage %s (%s)\n", svc.Name, svc.Stage, svc.Region)
				if ws := nimbus.DeployWarnings(p); len(ws) > 0 {
					diag.Render(errw, ws, p.Sources)
				}
				view := newProgressView(errw)
				opts.Reporter = view
				start := time.Now()
				res, err := nimbus.Deploy(ctx, p, opts)
				view.Close()
				if err != nil {
					return deployError(err, p)
				}
				if res.Skipped {
					fmt.Fprintln(out, nimbus.SkipMessage)
					return nil
				}
				if res.EmptyChangeSet {
					fmt.Fprintln(out, nimbus.EmptyChangeSetMessage)
					return nil
				}
				fmt.Fprintf(errw, "✔ Service deployed to stack %s (%.0fs)\n\n", res.Stack, time.Since(start).Seconds())
				printSummary(out, p, res.Outputs)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Force, "force", false, "deploy even when nothing changed")
	f.StringVar(&opts.PackageDir, "package", "", "deploy an existing package directory instead of packaging")
	f.BoolVar(&opts.NoValidate, "no-validate", false, "skip CloudFormation template validation")
	f.BoolVar(&plan, "plan", false, "only preview the changes (same as nimbus plan)")
	f.BoolVar(&planJSON, "json", false, "with --plan: print the plan as JSON")
	for _, sub := range deploySubcommands {
		cmd.AddCommand(sub())
	}
	return cmd
}

// deployError renders a failed stack operation with the resources that
// failed, or an interruption with what the user should do next.
func deployError(err error, p *nimbus.Project) error {
	var sf *nimbus.StackFailure
	if errors.As(err, &sf) {
		return &exitError{code: 1, err: sf, sources: p.Sources}
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, err: fmt.Errorf("interrupted: CloudFormation goes on with any update already started; run the command again to wait for it and carry on")}
	}
	return &exitError{code: 1, err: err, sources: p.Sources}
}

// printSummary prints the service summary v3 shows after deploy and info.
func printSummary(w io.Writer, p *nimbus.Project, outputs map[string]string) {
	svc := p.Service
	fmt.Fprintf(w, "service: %s\nstage: %s\nregion: %s\nstack: %s\n", svc.Name, svc.Stage, svc.Region, svc.StackName())
	var endpoints []string
	if u := outputs["ServiceEndpoint"]; u != "" {
		for _, f := range svc.Functions {
			for _, e := range f.Events {
				if e.Type != "http" {
					continue
				}
				method, path := httpEventRoute(e.Value)
				endpoints = append(endpoints, fmt.Sprintf("  %s - %s/%s", strings.ToUpper(method), u, strings.TrimPrefix(path, "/")))
			}
		}
	}
	if u := outputs["HttpApiUrl"]; u != "" {
		endpoints = append(endpoints, "  "+u)
	}
	if u := outputs["ServiceEndpointWebsocket"]; u != "" {
		endpoints = append(endpoints, "  "+u)
	}
	if len(endpoints) > 0 {
		fmt.Fprintln(w, "endpoints:")
		for _, e := range endpoints {
			fmt.Fprintln(w, e)
		}
	}
	if len(svc.Functions) > 0 {
		fmt.Fprintln(w, "functions:")
		for _, f := range svc.Functions {
			fmt.Fprintf(w, "  %s: %s\n", f.Key, f.Name)
		}
	}
	if len(svc.Layers) > 0 {
		fmt.Fprintln(w, "layers:")
		for _, l := range svc.Layers {
			fmt.Fprintf(w, "  %s: %s\n", l.Key, outputs[strings.ToUpper(l.Key[:1])+l.Key[1:]+"LambdaLayerQualifiedArn"])
		}
	}
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintln(w, "outputs:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, outputs[k])
		}
	}
}

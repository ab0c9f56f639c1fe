package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() {
	commands = append(commands, newRemoveCmd, newRollbackCmd, newInfoCmd)
	deploySubcommands = append(deploySubcommands, newDeployListCmd)
}

func newDeployListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the deployments kept in the deployment bucket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				deps, err := nimbus.ListDeployments(ctx, p)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				w := cmd.OutOrStdout()
				if len(deps) == 0 {
					fmt.Fprintln(w, "No deployments found")
					return nil
				}
				for _, d := range deps {
					fmt.Fprintf(w, "%s\nTimestamp: %d\nDatetime: %s\nFiles:\n", d.Time.UTC().Format("2006-01-02 15:04:05 UTC"), d.Timestamp, d.Time.UTC().Format(time.RFC3339))
					for _, f := range d.Files {
						fmt.Fprintf(w, "  - %s\n", f)
					}
				}
				return nil
			})
		},
	}
}

func newRollbackCmd() *cobra.Command {
	var timestamp string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Roll the stack back to an earlier deployment (-t TIMESTAMP); without -t, list them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				if timestamp == "" {
					deps, err := nimbus.ListDeployments(ctx, p)
					if err != nil {
						return &exitError{code: 1, err: err}
					}
					w := cmd.OutOrStdout()
					fmt.Fprintln(w, "Choose a deployment to roll back to with: nimbus rollback -t <timestamp>")
					for _, d := range deps {
						fmt.Fprintf(w, "  %d  %s\n", d.Timestamp, d.Time.UTC().Format(time.RFC3339))
					}
					return nil
				}
				ctx, cancel := signalContext()
				defer cancel()
				view := newProgressView(cmd.ErrOrStderr())
				d, err := nimbus.Rollback(ctx, p, timestamp, view)
				view.Close()
				if err != nil {
					return deployError(err, p)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Service rolled back to timestamp %d\n", d.Timestamp)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&timestamp, "timestamp", "t", "", "timestamp (ms) or date of the deployment to roll back to")
	return cmd
}

func newRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove",
		Short: "Remove the deployed service: empty the deployment bucket and delete the stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				if edge := nimbus.LambdaEdgeFunctions(p); len(edge) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "Warning: Don't forget to manually remove your Lambda@Edge functions (%s) once the CloudFront distribution removal is successfully propagated!\n",
						strings.Join(edge, ", "))
				}
				view := newProgressView(cmd.ErrOrStderr())
				err := nimbus.Remove(ctx, p, view)
				view.Close()
				if err != nil {
					return deployError(err, p)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Service %s has been successfully removed\n", p.Service.Name)
				return nil
			})
		},
	}
}

func newInfoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the deployed service: endpoints, functions, layers and stack outputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				info, err := nimbus.Info(ctx, p)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				w := cmd.OutOrStdout()
				printSummary(w, p, info.Outputs)
				fmt.Fprintf(w, "status: %s\n", info.Status)
				if globals.verbose {
					fmt.Fprintln(w, "resources:")
					for _, r := range info.Resources {
						fmt.Fprintf(w, "  %s (%s): %s %s\n", r.LogicalID, r.Type, r.PhysicalID, r.Status)
					}
				}
				return nil
			})
		},
	}
	return cmd
}

// httpEventRoute reads method and path from an http event in either form.
func httpEventRoute(ev *config.Node) (method, path string) {
	if s, ok := ev.Str(); ok {
		var m, p string
		fmt.Sscan(s, &m, &p)
		return m, p
	}
	return ev.Get("method").Scalar0(), ev.Get("path").Scalar0()
}

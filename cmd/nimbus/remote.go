package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() {
	commands = append(commands, newLogsCmd, newMetricsCmd, newDriftCmd)
	deploySubcommands = append(deploySubcommands, newDeployFunctionCmd)
}

func newDeployFunctionCmd() *cobra.Command {
	var function string
	cmd := &cobra.Command{
		Use:   "function",
		Short: "Update one function's code and configuration, without a stack update",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				res, err := nimbus.DeployFunction(ctx, p, function)
				if err != nil {
					return &exitError{code: 1, err: err, sources: p.Sources}
				}
				w := cmd.OutOrStdout()
				switch {
				case !res.CodeChanged && !res.ConfigChanged:
					fmt.Fprintf(w, "Code and configuration not changed. Skipping function %s.\n", function)
				default:
					var what []string
					if res.CodeChanged {
						what = append(what, "code")
					}
					if res.ConfigChanged {
						what = append(what, "configuration")
					}
					fmt.Fprintf(w, "Function %s deployed (%s updated)\n", function, strings.Join(what, " and "))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&function, "function", "f", "", "name of the function (its key under functions:)")
	return cmd
}

// runRemoteInvoke is `invoke -f NAME`: call the deployed function.
func runRemoteInvoke(cmd *cobra.Command, flags *invokeFlags, withLog bool) error {
	return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
		payload, err := flags.event(cmd, p.Service.Dir)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		clientContext, err := flags.clientContext(p.Service.Dir)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		res, err := nimbus.Invoke(ctx, p, flags.function, payload, clientContext, withLog)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		out := cmd.OutOrStdout()
		var pretty any
		if json.Unmarshal(res.Payload, &pretty) == nil {
			b, _ := json.MarshalIndent(pretty, "", "    ")
			fmt.Fprintln(out, string(b))
		} else if len(res.Payload) > 0 {
			fmt.Fprintln(out, string(res.Payload))
		}
		if res.Log != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "--------------------------------------------------------------------")
			fmt.Fprint(cmd.ErrOrStderr(), res.Log)
		}
		if res.FunctionError != "" {
			return &exitError{code: 1}
		}
		return nil
	})
}

func newLogsCmd() *cobra.Command {
	var function, startTime, filter string
	var tail bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show a deployed function's logs (--tail to follow)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				opts := nimbus.LogsOptions{Filter: filter, Tail: tail, Interval: interval}
				if startTime != "" {
					var err error
					if opts.Start, err = parseStartTime(startTime, time.Now()); err != nil {
						return &exitError{code: 1, err: err}
					}
				} else if !tail {
					opts.Start = time.Now().Add(-10 * time.Minute) // v3's default window
				}
				ctx, cancel := signalContext()
				defer cancel()
				w := cmd.OutOrStdout()
				err := nimbus.Logs(ctx, p, function, opts, func(e nimbus.LogEvent) {
					fmt.Fprintf(w, "%s\t%s\n", e.Time.Format("2006-01-02 15:04:05.000 (-07:00)"), strings.TrimRight(e.Message, "\n"))
				})
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&function, "function", "f", "", "name of the function (its key under functions:)")
	f.BoolVarP(&tail, "tail", "t", false, "keep following new log events")
	f.StringVar(&startTime, "startTime", "", "start of the window: 30m, 2h, 1d ago, or a date (default 10m)")
	f.StringVar(&filter, "filter", "", "CloudWatch Logs filter pattern")
	f.DurationVarP(&interval, "interval", "i", time.Second, "polling interval with --tail")
	return cmd
}

var relativeTimeRE = regexp.MustCompile(`^(\d+)([smhd])$`)

// parseStartTime reads "30m", "2h", "1d" (that long ago) or a date, as
// v3's --startTime does.
func parseStartTime(s string, now time.Time) (time.Time, error) {
	if m := relativeTimeRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--startTime %q: use 30m, 2h, 1d or a date like 2024-01-31T10:00:00Z", s)
}

func newMetricsCmd() *cobra.Command {
	var function, startTime, endTime string
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Show invocations, errors, throttles and duration from CloudWatch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				now := time.Now()
				start, end := now.Add(-24*time.Hour), now
				var err error
				if startTime != "" {
					if start, err = parseStartTime(startTime, now); err != nil {
						return &exitError{code: 1, err: err}
					}
				}
				if endTime != "" {
					if end, err = parseStartTime(endTime, now); err != nil {
						return &exitError{code: 1, err: err}
					}
				}
				ms, err := nimbus.Metrics(ctx, p, function, start, end)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s - %s\n\n", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
				for _, m := range ms {
					fmt.Fprintf(w, "%s\n  Invocations: %.0f\n  Errors: %.0f\n  Throttles: %.0f\n", m.Function, m.Invocations, m.Errors, m.Throttles)
					if m.HasDurations {
						fmt.Fprintf(w, "  Duration (avg): %.0fms\n", m.AverageDurationMs)
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&function, "function", "f", "", "only this function (default: all)")
	f.StringVar(&startTime, "startTime", "", "start: 30m, 2h, 1d ago, or a date (default 24h ago)")
	f.StringVar(&endTime, "endTime", "", "end: same forms (default now)")
	return cmd
}

func newDriftCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Report resources whose live configuration no longer matches the stack (exit 2 on drift)",
		Long: "Detect drift with CloudFormation drift detection; where it is not available (emulators),\n" +
			"compare each function's live configuration through the Lambda API with the deployed template.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
				rep, err := nimbus.Drift(ctx, p)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				w := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					enc.Encode(rep)
				} else if len(rep.Resources) == 0 {
					fmt.Fprintf(w, "No drift: stack %s matches its resources (checked by %s).\n", rep.Stack, rep.Method)
				} else {
					fmt.Fprintf(w, "Drift in stack %s (checked by %s):\n", rep.Stack, rep.Method)
					for _, r := range rep.Resources {
						fmt.Fprintf(w, "  %s %s (%s)\n", r.Status, r.LogicalID, r.Type)
						for _, d := range r.Differences {
							fmt.Fprintf(w, "      %s\n", d)
						}
					}
				}
				if len(rep.Resources) > 0 {
					return &exitError{code: 2}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

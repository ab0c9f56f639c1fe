package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// globalFlags are serverless v3's options shared by every command.
type globalFlags struct {
	stage, region, config, awsProfile string
	params                            []string
	verbose, debug                    bool
	// extra holds every --name value the commands do not declare; v3 makes
	// them available to ${opt:name}.
	extra map[string]string
}

var globals globalFlags

// commands registers subcommand constructors; each command file adds itself
// in init so commands live one per file.
var commands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	globals = globalFlags{}
	root := &cobra.Command{
		Use:           "nimbus",
		Short:         "Nimbus: the fast, open Serverless Framework v3 replacement",
		Long:          "Nimbus loads an existing serverless.yml and prints, packages, deploys or runs it locally,\nwith the same results as serverless v3 and no Node toolchain.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&globals.stage, "stage", "s", "", "stage of the service (default: provider.stage, else dev)")
	pf.StringVarP(&globals.region, "region", "r", "", "AWS region (default: provider.region, else us-east-1)")
	pf.StringVarP(&globals.config, "config", "c", "", "path of the service file (default: serverless.yml|yaml|json)")
	pf.StringVar(&globals.awsProfile, "aws-profile", "", "AWS profile from the shared config files")
	pf.StringArrayVar(&globals.params, "param", nil, `parameter "key=value" for ${param:key} (repeatable)`)
	pf.BoolVar(&globals.verbose, "verbose", false, "print more detail")
	pf.BoolVar(&globals.debug, "debug", false, "print debugging output")
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// sdkOptions builds the SDK options from the global flags.
func sdkOptions() nimbus.Options {
	params := map[string]string{}
	for _, p := range globals.params {
		k, v, _ := strings.Cut(p, "=")
		params[k] = v
	}
	return nimbus.Options{
		Config:     globals.config,
		Stage:      globals.stage,
		Region:     globals.region,
		AWSProfile: globals.awsProfile,
		Params:     params,
		CLIOptions: globals.extra,
	}
}

// loadProject loads the service in the working directory, printing warnings;
// on failure it returns an exitError that renders the diagnostics.
func loadProject(cmd *cobra.Command) (*nimbus.Project, error) {
	p, err := nimbus.Load(cmd.Context(), sdkOptions())
	if p != nil && len(p.Warnings) > 0 {
		diag.Render(cmd.ErrOrStderr(), p.Warnings, p.Sources)
	}
	if err != nil {
		var src *diag.Sources
		if p != nil {
			src = p.Sources
		}
		return nil, &exitError{code: 1, err: err, sources: src}
	}
	return p, nil
}

// withProject is the prologue of every command that works on a service:
// load it (rendering diagnostics), then run fn with a context cancelled on
// Ctrl-C.
func withProject(cmd *cobra.Command, fn func(ctx context.Context, p *nimbus.Project) error) error {
	p, err := loadProject(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	return fn(ctx, p)
}

// signalContext is cancelled on Ctrl-C or SIGTERM, so long operations stop
// at a consistent point.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// splitFreeOptions removes from args every --name[=value] that the target
// command does not declare, returning them as free options the way
// serverless v3 accepts any option for ${opt:…}. A bare --name is "true".
func splitFreeOptions(root *cobra.Command, args []string) ([]string, map[string]string) {
	extra := map[string]string{}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		cmd = root
	}
	known := func(name string) bool {
		return cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil ||
			root.PersistentFlags().Lookup(name) != nil || name == "help"
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		if known(name) {
			out = append(out, a)
			continue
		}
		if !hasValue {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			} else {
				value = "true"
			}
		}
		extra[name] = value
	}
	return out, extra
}

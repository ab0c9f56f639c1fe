package main

import (
	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newPrintCmd) }

func newPrintCmd() *cobra.Command {
	var opts nimbus.PrintOptions
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print the service configuration with every variable resolved",
		Long: "Print the resolved serverless.yml exactly as serverless v3's `sls print` does.\n" +
			"SSM SecureString values are masked unless --show-secrets is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadProject(cmd)
			if err != nil {
				return err
			}
			out, err := p.Print(opts)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "yaml", "output format: yaml, json or text")
	f.StringVar(&opts.Path, "path", "", "print only the value at this dotted path (e.g. provider.environment)")
	f.StringVar(&opts.Transform, "transform", "", `transform the output: "keys" prints only the keys`)
	f.BoolVar(&opts.ShowSecrets, "show-secrets", false, "print SSM SecureString values instead of masking them")
	return cmd
}

package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newPackageCmd) }

func newPackageCmd() *cobra.Command {
	var outDir string
	var minify bool
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Build the deployment artifacts and CloudFormation templates into .serverless/",
		Long: "package zips the service (or each function with package.individually) and compiles the\n" +
			"CloudFormation templates serverless v3 would deploy, writing them with serverless-state.json\n" +
			"into .serverless/ (or --package DIR). On failure the previous package is left untouched.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			cmd.SetContext(ctx)
			p, err := loadProject(cmd)
			if err != nil {
				return err
			}
			svc := p.Service
			fmt.Fprintf(cmd.ErrOrStderr(), "Packaging %s for stage %s (%s)\n", svc.Name, svc.Stage, svc.Region)
			res, err := nimbus.Package(ctx, p, nimbus.PackageOptions{OutDir: outDir, MinifyTemplate: minify})
			if err != nil {
				return &exitError{code: 1, err: err, sources: p.Sources}
			}
			if len(res.Warnings) > 0 {
				diag.Render(cmd.ErrOrStderr(), res.Warnings, p.Sources)
			}
			rel := res.Dir
			if r, err := filepath.Rel(svc.Dir, res.Dir); err == nil {
				rel = r
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "✔ Service packaged into %s (%d artifacts)\n", rel, len(res.Artifacts.Artifacts))
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "package", "p", "", "directory to write the package to (default .serverless)")
	cmd.Flags().BoolVar(&minify, "minify-template", false, "write the update-stack template without indentation")
	return cmd
}

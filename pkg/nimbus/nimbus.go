// Package nimbus is the public Go SDK of Nimbus: load a serverless.yml,
// resolve and validate it, then print, package, deploy or run it locally.
// The nimbus CLI is a thin layer over this package; everything it does is
// callable from Go. Functions return values and diagnostics; they never
// print.
package nimbus

import (
	"context"
	"os"
	"path/filepath"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/lift"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

// Options say which service to load and how to resolve it.
type Options struct {
	// Dir is the service folder (default: the working directory).
	Dir string
	// Config names the service file (--config), relative to Dir.
	Config string
	// Stage and Region override provider.stage and provider.region.
	Stage, Region string
	// AWSProfile selects a profile from the shared AWS config (--aws-profile).
	AWSProfile string
	// Params are --param "key=value" pairs, read by ${param:key}.
	Params map[string]string
	// CLIOptions are every other --name value, read by ${opt:name}.
	CLIOptions map[string]string
	// Env looks up environment variables (default os.LookupEnv).
	Env func(string) (string, bool)
}

// Project is a loaded, resolved and validated service.
type Project struct {
	Service *service.Service
	// Warnings found while loading (errors make Load fail instead).
	Warnings diag.Diagnostics
	// Sources holds the text of every file read, for rendering diagnostics.
	Sources *diag.Sources
	// printed is the config `print` shows when it differs from
	// Service.Root: serverless-lift adds its resources only when packaging.
	printed *config.Node
}

// Load reads, resolves and validates a service. On failure the error is a
// *diag.DiagError; render it with RenderError to show source lines.
func Load(ctx context.Context, opts Options) (*Project, error) {
	src := diag.NewSources()
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	dir, _ = filepath.Abs(dir)
	path, ds := config.FindServiceFile(dir, opts.Config)
	if ds.HasErrors() {
		return &Project{Sources: src}, ds.Err()
	}
	// The service folder is the config file's folder, so --config can name
	// a service elsewhere (serverless v3 refuses a config outside the
	// working directory instead).
	dir = filepath.Dir(path)
	display := displayName(path)
	root, ds := config.ParseFile(path, display, src)
	if ds.HasErrors() {
		return &Project{Sources: src}, ds.Err()
	}
	cli := map[string]string{}
	for k, v := range opts.CLIOptions {
		cli[k] = v
	}
	if opts.Stage != "" {
		cli["stage"] = opts.Stage
	}
	if opts.Region != "" {
		cli["region"] = opts.Region
	}
	if opts.AWSProfile != "" {
		cli["aws-profile"] = opts.AWSProfile
	}
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	// serverless-lift's constructs are expanded natively: its variable
	// source hands out tokens that Expand replaces after validation, as
	// the plugin's initialize hook does.
	var constructs *lift.Lift
	var extra map[string]variables.ExternalSource
	if lift.Enabled(root) {
		constructs = lift.New(root)
		constructs.Region = cli["region"]
		extra = map[string]variables.ExternalSource{"construct": constructs.Source}
	}
	resolved, rds := variables.Resolve(ctx, root, variables.Options{
		Dir: dir, ConfigFile: display, CLIOptions: cli, Params: opts.Params,
		Env: env, Sources: src, AWSProfile: opts.AWSProfile, ExtraSources: extra,
	})
	all := append(ds, rds...)
	if rds.HasErrors() {
		return &Project{Sources: src}, all.Err()
	}
	all = append(all, schema.Validate(resolved)...)
	var initial *config.Node
	if constructs != nil && !all.HasErrors() {
		var lds diag.Diagnostics
		initial, lds = constructs.Expand(resolved, stageOf(resolved, cli))
		all = append(all, lds...)
	}
	all.Sort()
	if all.HasErrors() {
		return &Project{Sources: src, Warnings: all.Warnings()}, all.Err()
	}
	var printed *config.Node
	if constructs != nil {
		printed = resolved.Clone()
		constructs.AddResources(resolved)
	}
	svc := service.New(resolved, dir, path, cli)
	svc.Initial = initial
	return &Project{
		Service:  svc,
		Warnings: all.Warnings(),
		Sources:  src,
		printed:  printed,
	}, nil
}

// stageOf is --stage, else provider.stage, else v3's default.
func stageOf(root *config.Node, cli map[string]string) string {
	if s := cli["stage"]; s != "" {
		return s
	}
	if s := root.Lookup("provider", "stage").Scalar0(); s != "" {
		return s
	}
	return service.DefaultStage
}

// displayName is how diagnostics name a file: relative to the working
// directory when it is below it, else absolute.
func displayName(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, path); err == nil && !filepath.IsAbs(rel) && rel != "" && rel[0] != '.' {
			return rel
		}
	}
	return path
}

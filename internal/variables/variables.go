// Package variables resolves serverless v3's ${…} variables in a config tree.
package variables

import (
	"context"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// Options is what the resolver may read besides the tree itself.
type Options struct {
	Dir        string            // service folder: ${file()} paths are relative to it
	ConfigFile string            // the display name of the service file
	CLIOptions map[string]string // ${opt:…}: --stage, --region and any --name value
	Params     map[string]string // --param k=v
	Env        func(string) (string, bool)
	Sources    *diag.Sources
	// AWSProfile and Region configure the remote sources (cf, ssm, s3, aws).
	AWSProfile string
}

// Resolve returns a new tree with every variable replaced.
func Resolve(ctx context.Context, root *config.Node, opts Options) (*config.Node, diag.Diagnostics) {
	return root, nil
}

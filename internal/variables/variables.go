// Package variables resolves serverless v3's ${…} variables in a config tree:
// the syntax, the sources (self, opt, env, sls, param, file, strToBool, aws,
// cf, ssm, s3), fallbacks, nesting and the error messages, the way
// serverless v3 does, reporting every unresolvable variable at its position.
package variables

import (
	"context"
	"strconv"
	"strings"
	"time"

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
	// AWSProfile picks the credentials of the remote sources (cf, ssm, s3,
	// aws); empty means provider.profile, then the SDK's default chain.
	// Their region is --region (CLIOptions), else provider.region, else
	// us-east-1, unless a variable names one: ${ssm(eu-west-1):…}.
	AWSProfile string
	// AWS answers the remote sources. Nil means the real AWS APIs through
	// aws-sdk-go-v2's default credential chain, created on first use.
	AWS AWS
	// InstanceID is ${sls:instanceId}; empty means the current time in
	// milliseconds, as serverless v3 does.
	InstanceID string
	// ExtraSources add variable sources that plugins provide in serverless
	// v3 (serverless-lift's ${construct:…}, for one). They cannot replace a
	// built-in source.
	ExtraSources map[string]ExternalSource
	// NodePath is the node binary that evaluates ${file(x.js)}; empty
	// means "node" from PATH.
	NodePath string
}

// ExternalSource resolves one variable of a source added through
// Options.ExtraSources. It gets the resolved parameters (nil entries for
// empty ones) and the address ("" when absent). A nil result means "no
// value", which moves on to the variable's fallback.
type ExternalSource func(ctx context.Context, params []*config.Node, address string) (*config.Node, error)

// Resolve returns a new tree with every variable replaced. The input tree is
// not modified. On errors the returned tree is the partly resolved one.
func Resolve(ctx context.Context, root *config.Node, opts Options) (*config.Node, diag.Diagnostics) {
	if root == nil {
		return nil, nil
	}
	if opts.Env == nil {
		opts.Env = func(string) (string, bool) { return "", false }
	}
	if opts.InstanceID == "" {
		opts.InstanceID = strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	r := newResolver(ctx, root.Clone(), opts)
	if ds := r.collect(); ds.HasErrors() {
		return r.root, ds
	}
	r.run()
	ds := r.diagnostics()
	if !ds.HasErrors() {
		ds = r.checkEarlyProperties()
	}
	return r.root, ds
}

// splitAddress turns "a.b[0].c" or "a.b.0.c" into its keys.
func splitAddress(addr string) []string {
	if addr == "" {
		return nil
	}
	if !strings.Contains(addr, "[") {
		return strings.Split(addr, ".")
	}
	var keys []string
	for _, seg := range strings.Split(addr, ".") {
		for {
			open := strings.IndexByte(seg, '[')
			if open < 0 {
				keys = append(keys, seg)
				break
			}
			close := strings.IndexByte(seg[open:], ']')
			if close < 0 {
				keys = append(keys, seg)
				break
			}
			if open > 0 {
				keys = append(keys, seg[:open])
			}
			keys = append(keys, strings.Trim(seg[open+1:open+close], `'"`))
			seg = seg[open+close+1:]
			if seg == "" {
				break
			}
		}
	}
	return keys
}

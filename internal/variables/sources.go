package variables

import (
	"fmt"

	"github.com/nimbusfw/nimbus/internal/config"
)

// sources maps a variable's type to what resolves it. A type not listed is
// an unrecognized source.
var sources map[string]sourceFunc

func init() {
	sources = map[string]sourceFunc{
		"self":      selfSource,
		"opt":       optSource,
		"env":       envSource,
		"sls":       slsSource,
		"param":     paramSource,
		"file":      fileSource,
		"strToBool": strToBoolSource,
		"aws":       awsSource,
		"cf":        cfSource,
		"ssm":       ssmSource,
		"s3":        s3Source,
	}
}

func (c *call) failf(format string, args ...any) *failure {
	return &failure{origin: c.p, variable: c.variable, msg: fmt.Sprintf(format, args...)}
}

// addressString returns the address as text; ok is false when there is
// none. A non-string address is an error, worded as v3 words it.
func (c *call) addressString() (string, bool, error) {
	if c.address == nil || c.address.Kind == config.Null {
		return "", false, nil
	}
	s, ok := ensureString(c.address)
	if !ok {
		return "", false, c.failf("Non-string address argument in variable %q source: %s", c.typ, c.address.Scalar())
	}
	return s, s != "", nil
}

// requireAddress is addressString for sources that cannot work without one.
func (c *call) requireAddress() (string, error) {
	s, ok, err := c.addressString()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", c.failf("Missing address argument in variable %q source", c.typ)
	}
	return s, nil
}

func (c *call) param(i int) *config.Node {
	if i < len(c.params) {
		return c.params[i]
	}
	return nil
}

// ensureString is how v3 takes text from a value: scalars and lists
// convert (a list joins with commas), objects and null do not.
func ensureString(n *config.Node) (string, bool) {
	if n == nil || n.Kind == config.Null || n.Kind == config.Map {
		return "", false
	}
	return n.Scalar(), true
}

func found(n *config.Node) (sourceResult, error) { return sourceResult{value: n}, nil }

func (c *call) str(s string) *config.Node { return config.NewString(s, c.p.holder.Pos) }

// stage is --stage, else provider.stage, else "dev".
func (c *call) stage() (string, error) {
	if s := c.r.opts.CLIOptions["stage"]; s != "" {
		return s, nil
	}
	n, err := c.r.property(c.p, []string{"provider", "stage"})
	if err != nil {
		return "", err
	}
	if n.Truthy() {
		return n.Scalar(), nil
	}
	return "dev", nil
}

// region is --region, else provider.region, else "us-east-1".
func (c *call) region() (string, error) {
	if s := c.r.opts.CLIOptions["region"]; s != "" {
		return s, nil
	}
	if q := c.r.props["provider\x00region"]; q != nil && q.state == stateResolving {
		// provider.region needs an AWS source, which needs the region.
		return "", c.failf(`"provider.region" property is not accessible (configured behind variables which cannot be resolved at this stage)`)
	}
	n, err := c.r.property(c.p, []string{"provider", "region"})
	if err != nil {
		return "", err
	}
	if n.Truthy() {
		return n.Scalar(), nil
	}
	return "us-east-1", nil
}

// externalSource adapts an ExternalSource to the resolver.
func externalSource(ext ExternalSource) sourceFunc {
	return func(c *call) (sourceResult, error) {
		addr, _, err := c.addressString()
		if err != nil {
			return sourceResult{}, err
		}
		n, err := ext(c.r.ctx, c.params, addr)
		if err != nil {
			return sourceResult{}, c.failf("%v", err)
		}
		if n != nil {
			n = n.Clone()
			n.Pos = c.p.holder.Pos
		}
		return found(n)
	}
}

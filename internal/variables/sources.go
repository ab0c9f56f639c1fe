package variables

import (
	"fmt"
	"sort"
	"strings"

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

// selfSource reads the service config itself: ${self:custom.table}.
func selfSource(c *call) (sourceResult, error) {
	addr, _, err := c.addressString()
	if err != nil {
		return sourceResult{}, err
	}
	n, err := c.r.property(c.p, splitAddress(addr))
	if err != nil {
		return sourceResult{}, err
	}
	return found(n)
}

// optSource reads CLI options; without an address, all of them.
func optSource(c *call) (sourceResult, error) {
	addr, ok, err := c.addressString()
	if err != nil {
		return sourceResult{}, err
	}
	if !ok {
		m := config.NewMap(c.p.holder.Pos)
		keys := make([]string, 0, len(c.r.opts.CLIOptions))
		for k := range c.r.opts.CLIOptions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Set(k, c.str(c.r.opts.CLIOptions[k]))
		}
		return found(m)
	}
	if v, ok := c.r.opts.CLIOptions[addr]; ok {
		return found(c.str(v))
	}
	return found(nil)
}

func envSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	if v, ok := c.r.opts.Env(addr); ok {
		return found(c.str(v))
	}
	return found(nil)
}

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

func slsSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	switch addr {
	case "instanceId":
		c.r.noteUse(c.p, "sls:instanceId")
		return found(c.str(c.r.opts.InstanceID))
	case "stage":
		s, err := c.stage()
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(s))
	}
	return sourceResult{}, c.failf("Unsupported %q address argument in variable \"sls\" source", addr)
}

// paramSource reads --param first, then params.<stage>, then params.default.
func paramSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	if v, ok := c.r.opts.Params[addr]; ok {
		return found(c.str(strings.TrimRight(v, " \t\r\n")))
	}
	stage, err := c.stage()
	if err != nil {
		return sourceResult{}, err
	}
	for _, group := range []string{stage, "default"} {
		n, err := c.r.property(c.p, []string{"params", group, addr})
		if err != nil {
			return sourceResult{}, err
		}
		if n != nil && n.Kind != config.Null {
			return found(n)
		}
	}
	return sourceResult{notFound: fmt.Sprintf("The param %q cannot be resolved from CLI options or stage params. "+
		"If you are using Serverless Framework Compose, make sure to run commands via Compose so that all parameters can be resolved", addr)}, nil
}

func strToBoolSource(c *call) (sourceResult, error) {
	in := c.param(0)
	if in == nil || in.Kind == config.Null {
		return sourceResult{}, c.failf(`Missing "strToBool" input`)
	}
	s, ok := ensureString(in)
	if !ok {
		return sourceResult{}, c.failf(`Non-string "strToBool" input:. Received: %s`, in.Scalar())
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return found(config.NewBool(true, c.p.holder.Pos))
	case "false", "0":
		return found(config.NewBool(false, c.p.holder.Pos))
	}
	short := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
	if len(short) > 100 {
		short = short[:99] + "…"
	}
	return sourceResult{}, c.failf(`Invalid "strToBool" input: Expected either "true", "false", "0", or "1". Received: %s`, short)
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

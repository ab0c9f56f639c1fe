package variables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nimbusfw/nimbus/internal/config"
)

// AWS is what the remote sources (aws, cf, ssm, s3) need from AWS. The
// resolver calls it from several goroutines at once. A missing stack,
// parameter or object is ErrNotFound, which makes the variable fall back.
type AWS interface {
	AccountID(ctx context.Context, region string) (string, error)
	StackOutputs(ctx context.Context, region, stack string) (map[string]string, error)
	Parameter(ctx context.Context, region, name string, decrypt bool) (Parameter, error)
	Object(ctx context.Context, region, bucket, key string) ([]byte, error)
}

// Parameter is an SSM parameter: Type is String, StringList or SecureString.
type Parameter struct {
	Type  string
	Value string
}

// ErrNotFound is returned by AWS when the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// remoteKey identifies one AWS lookup; equal lookups in a run share a result.
type remoteKey struct {
	kind    string // account, stack, parameter, object
	region  string
	a, b    string
	decrypt bool
}

type remoteResult struct {
	stack   map[string]string
	param   Parameter
	account string
	object  []byte
	missing bool
	err     error
}

// lookup returns the cached result of k, or registers k for the next batch
// of parallel fetches and reports the variable as waiting.
func (c *call) lookup(k remoteKey) (*remoteResult, error) {
	if !c.r.profileKnown {
		// --aws-profile, else provider.profile, picks the credentials.
		c.r.profile = c.r.opts.AWSProfile
		if c.r.profile == "" {
			n, err := c.r.property(c.p, []string{"provider", "profile"})
			if err != nil {
				return nil, err
			}
			c.r.profile = n.Scalar0()
		}
		c.r.profileKnown = true
	}
	c.r.remoteMu.Lock()
	res, ok := c.r.remote[k]
	if !ok {
		c.r.wanted[k] = struct{}{}
	}
	c.r.remoteMu.Unlock()
	if !ok {
		return nil, &blockage{origin: c.p, variable: c.variable}
	}
	if res.err != nil {
		return nil, c.failf("%v", res.err)
	}
	return res, nil
}

// maxParallelFetches bounds concurrent AWS calls of one round.
const maxParallelFetches = 16

// fetchWanted runs every lookup gathered in a round in parallel.
func (r *resolver) fetchWanted() {
	keys := make([]remoteKey, 0, len(r.wanted))
	for k := range r.wanted {
		keys = append(keys, k)
	}
	r.wanted = map[remoteKey]struct{}{}
	client, err := r.awsClient()
	results := make([]*remoteResult, len(keys))
	if err != nil {
		for i := range keys {
			results[i] = &remoteResult{err: err}
		}
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxParallelFetches)
		for i, k := range keys {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] = fetchOne(r.ctx, client, k)
			}()
		}
		wg.Wait()
	}
	r.remoteMu.Lock()
	for i, k := range keys {
		r.remote[k] = results[i]
	}
	r.remoteMu.Unlock()
}

func fetchOne(ctx context.Context, client AWS, k remoteKey) *remoteResult {
	res := &remoteResult{}
	var err error
	switch k.kind {
	case "account":
		res.account, err = client.AccountID(ctx, k.region)
	case "stack":
		res.stack, err = client.StackOutputs(ctx, k.region, k.a)
	case "parameter":
		res.param, err = client.Parameter(ctx, k.region, k.a, k.decrypt)
	case "object":
		res.object, err = client.Object(ctx, k.region, k.a, k.b)
	}
	if errors.Is(err, ErrNotFound) {
		res.missing = true
	} else if err != nil {
		res.err = err
	}
	return res
}

func (r *resolver) awsClient() (AWS, error) {
	r.awsOnce.Do(func() {
		if r.aws != nil {
			return
		}
		r.aws, r.awsErr = newSDKClient(r.ctx, r.profile)
	})
	return r.aws, r.awsErr
}

// awsSource is ${aws:accountId} and ${aws:region}.
func awsSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	switch addr {
	case "region":
		region, err := c.region()
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(region))
	case "accountId":
		region, err := c.region()
		if err != nil {
			return sourceResult{}, err
		}
		res, err := c.lookup(remoteKey{kind: "account", region: region})
		if err != nil {
			return sourceResult{}, err
		}
		return found(c.str(res.account))
	}
	return sourceResult{}, c.failf(`Unsupported %q address argument in variable "aws" source`, addr)
}

// regionParam is the region given as the first parameter (cf(eu-west-1):…),
// else the service's region.
func (c *call) regionParam(params []*config.Node) (string, error) {
	if len(params) > 0 && params[0] != nil && params[0].Kind != config.Null {
		if s := params[0].Scalar0(); s != "" {
			return s, nil
		}
	}
	return c.region()
}

// cfSource is ${cf:stack.output} and ${cf(region):stack.output}.
func cfSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	stack, output, ok := strings.Cut(addr, ".")
	if !ok {
		return sourceResult{}, c.failf(`Unsupported %q address argument in variable "cf" source. Expected "<stack-name>.<output-id>" format`, addr)
	}
	region, err := c.regionParam(c.params)
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "stack", region: region, a: stack})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("Stack %q does not exist in %s.", stack, region)}, nil
	}
	v, ok := res.stack[output]
	if !ok {
		return sourceResult{detail: fmt.Sprintf("Stack %q in %s has no output %q.", stack, region, output)}, nil
	}
	return found(c.str(v))
}

// ssmSource is ${ssm:/path}, with the parameters raw (no splitting of a
// StringList, no JSON parsing of a SecureString), noDecrypt and a region.
func ssmSource(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	raw, noDecrypt := false, false
	var rest []*config.Node
	for _, p := range c.params {
		switch p.Scalar0() {
		case "raw":
			raw = true
		case "noDecrypt":
			noDecrypt = true
		default:
			rest = append(rest, p)
		}
	}
	region, err := c.regionParam(rest)
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "parameter", region: region, a: addr, decrypt: !noDecrypt})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("SSM parameter %q does not exist in %s.", addr, region)}, nil
	}
	pos := c.p.holder.Pos
	switch res.param.Type {
	case "String":
		return found(c.str(res.param.Value))
	case "StringList":
		if raw {
			return found(c.str(res.param.Value))
		}
		list := config.NewSeq(pos)
		for _, it := range strings.Split(res.param.Value, ",") {
			list.Items = append(list.Items, c.str(it))
		}
		return found(list)
	case "SecureString":
		var n *config.Node
		if !raw && strings.HasPrefix(res.param.Value, "{") {
			// JSON is checked first because YAML would also accept {a: b}; the
			// YAML reader then keeps key order, as JSON.parse does.
			if json.Valid([]byte(res.param.Value)) {
				if parsed, ds := config.Parse("", []byte(res.param.Value), nil); !ds.HasErrors() {
					n = parsed
					config.Walk(n, nil, func(x *config.Node, _ config.Path) bool { x.Pos = pos; return true })
				}
			}
		}
		if n == nil {
			n = c.str(res.param.Value)
		}
		config.Walk(n, nil, func(x *config.Node, _ config.Path) bool { x.Sensitive = true; return true })
		return found(n)
	}
	return sourceResult{}, c.failf("Unexpected parameter type: %q", res.param.Type)
}

// s3Source is ${s3:bucket/key}: the object's body as text.
func s3Source(c *call) (sourceResult, error) {
	addr, err := c.requireAddress()
	if err != nil {
		return sourceResult{}, err
	}
	bucket, key, ok := strings.Cut(addr, "/")
	if !ok {
		return sourceResult{}, c.failf(`Unsupported %q address argument in variable "s3" source. Expected "<bucket-name>/<key>" format`, addr)
	}
	region, err := c.region()
	if err != nil {
		return sourceResult{}, err
	}
	res, err := c.lookup(remoteKey{kind: "object", region: region, a: bucket, b: key})
	if err != nil {
		return sourceResult{}, err
	}
	if res.missing {
		return sourceResult{detail: fmt.Sprintf("s3://%s/%s does not exist.", bucket, key)}, nil
	}
	return found(c.str(string(res.object)))
}

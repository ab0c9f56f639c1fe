package variables

import (
	"context"
	"errors"
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

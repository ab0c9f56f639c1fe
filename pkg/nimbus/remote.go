package nimbus

import (
	"context"
	"fmt"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/service"
)

type (
	// FunctionUpdateResult says what `deploy function` changed.
	FunctionUpdateResult = deployaws.FunctionUpdateResult
	// RemoteInvokeResult is a deployed function's answer.
	RemoteInvokeResult = deployaws.InvokeResult
	// LogEvent is one line of a function's CloudWatch log.
	LogEvent = deployaws.LogEvent
	// LogsOptions filter Logs.
	LogsOptions = deployaws.LogsOptions
	// FunctionMetrics are a function's CloudWatch totals.
	FunctionMetrics = deployaws.FunctionMetrics
	// DriftReport lists drifted resources.
	DriftReport = deployaws.DriftReport
)

// function returns the function with the given key or a clear error.
func (p *Project) function(key string) (*service.Function, error) {
	if key == "" {
		return nil, fmt.Errorf("name a function with -f/--function")
	}
	if f := p.Service.Function(key); f != nil {
		return f, nil
	}
	var keys []string
	for _, f := range p.Service.Functions {
		keys = append(keys, f.Key)
	}
	return nil, fmt.Errorf("function %q is not in %s (functions: %v)", key, p.Service.Name, keys)
}

// DeployFunction packages the service and updates one deployed function's
// code and configuration through the Lambda API, without a stack update.
func DeployFunction(ctx context.Context, p *Project, key string) (*FunctionUpdateResult, error) {
	f, err := p.function(key)
	if err != nil {
		return nil, err
	}
	pkg, err := Package(ctx, p, PackageOptions{})
	if err != nil {
		return nil, err
	}
	artifact := pkg.Artifacts.Functions[f.Key]
	if artifact == "" {
		return nil, fmt.Errorf("function %s has no zip artifact to deploy (image or prebuilt S3 artifact)", key)
	}
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	u := deployaws.FunctionUpdate{
		Name: f.Name, Artifact: artifact, Handler: f.Handler, Runtime: f.Runtime,
		MemorySize: int32(f.MemorySize), Timeout: int32(f.Timeout),
		Description: f.Raw.Get("description").Scalar0(),
	}
	u.Environment = plainEnvironment(p.Service.EnvironmentOf(f))
	return deployaws.DeployFunction(ctx, c, u)
}

// plainEnvironment returns the variables when every value is a plain
// scalar; with CloudFormation intrinsics (resolved only by a stack update)
// it returns nil, leaving the deployed environment untouched.
func plainEnvironment(kvs []service.KV) map[string]string {
	env := map[string]string{}
	for _, kv := range kvs {
		if kv.Value == nil || !kv.Value.IsScalar() || kv.Value.Kind == config.Null {
			return nil
		}
		env[kv.Key] = kv.Value.Scalar()
	}
	return env
}

// Invoke calls a deployed function with payload (JSON).
func Invoke(ctx context.Context, p *Project, key string, payload []byte, clientContext string, withLog bool) (*RemoteInvokeResult, error) {
	f, err := p.function(key)
	if err != nil {
		return nil, err
	}
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.Invoke(ctx, c, f.Name, payload, clientContext, withLog)
}

// Logs sends a deployed function's log events to emit; with opts.Tail it
// keeps following until ctx ends.
func Logs(ctx context.Context, p *Project, key string, opts LogsOptions, emit func(LogEvent)) error {
	f, err := p.function(key)
	if err != nil {
		return err
	}
	c, err := p.awsClients(ctx)
	if err != nil {
		return err
	}
	return deployaws.FunctionLogs(ctx, c, f.Name, opts, emit)
}

// Metrics returns CloudWatch totals for the given function (or all when
// key is "") between start and end.
func Metrics(ctx context.Context, p *Project, key string, start, end time.Time) ([]FunctionMetrics, error) {
	var names []string
	if key != "" {
		f, err := p.function(key)
		if err != nil {
			return nil, err
		}
		names = []string{f.Name}
	} else {
		for _, f := range p.Service.Functions {
			names = append(names, f.Name)
		}
	}
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.GetMetrics(ctx, c.Metrics, names, start, end)
}

// Drift reports resources whose live configuration no longer matches the
// deployed stack.
func Drift(ctx context.Context, p *Project) (*DriftReport, error) {
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	return deployaws.Drift(ctx, c, baseBundle(p.Service))
}

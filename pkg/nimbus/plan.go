package nimbus

import (
	"context"

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
)

type (
	// Plan is a deploy preview: resource changes and function code changes.
	Plan = deployaws.Plan
	// ResourceChange is one resource row of a plan.
	ResourceChange = deployaws.ResourceChange
	// FunctionChange is a function whose code would change.
	FunctionChange = deployaws.FunctionChange
)

// MakePlan packages the service and previews what deploying it would
// change, without changing anything: a CloudFormation change set is
// created, read and deleted, and each function's local zip is compared
// with the deployed code's SHA-256.
func MakePlan(ctx context.Context, p *Project, opts PackageOptions) (*Plan, error) {
	c, err := p.awsClients(ctx)
	if err != nil {
		return nil, err
	}
	pkg, err := Package(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	b, err := bundle(p.Service, pkg)
	if err != nil {
		return nil, err
	}
	var fns []deployaws.FunctionArtifact
	for _, f := range p.Service.Functions {
		fns = append(fns, deployaws.FunctionArtifact{Name: f.Name, Artifact: pkg.Artifacts.Functions[f.Key]})
	}
	return deployaws.MakePlan(ctx, c, b, fns)
}

package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// useDedicatedMoto starts a moto_server of the test's own (moto's state is
// global to a server, and these tests deploy stacks in parallel) and points
// the AWS SDK's environment at it until the test ends. -short skips it,
// saying why.
func useDedicatedMoto(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
	ep, stop := motoserver.StartDedicated(t)
	t.Cleanup(stop)
	for _, kv := range motoserver.EnvFor(ep) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// deployDir loads the service in dir for stage dev in us-east-1, failing
// the test when it does not load, and deploys it with opts.
func deployDir(ctx context.Context, t *testing.T, dir string, opts nimbus.DeployOptions) (*nimbus.DeployResult, error) {
	t.Helper()
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: dir, Stage: "dev", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return nimbus.Deploy(ctx, p, opts)
}

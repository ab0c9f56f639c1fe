package aws_test

import (
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
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

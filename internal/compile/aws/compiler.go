// Package aws compiles the typed service model into the CloudFormation
// template serverless v3 would produce, with the same logical IDs and
// properties, so a stack deployed by v3 can be updated by Nimbus with
// nothing replaced. naming.go holds v3's naming rules; each event type lives
// in its own file and registers itself with registerEvent.
package aws

import (
	"sort"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Input is what compilation needs besides the service.
type Input struct {
	Service *service.Service
	// Artifacts are the packaged zips (their content feeds version hashes).
	Artifacts packaging.Result
	// ArtifactDirectoryName is the S3 folder of this deployment:
	// "<prefix>/<service>/<stage>/<ms>-<iso>".
	ArtifactDirectoryName string
	// InstanceID is serverless' per-run id (Date.now() at start), used for
	// ApiGatewayDeployment<id>.
	InstanceID string
}

// Context is passed to every compile step: the input, the template being
// built and the diagnostics found so far.
type Context struct {
	Input
	Svc      *service.Service
	Template *cfn.Template
	Diags    diag.Diagnostics

	versionIDs          map[string]string // function key → version logical ID
	aliases             map[string]alias  // function key → target alias
	layerKeys           map[string]string // layer logical ID → layer key
	fileHashes          map[string]string // path → base64 sha256
	grantedDestinations map[string]bool   // destinations already given IAM access
}

// eventCompiler compiles every event of one or more types across all
// functions (some, like http, build shared resources from all of them).
type eventCompiler struct {
	// types are the event keys handled (e.g. "http").
	types []string
	// order runs compilers deterministically; lower first.
	order int
	// compile adds the resources for these events.
	compile func(c *Context)
}

var eventCompilers []eventCompiler

// registerEvent is called from each event file's init.
func registerEvent(order int, compile func(c *Context), types ...string) {
	eventCompilers = append(eventCompilers, eventCompiler{types: types, order: order, compile: compile})
}

// KnownEventTypes lists every event key a compiler handles.
func KnownEventTypes() []string {
	var out []string
	for _, ec := range eventCompilers {
		out = append(out, ec.types...)
	}
	sort.Strings(out)
	return out
}

// orderedEventCompilers returns the registered compilers by order.
func orderedEventCompilers() []eventCompiler {
	out := append([]eventCompiler(nil), eventCompilers...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// EventsOf returns (function, event) pairs of the given type, in config order.
func (c *Context) EventsOf(typ string) []FunctionEvent { return c.Svc.EventsOf(typ) }

// FunctionEvent is one event with the function it belongs to.
type FunctionEvent = service.FunctionEvent

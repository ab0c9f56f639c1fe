package nimbus

import (
	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
)

// The SDK's values are built by internal packages; these names let
// programs outside this module declare and pass them.
type (
	// Service is a loaded service: name, stage, region, provider settings,
	// functions with their events, layers and the resolved config tree.
	Service = service.Service
	// Function is one entry under `functions:`.
	Function = service.Function
	// Event is one entry of a function's `events:`.
	Event = service.Event
	// ConfigNode is a node of the resolved config, with its file position.
	ConfigNode = config.Node
	// Template is a CloudFormation template; its JSON is v3's key order.
	Template = cfn.Template
	// Artifacts lists the zips a package wrote and what each holds.
	Artifacts = packaging.Result
	// LocalResult is one local invocation's outcome: payload, function
	// error kind, duration and the log tail.
	LocalResult = local.Result
	// Diagnostic is one problem with its file:line:col and key path.
	Diagnostic = diag.Diagnostic
	// Diagnostics are several problems; Load and Package report all at once.
	Diagnostics = diag.Diagnostics
	// DiagError is the error Load and Package return for problems in the
	// configuration; RenderError shows it with source lines.
	DiagError = diag.DiagError
	// Sources keeps the text of the files read, for rendering.
	Sources = diag.Sources
)

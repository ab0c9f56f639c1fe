// Package service is the typed model of a resolved, validated service that
// every later stage (packaging, compile, deploy, local) reads. It keeps the
// resolved config tree beside the typed fields: compile stages that must
// reproduce serverless v3's output field by field read event and resource
// details from the tree, while common settings have typed accessors here.
package service

import (
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// Service is one resolved serverless.yml.
type Service struct {
	// Dir is the service folder; ConfigFile the file loaded (absolute).
	Dir        string
	ConfigFile string

	Name   string
	Stage  string // --stage, else provider.stage, else "dev"
	Region string // --region, else provider.region, else "us-east-1"

	Provider  Provider
	Functions []*Function // in config order
	Layers    []*Layer    // in config order
	Package   Package
	Plugins   []string

	// Root is the whole resolved config tree.
	Root *config.Node
	// Options are the CLI options (--stage, --region, any --name value).
	Options map[string]string
	// Initial is the config as serverless v3 keeps it in the state's
	// initialServerlessConfig when a plugin replaced the live objects
	// after reading it (serverless-lift does: it keeps its unresolved
	// tokens); nil when Root is that config.
	Initial *config.Node
}

// Provider holds the provider block's commonly read settings.
type Provider struct {
	Name             string
	Runtime          string
	Architecture     string
	MemorySize       int // 0 when unset
	Timeout          int // 0 when unset
	StackName        string
	DeploymentPrefix string
	Environment      []KV
	Raw              *config.Node
}

// Function is one entry of `functions`.
type Function struct {
	Key          string // the key under functions:
	Name         string // deployed name: `name`, else service-stage-key
	Handler      string
	Image        *config.Node
	Runtime      string // function runtime, else provider runtime, else nodejs14.x (v3's default)
	Architecture string
	MemorySize   int // function, else provider, else 1024
	Timeout      int // function, else provider, else 6
	Environment  []KV
	Events       []Event
	Package      Package
	Layers       *config.Node
	Raw          *config.Node
	Pos          diag.Pos
}

// Event is one entry of a function's events list: its type (http, sqs, …)
// and the raw value after the type key.
type Event struct {
	Type  string
	Index int // position in the function's events list
	Value *config.Node
	Pos   diag.Pos
}

// Layer is one entry of `layers`.
type Layer struct {
	Key  string
	Path string
	Raw  *config.Node
}

// Package is a `package` block (service or function level).
type Package struct {
	Individually bool
	Artifact     string
	Patterns     []string
	Include      []string // legacy
	Exclude      []string // legacy
	Raw          *config.Node
}

// KV is an environment variable or tag, in config order; Value keeps
// CloudFormation intrinsics intact.
type KV struct {
	Key   string
	Value *config.Node
}

// Defaults serverless v3 applies when the config says nothing.
const (
	DefaultStage      = "dev"
	DefaultRegion     = "us-east-1"
	DefaultRuntime    = "nodejs14.x"
	DefaultMemorySize = 1024
	DefaultTimeout    = 6
)

// New builds the typed model from a resolved tree. It assumes the tree has
// been validated and fills in v3's defaults; it never fails on missing
// optional data.
func New(root *config.Node, dir, configFile string, options map[string]string) *Service {
	s := &Service{Dir: dir, ConfigFile: configFile, Root: root, Options: options}
	s.Name = root.Get("service").StringOr("")
	if n := root.Get("service"); n != nil && n.Kind == config.Map { // legacy object form
		s.Name = n.Get("name").StringOr("")
	}
	prov := root.Get("provider")
	s.Stage = firstNonEmpty(options["stage"], prov.Get("stage").Scalar0(), DefaultStage)
	s.Region = firstNonEmpty(options["region"], prov.Get("region").Scalar0(), DefaultRegion)
	s.Provider = Provider{
		Name:             prov.Get("name").StringOr(""),
		Runtime:          prov.Get("runtime").StringOr(""),
		Architecture:     prov.Get("architecture").StringOr(""),
		MemorySize:       intOr(prov.Get("memorySize"), 0),
		Timeout:          intOr(prov.Get("timeout"), 0),
		StackName:        prov.Get("stackName").StringOr(""),
		DeploymentPrefix: prov.Get("deploymentPrefix").StringOr("serverless"),
		Environment:      kvs(prov.Get("environment")),
		Raw:              prov,
	}
	s.Package = packageOf(root.Get("package"))
	for _, p := range root.Get("plugins").List() {
		if name, ok := p.Str(); ok {
			s.Plugins = append(s.Plugins, name)
		}
	}
	if pl := root.Get("plugins"); pl != nil && pl.Kind == config.Map {
		for _, p := range pl.Get("modules").List() {
			if name, ok := p.Str(); ok {
				s.Plugins = append(s.Plugins, name)
			}
		}
	}
	for _, p := range root.Get("functions").Entries() {
		if p.Value == nil || p.Value.Kind == config.Null {
			continue // v3 drops null function entries
		}
		s.Functions = append(s.Functions, s.function(p))
	}
	for _, p := range root.Get("layers").Entries() {
		s.Layers = append(s.Layers, &Layer{Key: p.Key, Path: p.Value.Get("path").StringOr(""), Raw: p.Value})
	}
	return s
}

func (s *Service) function(p config.Pair) *Function {
	raw := p.Value
	f := &Function{
		Key:          p.Key,
		Name:         raw.Get("name").StringOr(s.Name + "-" + s.Stage + "-" + p.Key),
		Handler:      raw.Get("handler").StringOr(""),
		Image:        raw.Get("image"),
		Runtime:      firstNonEmpty(raw.Get("runtime").StringOr(""), s.Provider.Runtime, DefaultRuntime),
		Architecture: firstNonEmpty(raw.Get("architecture").StringOr(""), s.Provider.Architecture, "x86_64"),
		MemorySize:   intOr(raw.Get("memorySize"), intOr(s.Provider.Raw.Get("memorySize"), DefaultMemorySize)),
		Timeout:      intOr(raw.Get("timeout"), intOr(s.Provider.Raw.Get("timeout"), DefaultTimeout)),
		Environment:  kvs(raw.Get("environment")),
		Package:      packageOf(raw.Get("package")),
		Layers:       raw.Get("layers"),
		Raw:          raw,
		Pos:          p.KeyPos,
	}
	for i, ev := range raw.Get("events").List() {
		e := Event{Index: i, Pos: ev.Pos}
		if ev.Kind == config.Map && len(ev.Pairs) > 0 {
			e.Type = ev.Pairs[0].Key
			e.Value = ev.Pairs[0].Value
		}
		f.Events = append(f.Events, e)
	}
	return f
}

// Function returns the function with the given key, or nil.
func (s *Service) Function(key string) *Function {
	for _, f := range s.Functions {
		if f.Key == key {
			return f
		}
	}
	return nil
}

// StackName is provider.stackName, else service-stage.
func (s *Service) StackName() string {
	return firstNonEmpty(s.Provider.StackName, s.Name+"-"+s.Stage)
}

// EnvironmentOf merges provider and function environment variables, the
// function's winning, in provider-then-function key order.
func (s *Service) EnvironmentOf(f *Function) []KV {
	out := append([]KV(nil), s.Provider.Environment...)
	for _, kv := range f.Environment {
		replaced := false
		for i := range out {
			if out[i].Key == kv.Key {
				out[i] = kv
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// HandlerParts splits "path/to/file.export" into ("path/to/file", "export").
func HandlerParts(handler string) (file, export string) {
	i := strings.LastIndex(handler, ".")
	if i < 0 || strings.LastIndex(handler, "/") > i {
		return handler, ""
	}
	return handler[:i], handler[i+1:]
}

func packageOf(n *config.Node) Package {
	p := Package{Raw: n}
	if n == nil {
		return p
	}
	p.Individually, _ = n.Get("individually").Boolean()
	p.Artifact = n.Get("artifact").StringOr("")
	p.Patterns = strings1(n.Get("patterns"))
	p.Include = strings1(n.Get("include"))
	p.Exclude = strings1(n.Get("exclude"))
	return p
}

func strings1(n *config.Node) []string {
	var out []string
	for _, it := range n.List() {
		if s, ok := it.Str(); ok {
			out = append(out, s)
		}
	}
	return out
}

func kvs(n *config.Node) []KV {
	if n == nil || n.Kind != config.Map {
		return nil
	}
	out := make([]KV, 0, len(n.Pairs))
	for _, p := range n.Pairs {
		out = append(out, KV{Key: p.Key, Value: p.Value})
	}
	return out
}

func intOr(n *config.Node, def int) int {
	if i, ok := n.Int(); ok {
		return int(i)
	}
	return def
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// SortedKeys returns a map's keys sorted, for deterministic iteration.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FunctionEvent is one event with the function it belongs to.
type FunctionEvent struct {
	Function *Function
	Event    Event
	// N numbers the event among its function's events of the same type,
	// from 1: serverless v3 names rules and permissions this way.
	N int
}

// EventsOf returns every event of the given type (http, schedule, …) in
// config order, functions first.
func (s *Service) EventsOf(typ string) []FunctionEvent {
	var out []FunctionEvent
	for _, f := range s.Functions {
		n := 0
		for _, e := range f.Events {
			if e.Type == typ {
				n++
				out = append(out, FunctionEvent{Function: f, Event: e, N: n})
			}
		}
	}
	return out
}

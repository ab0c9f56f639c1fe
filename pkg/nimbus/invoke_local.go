package nimbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/local/pool"
)

// InvokeLocalOptions mirror `sls invoke local`'s flags.
type InvokeLocalOptions struct {
	// Function is the key under `functions:` (or the deployed name).
	Function string
	// Event is the JSON event; see EventFromData and EventFromFile.
	Event []byte
	// ClientContext is JSON handed to the handler as the Lambda client
	// context (context.clientContext in Node, context.client_context in
	// Python).
	ClientContext string
	// Env overrides environment variables (--env KEY=VALUE), after the
	// service's own.
	Env map[string]string
	// Log receives the function's output and Lambda's START/END/REPORT
	// lines (nil discards them).
	Log io.Writer
}

// InvokeLocalResult is one local invocation's outcome.
type InvokeLocalResult struct {
	local.Result
	// TimedOut is set when the function ran past its timeout; Payload then
	// holds Lambda's Sandbox.Timedout error document.
	TimedOut bool
	// Warnings are found while preparing the function (e.g. environment
	// values that cannot be resolved locally).
	Warnings diag.Diagnostics
}

// Failed reports whether the function failed (error, crash or timeout).
func (r *InvokeLocalResult) Failed() bool { return r.FunctionError != "" }

// InvokeLocal runs one function of the project once on this machine, as
// Lambda would, through the same instance pool `nimbus dev` uses.
// A function failure is a result with Failed() set, not an error.
func (p *Project) InvokeLocal(ctx context.Context, opts InvokeLocalOptions) (*InvokeLocalResult, error) {
	fn := p.Service.Function(opts.Function)
	if fn == nil {
		for _, f := range p.Service.Functions {
			if f.Name == opts.Function {
				fn = f
			}
		}
	}
	if fn == nil {
		var ds diag.Diagnostics
		ds.Errorf(diag.Pos{}, "", "Function %q doesn't exist in this Service", opts.Function)
		ds[0].Detail = "functions: " + strings.Join(functionKeys(p), ", ")
		return nil, ds.Err()
	}
	env := map[string]string{"IS_LOCAL": "true"}
	for k, v := range opts.Env {
		env[k] = v
	}
	pl, err := pool.New(p.Service, pool.Options{
		Log:            opts.Log,
		Env:            env,
		MaxConcurrency: 1,
		Prefix:         func(string) string { return "" },
	})
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	warnings := relevantWarnings(pl.Warnings(), fn.Key)
	event := opts.Event
	if len(event) == 0 {
		event = []byte("{}")
	}
	res, err := pl.InvokeWith(ctx, fn.Key, event, pool.InvokeOptions{ClientContext: opts.ClientContext})
	var timeout *local.TimeoutError
	if errors.As(err, &timeout) {
		msg := "Task timed out after " + strconv.FormatFloat(timeout.Timeout.Seconds(), 'f', 2, 64) + " seconds"
		doc, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "Sandbox.Timedout"})
		return &InvokeLocalResult{Result: local.Result{Payload: doc, FunctionError: "Unhandled"}, TimedOut: true, Warnings: warnings}, nil
	}
	if err != nil {
		return &InvokeLocalResult{Warnings: warnings}, err
	}
	return &InvokeLocalResult{Result: *res, Warnings: warnings}, nil
}

// relevantWarnings keeps the pool's warnings about the invoked function
// and the provider.
func relevantWarnings(ds diag.Diagnostics, key string) diag.Diagnostics {
	var out diag.Diagnostics
	for _, d := range ds {
		if strings.HasPrefix(d.Path, "provider.") || strings.HasPrefix(d.Path, "functions."+key+".") {
			out = append(out, d)
		}
	}
	return out
}

func functionKeys(p *Project) []string {
	keys := make([]string, 0, len(p.Service.Functions))
	for _, f := range p.Service.Functions {
		keys = append(keys, f.Key)
	}
	return keys
}

// EventFromData turns --data into a JSON event the way v3 does: valid JSON
// is used as is; anything else (or everything, with raw) becomes a JSON
// string.
func EventFromData(data string, raw bool) []byte {
	trimmed := strings.TrimSpace(data)
	if !raw && trimmed != "" && json.Valid([]byte(trimmed)) {
		return []byte(trimmed)
	}
	b, _ := json.Marshal(data)
	return b
}

// EventFromFile reads --path: a JSON or YAML file (by extension; other
// files are tried as JSON, then YAML), relative to dir.
func EventFromFile(dir, path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the file you provided does not exist: %s", path)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".yml" && ext != ".yaml" && json.Valid(bytes.TrimSpace(data)) {
		return bytes.TrimSpace(data), nil
	}
	if ext == ".json" {
		return nil, fmt.Errorf("%s is not valid JSON", path)
	}
	node, ds := config.Parse(filepath.Base(path), data, diag.NewSources())
	if ds.HasErrors() {
		return nil, ds.Err()
	}
	return json.Marshal(node.Interface())
}

// PrettyJSON indents a payload four spaces deep, as v3 prints results. A
// `body` holding JSON under a JSON Content-Type is expanded, as v3 does.
// Non-JSON payloads are returned unchanged.
func PrettyJSON(payload []byte) []byte {
	payload = expandJSONBody(payload)
	var buf bytes.Buffer
	if err := json.Indent(&buf, payload, "", "    "); err != nil {
		return payload
	}
	return buf.Bytes()
}

func expandJSONBody(payload []byte) []byte {
	if !bytes.Contains(payload, []byte(`"body"`)) {
		return payload
	}
	var resp map[string]json.RawMessage
	if json.Unmarshal(payload, &resp) != nil {
		return payload
	}
	var headers map[string]any
	var body string
	if json.Unmarshal(resp["headers"], &headers) != nil || json.Unmarshal(resp["body"], &body) != nil {
		return payload
	}
	if ct, _ := headers["Content-Type"].(string); ct != "application/json" || !json.Valid([]byte(body)) {
		return payload
	}
	// Keep the response's key order: replace only the body's value.
	var out bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	out.WriteByte('{')
	dec.Token()
	first := true
	for dec.More() {
		tok, _ := dec.Token()
		key, _ := tok.(string)
		var val json.RawMessage
		if dec.Decode(&val) != nil {
			return payload
		}
		if key == "body" {
			val = json.RawMessage(body)
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes()
}

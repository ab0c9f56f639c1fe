package variables

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// fileContent is a file read for ${file(…)}, parsed once per run.
type fileContent struct {
	node    *config.Node // nil when the file does not exist
	missing bool
	err     string
}

type jsResult struct {
	node *config.Node
	err  string
}

// fileSource reads ${file(path):address}: YAML and JSON files as data,
// JavaScript files through node, anything else as text.
func fileSource(c *call) (sourceResult, error) {
	pn := c.param(0)
	if pn == nil || pn.Kind == config.Null {
		return sourceResult{}, c.failf(`Missing path argument in variable "file" source`)
	}
	rel, ok := ensureString(pn)
	if !ok {
		return sourceResult{}, c.failf(`Non-string path argument in variable "file" source: %s`, pn.Scalar())
	}
	addr, hasAddr, err := c.addressString()
	if err != nil {
		return sourceResult{}, c.failf(`Non-string address argument for variable "file" source: %s`, c.address.Scalar())
	}
	abs := rel
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(c.r.opts.Dir, rel)
	}
	abs = filepath.Clean(abs)
	ext := strings.ToLower(filepath.Ext(abs))
	// Messages name the file relative to the service folder, as v3 does.
	if r, err := filepath.Rel(c.r.opts.Dir, abs); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	if ext == ".js" || ext == ".cjs" {
		return c.jsFile(abs, rel, addr)
	}
	fc := c.r.readFile(abs, rel, ext)
	if fc.err != "" {
		return sourceResult{}, c.failf("%s", fc.err)
	}
	if fc.missing {
		return sourceResult{detail: fmt.Sprintf("The file %s does not exist.", c.r.displayPath(abs))}, nil
	}
	if !hasAddr {
		return found(fc.node)
	}
	cur := fc.node
	for _, k := range strings.Split(addr, ".") {
		if s, ok := cur.Str(); ok {
			// v3 resolves variables in a string before looking inside it.
			resolved, err := c.r.resolveInString(c.p, s)
			if err != nil {
				return sourceResult{}, err
			}
			cur = resolved
		}
		cur = child(cur, k)
		if cur == nil || cur.Kind == config.Null {
			return sourceResult{detail: fmt.Sprintf("%s has no value at %q.", c.r.displayPath(abs), addr)}, nil
		}
	}
	return found(cur)
}

// resolveInString resolves the variables of a free-standing string in the
// context of p.
func (r *resolver) resolveInString(p *prop, s string) (*config.Node, error) {
	vars, err := parseVariables(s)
	if err != nil {
		return nil, r.failf(p, "", "%v", err)
	}
	if vars == nil {
		return config.NewString(s, p.holder.Pos), nil
	}
	n, sv, err := r.resolveText(p, s, vars)
	if err != nil {
		return nil, err
	}
	return r.resolveNested(p, n, sv, maxNest)
}

// displayPath is how diagnostics name a file read by ${file()}: relative to
// the service file's folder as shown to the user.
func (r *resolver) displayPath(abs string) string {
	if rel, err := filepath.Rel(r.opts.Dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join(filepath.Dir(r.opts.ConfigFile), rel)
	}
	return abs
}

func (r *resolver) readFile(abs, rel, ext string) *fileContent {
	if fc, ok := r.files[abs]; ok {
		return fc
	}
	fc := &fileContent{}
	r.files[abs] = fc
	// Only regular files: a device or a FIFO would block the run forever.
	if st, err := os.Stat(abs); err == nil && !st.Mode().IsRegular() {
		fc.err = fmt.Sprintf("Cannot parse %q: not a regular file", rel)
		return fc
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fc.missing = true
		} else {
			fc.err = fmt.Sprintf("Cannot parse %q: %v", rel, errors.Unwrap(err))
		}
		return fc
	}
	name := r.displayPath(abs)
	switch ext {
	case ".yml", ".yaml", ".json", ".tfstate":
		n, ds := config.Parse(name, data, r.opts.Sources)
		if ds.HasErrors() {
			what := ""
			if ext == ".json" || ext == ".tfstate" {
				what = "JSON parse error: "
			}
			fc.err = fmt.Sprintf("Cannot parse %q: %s%s", rel, what, firstMessage(ds))
			return fc
		}
		fc.node = n
	default:
		fc.node = config.NewString(string(data), diag.Pos{File: name, Line: 1, Col: 1})
	}
	return fc
}

func firstMessage(ds diag.Diagnostics) string {
	for _, d := range ds {
		if d.Severity == diag.Error {
			return d.Message()
		}
	}
	return ""
}

// jsRunner loads a JavaScript variables file the way serverless v3 does:
// require it; call an exported function (awaiting its promise) or await the
// exported value; then walk the address, calling a function met on the way.
// The result is printed as JSON. Resolving other variables from inside the
// JavaScript (resolveVariable, resolveConfigurationProperty) is not offered.
const jsRunner = `
const [file, address, optionsJSON] = process.argv.slice(1);
const fail = (kind, e) => { process.stdout.write(JSON.stringify({ error: kind + (e && e.stack ? e.stack : String(e)) })); };
const unsupported = (name) => async () => { throw new Error(name + " is not available to JavaScript variable files in nimbus"); };
const ctx = { options: JSON.parse(optionsJSON), resolveConfigurationProperty: unsupported("resolveConfigurationProperty"), resolveVariable: unsupported("resolveVariable") };
(async () => {
  let mod;
  try { mod = require(file); } catch (e) { return fail("Initialization error: ", e); }
  let byFunction = false, value;
  try {
    if (typeof mod === "function") { byFunction = true; value = await mod(ctx); } else { value = await mod; }
  } catch (e) { return fail(byFunction ? "Returned JS function errored with: " : "Received rejection: ", e); }
  if (address) {
    for (const key of address.split(".")) {
      if (value == null) break;
      value = value[key];
      if (value == null) break;
      if (!byFunction) {
        try {
          if (typeof value === "function") { byFunction = true; value = await value(ctx); } else { value = await value; }
        } catch (e) { return fail("Received rejection: ", e); }
      }
    }
  }
  process.stdout.write(JSON.stringify({ value: value === undefined ? null : value }));
})();
`

func (c *call) jsFile(abs, rel, addr string) (sourceResult, error) {
	key := abs + "\x00" + addr
	res, ok := c.r.js[key]
	if !ok {
		res = c.r.runJS(abs, rel, addr)
		c.r.js[key] = res
	}
	if res.err != "" {
		return sourceResult{}, c.failf("%s", res.err)
	}
	if res.node == nil || res.node.Kind == config.Null {
		return sourceResult{detail: fmt.Sprintf("%s has no value at %q, or does not exist.", c.r.displayPath(abs), addr)}, nil
	}
	n := res.node.Clone()
	config.Walk(n, nil, func(x *config.Node, _ config.Path) bool { x.Pos = c.p.holder.Pos; return true })
	return found(n)
}

func (r *resolver) runJS(abs, rel, addr string) jsResult {
	if _, err := os.Stat(abs); err != nil {
		return jsResult{}
	}
	nodeBin := r.opts.NodePath
	if nodeBin == "" {
		nodeBin = "node"
	}
	bin, err := exec.LookPath(nodeBin)
	if err != nil {
		return jsResult{err: fmt.Sprintf("Cannot load %q: JavaScript variable files need Node.js, and %q was not found on PATH", rel, nodeBin)}
	}
	opts, _ := json.Marshal(r.opts.CLIOptions)
	if r.opts.CLIOptions == nil {
		opts = []byte("{}")
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-e", jsRunner, abs, addr, string(opts))
	cmd.Dir = r.opts.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Value json.RawMessage `json:"value"`
		Error *string         `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		return jsResult{err: fmt.Sprintf("Cannot resolve %q: node failed: %s", filepath.Base(abs), msg)}
	}
	if out.Error != nil {
		return jsResult{err: fmt.Sprintf("Cannot resolve %q: %s", filepath.Base(abs), *out.Error)}
	}
	n, ds := config.Parse(filepath.Base(abs), out.Value, nil)
	if ds.HasErrors() {
		return jsResult{err: fmt.Sprintf("Cannot resolve %q: unreadable result: %s", filepath.Base(abs), firstMessage(ds))}
	}
	return jsResult{node: n}
}

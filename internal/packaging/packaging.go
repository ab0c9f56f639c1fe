// Package packaging builds the deployment artifacts of a service as
// serverless v3 does: one service zip, or one zip per function with
// package.individually, plus layer zips; prebuilt artifacts are used as they
// are. Zips are deterministic (sorted entries, fixed timestamps and modes)
// so unchanged code always gives the same SHA-256.
//
// Where v3 would silently build something broken, Package refuses with a
// diagnostic instead: include patterns and package.artifact paths that
// reach outside the service directory, symlinks whose target lies outside
// it (v3 follows every link; links inside the service are followed here
// too and stored as the file they point at), broken links, and handler
// files that do not exist. Nothing is written unless every artifact can be
// built.
//
// Two deliberate departures from v3 that never change a correct zip: the
// output directory is not walked (v3 would pack an earlier --package
// output found inside the service), and two artifacts with the same file
// name are an error (v3 lets the later overwrite the earlier). Layer
// folders may lie outside the service: a layer zip is rooted at its folder,
// so nothing in it can point above the code directory.
package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// Result says which artifact each function and layer deploys. Paths are
// absolute, except prebuilt artifacts given as S3 URLs, which are kept as
// written; the deployment bucket uses each artifact's base name.
type Result struct {
	// ServiceArtifact is the shared zip when functions are not packaged
	// individually ("" when every function has its own).
	ServiceArtifact string
	// Functions maps a function key to its artifact path. Functions with
	// an image or package.disable have no entry.
	Functions map[string]string
	// Layers maps a layer key to its artifact path.
	Layers map[string]string
	// Artifacts describes each distinct artifact once, in the order: service
	// zip, function zips (config order), layer zips, then prebuilt ones.
	Artifacts []Artifact
}

// Artifact is one deployable file.
type Artifact struct {
	Path string
	// Built is true for zips Package wrote, false for prebuilt
	// package.artifact files (and S3 URLs).
	Built bool
	// SHA256 is the base64 SHA-256 of the file (Lambda's CodeSha256); ""
	// for S3 URLs.
	SHA256 string
	Size   int64
	// Files are the zip's entry names in order (built zips only).
	Files []string
}

// Package builds every artifact of svc into outDir (relative paths are
// taken from the service directory, as v3's --package is).
func Package(ctx context.Context, svc *service.Service, outDir string) (Result, diag.Diagnostics) {
	p := &planner{svc: svc, ctx: ctx}
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(svc.Dir, outDir)
	}
	p.outDir = filepath.Clean(outDir)
	p.plan()
	if p.ds.HasErrors() {
		return Result{}, p.ds
	}
	p.resolveFiles()
	if p.ds.HasErrors() {
		return Result{}, p.ds
	}
	res, err := p.write()
	if err != nil {
		p.ds.Errorf(diag.Pos{}, "", "packaging failed: %v", err)
		return Result{}, p.ds
	}
	return res, p.ds
}

// job is one zip to build.
type job struct {
	Name    string // file name in outDir
	Kind    string // "service", "function" or "layer"
	Key     string // function or layer key
	Tree    *tree
	Rules   []rule
	Entries []zipEntry
	// Where a "no files matched" problem points.
	Pos  diag.Pos
	Path string
}

type planner struct {
	svc    *service.Service
	ctx    context.Context
	outDir string
	ds     diag.Diagnostics

	serviceJob *job
	fnJobs     map[string]*job // function key → its own zip
	jobs       []*job
	useService []string // functions deploying the service zip

	prebuiltFns    map[string]string
	prebuiltLayers map[string]string
	serviceArt     string // prebuilt service artifact

	tree     *tree
	devGlobs []string
}

var s3Patterns = []*regexp.Regexp{
	regexp.MustCompile(`^s3://[^/]+/.+`),
	regexp.MustCompile(`[^/]+\.s3([.-][\w-]+)?\.amazonaws\.com/.+`),
	regexp.MustCompile(`s3([.-][\w-]+)?\.amazonaws\.com/[^/]+/.+`),
}

// isS3URL mirrors v3's parse-s3-uri: such artifacts are deployed from S3.
func isS3URL(s string) bool {
	for _, re := range s3Patterns {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// plan decides, like v3's packageService, which functions get their own
// zip, which share the service zip and which use a prebuilt artifact.
func (p *planner) plan() {
	svc := p.svc
	p.fnJobs = map[string]*job{}
	p.prebuiltFns = map[string]string{}
	p.prebuiltLayers = map[string]string{}
	svcPkg := svc.Root.Get("package")
	needService := false
	for _, f := range svc.Functions {
		fpkg := f.Raw.Get("package")
		prefix := "functions." + f.Key + ".package"
		switch {
		case f.Image != nil:
			continue
		case fpkg.Get("disable").Truthy():
			continue
		case f.Package.Artifact != "":
			if path, ok := p.artifact(f.Package.Artifact, fpkg.Get("artifact"), prefix+".artifact"); ok {
				p.prebuiltFns[f.Key] = path
			}
			continue
		case f.Package.Individually || svc.Package.Individually:
			if svc.Package.Artifact != "" && !f.Package.Individually {
				needService = true
				p.useService = append(p.useService, f.Key)
				continue
			}
			j := &job{Name: f.Key + ".zip", Kind: "function", Key: f.Key, Pos: f.Pos, Path: "functions." + f.Key}
			if pats := fpkg.Get("patterns"); pats != nil {
				j.Pos, j.Path = pats.Pos, prefix+".patterns"
			}
			j.Rules = rulesFor(p.excludes(patternsAt(fpkg, "exclude", prefix), true),
				union(p.serviceIncludes(), patternsAt(fpkg, "include", prefix), patternsAt(fpkg, "patterns", prefix)), nil)
			p.fnJobs[f.Key] = j
			p.jobs = append(p.jobs, j)
		default:
			if pats := fpkg.Get("patterns"); pats != nil && len(pats.Items) > 0 {
				p.ds.Warnf(pats.Pos, prefix+".patterns", "function-level package patterns apply only with package.individually: true; serverless uses the service-wide patterns for %q", f.Key)
			}
			needService = true
			p.useService = append(p.useService, f.Key)
		}
	}
	if needService {
		if svc.Package.Artifact != "" {
			if path, ok := p.artifact(svc.Package.Artifact, svcPkg.Get("artifact"), "package.artifact"); ok {
				p.serviceArt = path
			}
		} else {
			pos, path := svc.Root.Get("service").Pos, "service"
			if pats := svcPkg.Get("patterns"); pats != nil {
				pos, path = pats.Pos, "package.patterns"
			} else if svcPkg != nil {
				pos, path = svcPkg.Pos, "package"
			}
			p.serviceJob = &job{Name: svc.Name + ".zip", Kind: "service", Pos: pos, Path: path}
			p.serviceJob.Rules = rulesFor(p.excludes(nil, true), p.serviceIncludes(), nil)
			p.jobs = append([]*job{p.serviceJob}, p.jobs...)
		}
	}
	for _, l := range svc.Layers {
		lpkg := l.Raw.Get("package")
		prefix := "layers." + l.Key + ".package"
		if art := lpkg.Get("artifact").StringOr(""); art != "" {
			if path, ok := p.artifact(art, lpkg.Get("artifact"), prefix+".artifact"); ok {
				p.prebuiltLayers[l.Key] = path
			}
			continue
		}
		pathNode := l.Raw.Get("path")
		dir := filepath.Join(svc.Dir, filepath.FromSlash(l.Path))
		if info, err := os.Stat(dir); l.Path == "" || err != nil || !info.IsDir() {
			p.ds.Errorf(posOf(pathNode, l.Raw), "layers."+l.Key+".path", "layer %q: path %q is not a directory", l.Key, l.Path)
			continue
		}
		j := &job{Name: l.Key + ".zip", Kind: "layer", Key: l.Key, Pos: posOf(pathNode, l.Raw), Path: "layers." + l.Key + ".path"}
		j.Rules = rulesFor(p.excludes(patternsAt(lpkg, "exclude", prefix), false),
			union(p.serviceIncludes(), patternsAt(lpkg, "include", prefix), patternsAt(lpkg, "patterns", prefix)), nil)
		p.jobs = append(p.jobs, j)
	}
	p.checkNames()
	for _, j := range p.jobs {
		checkRules(j.Rules, &p.ds)
	}
}

// checkNames refuses two artifacts with the same file name: v3 would
// silently overwrite one with the other.
func (p *planner) checkNames() {
	seen := map[string]*job{}
	for _, j := range p.jobs {
		if other, ok := seen[j.Name]; ok {
			p.ds.Errorf(j.Pos, j.Path, "%s %q would be packaged to %s, the same file as %s %q; rename one of them",
				j.Kind, j.Key, j.Name, other.Kind, firstNonEmpty(other.Key, p.svc.Name))
			continue
		}
		seen[j.Name] = j
	}
}

// artifact checks a prebuilt package.artifact and returns the path to
// deploy: S3 URLs as written, local files absolute.
func (p *planner) artifact(value string, node *config.Node, keyPath string) (string, bool) {
	if isS3URL(value) {
		return value, true
	}
	pos := posOf(node, nil)
	abs := filepath.Join(p.svc.Dir, filepath.FromSlash(value))
	if filepath.IsAbs(value) {
		abs = filepath.Clean(value)
	}
	if !within(filepath.Clean(p.svc.Dir), abs) {
		p.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Path: keyPath, Width: len(value),
			Summary: fmt.Sprintf("package artifact %q is outside the service directory", value),
			Detail:  "Build the artifact inside the service directory (for example under build/ or target/) so the service folder holds everything it deploys."})
		return "", false
	}
	info, err := os.Stat(abs)
	if err != nil || info.IsDir() {
		reason := "it is a directory"
		if err != nil {
			reason = "no such file"
		}
		p.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Path: keyPath, Width: len(value),
			Summary: fmt.Sprintf("cannot use package artifact %q: %s", value, reason),
			Detail:  "Build the artifact before packaging, or fix the path (it is relative to the service directory)."})
		return "", false
	}
	return abs, true
}

// excludes builds v3's getExcludes list: the defaults, the config file,
// the local plugins folder, the service's legacy excludes, every layer's
// folder (except when packaging a layer), ".env*" with useDotenv, then the
// function's or layer's own legacy excludes.
func (p *planner) excludes(own []rawPattern, excludeLayers bool) []rawPattern {
	svc := p.svc
	var cfgFile []rawPattern
	if svc.ConfigFile != "" {
		if rel, err := filepath.Rel(svc.Dir, svc.ConfigFile); err == nil {
			cfgFile = builtin([]string{filepath.ToSlash(rel)})
		}
	}
	var localPath []rawPattern
	if pl := svc.Root.Get("plugins"); pl != nil && pl.Kind == config.Map {
		if lp := pl.Get("localPath").StringOr(""); lp != "" {
			localPath = builtin([]string{lp})
		}
	}
	var layers []rawPattern
	if excludeLayers {
		for _, l := range svc.Layers {
			layers = append(layers, rawPattern{Text: l.Path + "/**"})
		}
	}
	var env []rawPattern
	if svc.Root.Get("useDotenv").Truthy() {
		env = builtin([]string{".env*"})
	}
	return union(builtin(defaultExcludes), cfgFile, localPath,
		patternsAt(svc.Root.Get("package"), "exclude", "package"), layers, env, own)
}

// serviceIncludes is v3's getIncludes base: service include, then patterns.
func (p *planner) serviceIncludes() []rawPattern {
	pkg := p.svc.Root.Get("package")
	return union(patternsAt(pkg, "include", "package"), patternsAt(pkg, "patterns", "package"))
}

// resolveFiles walks the service once, derives the dev-dependency
// excludes, and selects each zip's files, reporting anything that would
// make an artifact wrong.
func (p *planner) resolveFiles() {
	if len(p.jobs) == 0 {
		p.checkHandlers()
		return
	}
	svcDir := filepath.Clean(p.svc.Dir)
	var needService bool
	for _, j := range p.jobs {
		if j.Kind != "layer" {
			needService = true
		}
	}
	if needService || p.excludeDevDependencies() {
		t, err := walkTree(svcDir, svcDir, []string{p.outDir})
		if err != nil {
			p.ds.Errorf(diag.Pos{}, "", "cannot read the service directory: %v", err)
			return
		}
		p.tree = t
	}
	if p.excludeDevDependencies() {
		p.devGlobs = devDependencyGlobs(p.tree)
	}
	devRules := rulesFor(nil, nil, p.devGlobs)
	// Jobs with the same rules over the same tree select the same files.
	selections := map[string][]int{}
	for _, j := range p.jobs {
		if j.Kind == "layer" {
			l := p.layer(j.Key)
			dir := filepath.Join(svcDir, filepath.FromSlash(l.Path))
			boundary := dir
			if within(svcDir, dir) {
				boundary = svcDir
			}
			t, err := walkTree(dir, boundary, []string{p.outDir})
			if err != nil {
				p.ds.Errorf(j.Pos, j.Path, "cannot read layer %q: %v", j.Key, err)
				continue
			}
			j.Tree = t
		} else {
			j.Tree = p.tree
		}
		j.Rules = append(j.Rules[:len(j.Rules):len(j.Rules)], devRules...)
		key := j.Tree.root + "\x00" + rulesKey(j.Rules)
		sel, ok := selections[key]
		if !ok {
			sel = selectFiles(j.Tree, j.Rules)
			selections[key] = sel
		}
		p.entries(j, sel)
	}
	p.checkHandlers()
}

func (p *planner) excludeDevDependencies() bool {
	v := p.svc.Root.Get("package").Get("excludeDevDependencies")
	if v == nil || v.Kind == config.Null {
		return true
	}
	return v.Truthy()
}

func (p *planner) layer(key string) *service.Layer {
	for _, l := range p.svc.Layers {
		if l.Key == key {
			return l
		}
	}
	return nil
}

func rulesKey(rules []rule) string {
	var b strings.Builder
	for _, r := range rules {
		if r.Exclude {
			b.WriteByte('!')
		}
		b.WriteString(r.Glob)
		b.WriteByte(0)
	}
	return b.String()
}

// entries turns a selection into zip entries, refusing links that leave
// the service and broken links.
func (p *planner) entries(j *job, sel []int) {
	if len(sel) == 0 {
		p.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: j.Pos, Path: j.Path,
			Summary: fmt.Sprintf("no file matches the include / exclude patterns of %s", j.describe(p.svc.Name)),
			Detail:  "Check package.patterns: every file is excluded, so there is nothing to deploy."})
		return
	}
	reported := map[string]bool{}
	j.Entries = make([]zipEntry, 0, len(sel))
	for _, i := range sel {
		f := j.Tree.files[i]
		switch {
		case f.Broken:
			p.ds.Errorf(j.Pos, j.Path, "%s: symlink %s points to a missing file", j.describe(p.svc.Name), f.Rel)
			continue
		case f.EscapeLink != "":
			if !reported[f.EscapeLink] {
				reported[f.EscapeLink] = true
				p.ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: j.Pos, Path: j.Path,
					Summary: fmt.Sprintf("%s: symlink %s points outside the service directory (to %s)", j.describe(p.svc.Name), f.EscapeLink, f.EscapeTarget),
					Detail:  "serverless v3 would copy the target's files into the zip; Nimbus refuses, so an artifact never depends on files outside the service folder that a checkout of it would not have. Exclude the link with a \"!\" pattern, or replace it with a copy."})
			}
			continue
		}
		j.Entries = append(j.Entries, zipEntry{Name: f.Rel, Abs: f.Abs})
	}
}

func (j *job) describe(service string) string {
	switch j.Kind {
	case "function":
		return fmt.Sprintf("function %q", j.Key)
	case "layer":
		return fmt.Sprintf("layer %q", j.Key)
	}
	return fmt.Sprintf("service %q", service)
}

// write builds every zip concurrently into temporary files, then renames
// them into place only if all succeeded.
func (p *planner) write() (Result, error) {
	res := Result{Functions: map[string]string{}, Layers: map[string]string{}}
	if len(p.jobs) > 0 {
		if err := os.MkdirAll(p.outDir, 0o755); err != nil {
			return res, err
		}
	}
	users := map[string]int{}
	for _, j := range p.jobs {
		for _, e := range j.Entries {
			users[e.Abs]++
		}
	}
	workers := runtime.GOMAXPROCS(0)
	comp := newCompressor(workers, users)
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	type built struct {
		tmp    string
		sha    string
		size   int64
		err    error
		result Artifact
	}
	out := make([]built, len(p.jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, j := range p.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tmp, sha, size, err := writeZipHashed(ctx, comp, p.outDir, j.Name, j.Entries)
			if err != nil {
				cancel()
				out[i].err = fmt.Errorf("%s: %w", j.describe(p.svc.Name), err)
				return
			}
			out[i] = built{tmp: tmp, sha: sha, size: size}
		}()
	}
	wg.Wait()
	var firstErr error
	renames := map[string]string{}
	for i, b := range out {
		if b.err != nil && firstErr == nil {
			firstErr = b.err
		}
		if b.tmp != "" {
			renames[b.tmp] = filepath.Join(p.outDir, p.jobs[i].Name)
		}
	}
	if firstErr == nil {
		firstErr = commitFiles(renames)
	}
	if firstErr != nil {
		for tmp := range renames {
			os.Remove(tmp)
		}
		return Result{}, firstErr
	}
	for i, j := range p.jobs {
		final := filepath.Join(p.outDir, j.Name)
		names := make([]string, len(j.Entries))
		for k, e := range j.Entries {
			names[k] = e.Name
		}
		res.Artifacts = append(res.Artifacts, Artifact{Path: final, Built: true, SHA256: out[i].sha, Size: out[i].size, Files: names})
		switch j.Kind {
		case "service":
			res.ServiceArtifact = final
		case "function":
			res.Functions[j.Key] = final
		case "layer":
			res.Layers[j.Key] = final
		}
	}
	if p.serviceArt != "" {
		res.ServiceArtifact = p.serviceArt
	}
	for _, key := range p.useService {
		res.Functions[key] = res.ServiceArtifact
	}
	for k, v := range p.prebuiltFns {
		res.Functions[k] = v
	}
	for k, v := range p.prebuiltLayers {
		res.Layers[k] = v
	}
	seen := map[string]bool{}
	var prebuilt []string
	if p.serviceArt != "" {
		prebuilt = append(prebuilt, p.serviceArt)
	}
	prebuilt = append(prebuilt, sortedValues(p.prebuiltFns)...)
	prebuilt = append(prebuilt, sortedValues(p.prebuiltLayers)...)
	for _, path := range prebuilt {
		if seen[path] {
			continue
		}
		seen[path] = true
		a := Artifact{Path: path}
		if !isS3URL(path) {
			sha, err := FileSHA256(path)
			if err != nil {
				return Result{}, err
			}
			info, err := os.Stat(path)
			if err != nil {
				return Result{}, err
			}
			a.SHA256, a.Size = sha, info.Size()
		}
		res.Artifacts = append(res.Artifacts, a)
	}
	return res, nil
}

func sortedValues(m map[string]string) []string {
	vals := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		vals = append(vals, m[k])
	}
	return vals
}

// writeZipHashed writes a zip and returns its temp path, base64 SHA-256
// and size, hashing the bytes as they are written instead of re-reading.
func writeZipHashed(ctx context.Context, c *compressor, dir, name string, entries []zipEntry) (tmp, sha string, size int64, err error) {
	h := sha256.New()
	counter := &countingWriter{}
	tmp, err = writeZip(ctx, c, dir, name, entries, io.MultiWriter(h, counter))
	if err != nil {
		return "", "", 0, err
	}
	return tmp, base64.StdEncoding.EncodeToString(h.Sum(nil)), counter.n, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}

func posOf(n, fallback *config.Node) diag.Pos {
	if n != nil {
		return n.Pos
	}
	if fallback != nil {
		return fallback.Pos
	}
	return diag.Pos{}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

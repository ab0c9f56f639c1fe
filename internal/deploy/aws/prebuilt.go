package aws

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// PrebuiltArtifacts lists the package.artifact files the service deploys
// (absolute paths, each once): a function's own artifact, the service-level
// artifact when a function ships it, and a layer's artifact. A package
// directory holds only the zips packaging built, so a deploy from one
// (--package) uploads these from where they are, as v3's uploadArtifacts
// does. S3 URLs are skipped: nothing is uploaded for them. A listed file
// that is missing is an error at its key in the config.
func PrebuiltArtifacts(svc *service.Service) ([]string, error) {
	var out []string
	var ds diag.Diagnostics
	seen := map[string]bool{}
	add := func(value string, node *config.Node, keyPath string) {
		if value == "" || strings.Contains(value, "://") {
			return
		}
		path := value
		if !filepath.IsAbs(path) {
			path = filepath.Join(svc.Dir, filepath.FromSlash(value))
		}
		path = filepath.Clean(path)
		if seen[path] {
			return
		}
		seen[path] = true
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			var pos diag.Pos
			if node != nil {
				pos = node.Pos
			}
			ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: pos, Path: keyPath, Width: len(value),
				Summary: fmt.Sprintf("cannot deploy package artifact %q: no such file", value),
				Detail:  "A package directory holds only the zips nimbus built; prebuilt artifacts are read from where package.artifact says (relative to the service directory). Build it again, or fix the path."})
			return
		}
		out = append(out, path)
	}
	svcArtifact := svc.Root.Get("package").Get("artifact")
	for _, f := range svc.Functions {
		fpkg := f.Raw.Get("package")
		switch {
		case f.Image != nil, fpkg.Get("disable").Truthy():
		case f.Package.Artifact != "":
			add(f.Package.Artifact, fpkg.Get("artifact"), "functions."+f.Key+".package.artifact")
		case f.Package.Individually:
			// Its own zip, built into the package directory.
		default:
			add(svc.Package.Artifact, svcArtifact, "package.artifact")
		}
	}
	for _, l := range svc.Layers {
		art := l.Raw.Get("package").Get("artifact")
		add(art.StringOr(""), art, "layers."+l.Key+".package.artifact")
	}
	if ds.HasErrors() {
		return nil, ds.Err()
	}
	return out, nil
}

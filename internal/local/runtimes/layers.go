package runtimes

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// layerEnv makes the service's own layers visible to a local instance the
// way Lambda's /opt mount does for the runtimes (bin on PATH, nodejs
// modules on NODE_PATH, python packages on PYTHONPATH, lib on
// LD_LIBRARY_PATH). Layers published elsewhere (ARNs) cannot be fetched and
// are reported in notes.
func layerEnv(svc *service.Service, fn *service.Function, lookupPath string) (env []string, notes []string) {
	refs := fn.Layers
	if refs == nil {
		refs = svc.Provider.Raw.Get("layers")
	}
	if refs == nil || refs.Kind != config.Seq {
		return nil, nil
	}
	var bins, nodes, pys, libs []string
	for _, item := range refs.Items {
		dir := ""
		if ref, ok := item.Get("Ref").Str(); ok && item.Kind == config.Map {
			for _, l := range svc.Layers {
				if aws.LayerLogicalID(l.Key) == ref && l.Path != "" {
					dir = resolvePath(svc.Dir, l.Path)
				}
			}
		}
		if dir == "" {
			notes = append(notes, "layer "+describe(item)+" is not part of this service and is not available locally")
			continue
		}
		bins = appendDir(bins, filepath.Join(dir, "bin"))
		libs = appendDir(libs, filepath.Join(dir, "lib"))
		nodes = appendDir(nodes, filepath.Join(dir, "nodejs", "node_modules"))
		if strings.HasPrefix(fn.Runtime, "nodejs") {
			major := strings.TrimSuffix(strings.TrimPrefix(fn.Runtime, "nodejs"), ".x")
			nodes = appendDir(nodes, filepath.Join(dir, "nodejs", "node"+major, "node_modules"))
		}
		pys = appendDir(pys, filepath.Join(dir, "python"))
		if strings.HasPrefix(fn.Runtime, "python") {
			pys = appendDir(pys, filepath.Join(dir, "python", "lib", fn.Runtime, "site-packages"))
		}
	}
	sep := string(os.PathListSeparator)
	if len(bins) > 0 {
		env = append(env, "PATH="+strings.Join(append(bins, lookupPath), sep))
	}
	for _, v := range []struct {
		name string
		dirs []string
	}{{"NODE_PATH", nodes}, {"PYTHONPATH", pys}, {"LD_LIBRARY_PATH", libs}} {
		if len(v.dirs) > 0 {
			env = append(env, v.name+"="+strings.Join(v.dirs, sep))
		}
	}
	return env, notes
}

func appendDir(list []string, dir string) []string {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return append(list, dir)
	}
	return list
}

func describe(n *config.Node) string {
	if s, ok := n.Str(); ok {
		return s
	}
	if b, err := n.MarshalJSON(); err == nil {
		return string(b)
	}
	return "?"
}

package service

import (
	"github.com/nimbusfw/nimbus/internal/config"
)

// V3View returns a copy of the resolved tree with the defaults serverless v3
// writes into its configuration object at start-up, which is what
// `sls print` shows and serverless-state.json records: provider.stage
// ("dev" when unset; --stage does not change it), provider.region (--region,
// else the config, else us-east-1), provider.versionFunctions (true when
// unset), and for each function `events: []` when missing and `name`
// (service-stage-key, with stage = --stage else provider.stage). Null
// function entries are dropped, as v3 does.
func V3View(root *config.Node, options map[string]string) *config.Node {
	view := root.Clone()
	if view == nil || view.Kind != config.Map {
		return view
	}
	prov := view.Get("provider")
	if prov == nil || prov.Kind == config.String {
		// `provider: aws` shorthand becomes {name: aws}.
		name := prov
		prov = config.NewMap(view.Pos)
		if name != nil {
			prov.Set("name", name)
		}
		view.Set("provider", prov)
	}
	if prov.Kind != config.Map {
		return view
	}
	at := prov.Pos
	if st := prov.Get("stage"); st == nil || st.Kind == config.Null {
		prov.Set("stage", config.NewString(DefaultStage, at))
	}
	region := options["region"]
	if region == "" {
		region = prov.Get("region").Scalar0()
	}
	if region == "" {
		region = DefaultRegion
	}
	prov.Set("region", config.NewString(region, at))
	if vf := prov.Get("versionFunctions"); vf == nil || vf.Kind == config.Null {
		prov.Set("versionFunctions", config.NewBool(true, at))
	}
	stage := options["stage"]
	if stage == "" {
		stage = prov.Get("stage").Scalar()
	}
	service := view.Get("service").Scalar0()
	// v3 assigns package.artifactsS3KeyDirname at start-up; it lands in the
	// printed config only when the user's config has a package object (v3
	// then shares that object).
	if pkg := view.Get("package"); pkg != nil && pkg.Kind == config.Map {
		prefix := prov.Get("deploymentPrefix").Scalar0()
		if prefix == "" {
			prefix = "serverless"
		}
		pkg.Set("artifactsS3KeyDirname", config.NewString(prefix+"/"+service+"/"+stage+"/code-artifacts", pkg.Pos))
	}
	if fns := view.Get("functions"); fns != nil && fns.Kind == config.Map {
		kept := fns.Pairs[:0]
		for _, p := range fns.Pairs {
			if p.Value == nil || p.Value.Kind == config.Null {
				continue
			}
			if p.Value.Kind == config.Map {
				if ev := p.Value.Get("events"); ev == nil || !ev.Truthy() {
					p.Value.Set("events", config.NewSeq(p.Value.Pos))
				}
				if !p.Value.Get("name").Truthy() {
					p.Value.Set("name", config.NewString(service+"-"+stage+"-"+p.Key, p.Value.Pos))
				}
			}
			kept = append(kept, p)
		}
		fns.Pairs = kept
	}
	return view
}
